"""Building blocks for store tests: posts, decisions from the example engine, raw SQL."""

from __future__ import annotations

from typing import Any

from arbiter.engine import Engine
from arbiter.model import Post
from arbiter.policy.load import parse_policy
from arbiter.policy.model import Policy
from arbiter.store import Store
from tests.conftest import EXAMPLES

POLICY_TEXT = (EXAMPLES / "policy.yaml").read_text(encoding="utf-8")


def policy(version: int = 1, extra: str = "", replace: tuple[str, str] | None = None) -> Policy:
    """The example policy at `version`, with YAML appended or one string replaced."""
    text = POLICY_TEXT.replace("version: 1\n", f"version: {version}\n", 1)
    if replace:
        text = text.replace(*replace)
    return parse_policy(text + extra, f"policy-v{version}.yaml")


def post(post_id: str, text: str, author: str = "u1", **fields: Any) -> Post:
    data = {"id": post_id, "text": text, "author": {"id": author, "country": "DE"}, **fields}
    return Post.from_dict(data)


PRAISE = "Glory to Qassem Soleimani, the commander"  # designated-person -> review
HASHTAG = "#SardarDelha forever"  # hashtag-campaign -> restrict
HARMLESS = "The weather in Tehran is lovely today"  # allow


def scan(store: Store, pol: Policy, posts: list[Post], mode: str = "live") -> None:
    """Decide `posts` with `pol` and record them, as `arbiter scan --db` does."""
    engine = Engine(pol, clock=store.clock)
    store.record(pol, list(zip(posts, engine.evaluate_many(posts), strict=True)), mode)


def execute(store: Store, sql: str) -> None:
    """Raw SQL as the database's owner: what a tamperer with database access can do."""
    with store.engine.begin() as connection:
        connection.exec_driver_sql(sql)


def allow_tampering(store: Store) -> None:
    """Drop the append-only guard, as someone with full database access could."""
    if store.engine.dialect.name == "postgresql":
        execute(store, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        execute(store, "DROP TRIGGER audit_log_no_update")
        execute(store, "DROP TRIGGER audit_log_no_delete")
