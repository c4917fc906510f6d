"""The first schema: policies, posts, decisions, reviews, appeals, strikes, the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("stored_at", TIME, nullable=False),
    )
    op.create_table(
        "activations",
        sa.Column("policy_id", sa.String(200), primary_key=True),
        sa.Column("mode", sa.String(16), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("activated_at", TIME, nullable=False),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("author_id", sa.String(200), nullable=False),
        sa.Column("author_handle", sa.Text, nullable=False),
        sa.Column("author_country", sa.String(8), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("media", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_index("posts_author", "posts", ["author_id"])
    op.create_table(
        "authority_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("authority", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("issued_on", sa.String(10), nullable=False),
        sa.Column("territorial_scope", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("puid", sa.String(64), nullable=False, unique=True),
        sa.Column("dedupe_key", sa.String(64), unique=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(200)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("automated", sa.Boolean, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("matches", sa.Text, nullable=False),
        sa.Column("territorial_scope", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("authority_request_id", sa.Integer, sa.ForeignKey("authority_requests.id")),
        sa.Column("supersedes", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("restriction_until", TIME),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("decisions_post", "decisions", ["post_id", "policy_id"])
    op.create_index("decisions_time", "decisions", ["decided_at"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("queued_at", TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("moderator", sa.Text),
        sa.Column("outcome", sa.String(16)),
        sa.Column("action", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("decided_at", TIME),
        sa.Column("result_decision_id", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.UniqueConstraint("decision_id", "reason", name="reviews_once"),
    )
    op.create_index("reviews_open", "reviews", ["status", "queued_at"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("filed_at", TIME, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("moderator", sa.Text),
        sa.Column("outcome", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("decided_at", TIME),
        sa.Column("result_decision_id", sa.Integer, sa.ForeignKey("decisions.id")),
    )
    op.create_index("appeals_open", "appeals", ["status", "filed_at"])
    op.create_table(
        "strikes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author_id", sa.String(200), nullable=False),
        sa.Column(
            "decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False, unique=True
        ),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("removed_at", TIME),
        sa.Column("removed_because", sa.Text),
    )
    op.create_index("strikes_author", "strikes", ["author_id", "expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    _forbid_rewriting_the_audit_log()


def _forbid_rewriting_the_audit_log() -> None:
    # The hash chain detects a rewrite; these triggers stop the casual one at the source.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION arbiter_audit_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION arbiter_audit_append_only()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {operation} is not "
            "allowed'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS arbiter_audit_append_only()")
    for table in (
        "audit_head",
        "audit_log",
        "strikes",
        "appeals",
        "reviews",
        "decisions",
        "authority_requests",
        "posts",
        "activations",
        "policies",
    ):
        op.drop_table(table)
