"""The store's tables, as SQLAlchemy Core: one definition for SQLite and PostgreSQL.

Times are ISO 8601 UTC strings ("2026-11-25T10:00:00Z"): they sort as text and
read the same on both databases. Evidence and other nested values are JSON text.
The Alembic migrations in `arbiter/store/migrations` create exactly these tables;
tests/store/test_migrations.py checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

policies = Table(
    "policies",
    metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("text", Text, nullable=False),  # the YAML, verbatim
    Column("stored_at", String(32), nullable=False),
)

# Which version of a policy is live, and which one runs beside it in shadow mode.
activations = Table(
    "activations",
    metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("mode", String(16), primary_key=True),  # live | shadow
    Column("version", Integer, nullable=False),
    Column("activated_at", String(32), nullable=False),
)

posts = Table(
    "posts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("author_id", String(200), nullable=False),
    Column("author_handle", Text, nullable=False),
    Column("author_country", String(8), nullable=False),
    Column("lang", String(16), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("url", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("media", Text, nullable=False),  # JSON list of {id, type, path, url, hashes}
    Column("content_hash", String(64), nullable=False),
    Column("first_seen", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # visible | removed | restricted | labelled
    Index("posts_author", "author_id"),
)

authority_requests = Table(
    "authority_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("authority", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("issued_on", String(10), nullable=False),
    Column("territorial_scope", Text, nullable=False),  # JSON list of country codes
    Column("action", String(16), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_by", Text, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("puid", String(64), nullable=False, unique=True),
    # One automated decision per (mode, policy version, post content): re-scans are idempotent.
    Column("dedupe_key", String(64), unique=True),
    Column("subject", String(16), nullable=False),  # post | account
    Column("post_id", String(200), nullable=False),  # the post, or the account for `account`
    Column("content_hash", String(64), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("mode", String(16), nullable=False),  # live | shadow
    Column("rule", String(200)),
    Column("action", String(16), nullable=False),
    Column("automated", Boolean, nullable=False),
    Column("actor", Text, nullable=False),  # "rule:<id>" or "moderator:<id>"
    Column("source", String(16), nullable=False),  # scan | review | appeal | authority | strikes
    Column("decided_at", String(32), nullable=False),
    Column("matches", Text, nullable=False),  # JSON evidence
    Column("territorial_scope", Text, nullable=False),  # JSON list
    Column("reason", Text, nullable=False),  # a moderator's or an order's stated reason
    Column("authority_request_id", Integer, ForeignKey("authority_requests.id")),
    Column("supersedes", Integer, ForeignKey("decisions.id")),
    Column("restriction_until", String(32)),  # account suspensions
    # in_force | pending_review | superseded | reversed | shadow
    Column("status", String(16), nullable=False),
    Index("decisions_post", "post_id", "policy_id"),
    Index("decisions_time", "decided_at"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False),
    Column("reason", String(16), nullable=False),  # rule | sample | appeal
    Column("queued_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("moderator", Text),
    Column("outcome", String(16)),  # confirmed | overturned
    Column("action", String(16)),
    Column("note", Text),
    Column("decided_at", String(32)),
    Column("result_decision_id", Integer, ForeignKey("decisions.id")),
    Index("reviews_open", "status", "queued_at"),
    UniqueConstraint("decision_id", "reason", name="reviews_once"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("filed_at", String(32), nullable=False),
    Column("statement", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | decided
    Column("moderator", Text),
    Column("outcome", String(16)),  # upheld | overturned
    Column("note", Text),
    Column("decided_at", String(32)),
    Column("result_decision_id", Integer, ForeignKey("decisions.id")),
    Index("appeals_open", "status", "filed_at"),
)

strikes = Table(
    "strikes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author_id", String(200), nullable=False),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False, unique=True),
    Column("policy_id", String(200), nullable=False),
    Column("added_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("removed_at", String(32)),
    Column("removed_because", Text),
    Index("strikes_author", "author_id", "expires_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("audit_log_subject", "subject"),  # a decision's or a post's history (migration 0003)
)

# One row: the chain's last entry. Writers lock it, so the chain stays linear.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

# The service (migration 0002): who may call it, and what it must tell the platform.

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, unique=True),  # shown, and used to look up
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the whole key
    Column("owner", Text, nullable=False),  # a person or a system, recorded as the actor
    Column("role", String(16), nullable=False),  # ingest | moderator | admin | auditor
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("last_used_at", String(32)),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),  # signs each delivery (HMAC-SHA256)
    Column("events", Text, nullable=False),  # JSON list: decision, reversal, …
    Column("active", Boolean, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Written in the same transaction as the event, delivered afterwards: nothing is lost.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_id", Integer, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body, as it will be signed
    Column("created_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(32), nullable=False),
    Column("delivered_at", String(32)),
    Column("last_error", Text),
    Index("outbox_due", "status", "next_attempt_at"),
)

# What an adapter asked the platform to do about a decision, and whether it was done.
platform_actions = Table(
    "platform_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False),
    Column("platform", String(40), nullable=False),  # e.g. mastodon
    Column("kind", String(40), nullable=False),  # report | account_action | …
    Column("remote_id", Text),  # the platform's id for it (a report id)
    Column("status", String(16), nullable=False),  # awaiting | done | failed
    Column("detail", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("platform_actions_decision", "decision_id"),
)
