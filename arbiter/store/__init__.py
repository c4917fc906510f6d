"""Arbiter's record: posts, policies, decisions, reviews, appeals, strikes and the audit log."""

from arbiter.store.store import Recorded, Store, StoreError

__all__ = ["Recorded", "Store", "StoreError"]
