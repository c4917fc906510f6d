"""Policies: load and validate policy files, compile their rules."""

from arbiter.policy.load import PolicyError, Problem, load_policy, parse_policy
from arbiter.policy.model import Entity, Grounds, Policy, Rule

__all__ = [
    "Entity",
    "Grounds",
    "Policy",
    "PolicyError",
    "Problem",
    "Rule",
    "load_policy",
    "parse_policy",
]
