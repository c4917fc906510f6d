"""Arbiter: accountable content moderation.

>>> from arbiter import Engine, load_policy, Post
>>> engine = Engine(load_policy("examples/policy.yaml"))
>>> engine.evaluate(Post(id="p1", text="#QassemSoleimani")).action
'restrict'
"""

from arbiter.engine import Engine
from arbiter.model import Decision, Match, Post
from arbiter.policy import Policy, PolicyError, load_policy

__all__ = ["Decision", "Engine", "Match", "Policy", "PolicyError", "Post", "load_policy"]
__version__ = "0.1.0"
