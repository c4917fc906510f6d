"""An index on the audit log's subject: a decision's history without reading the whole log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("audit_log_subject", "audit_log", ["subject"])


def downgrade() -> None:
    op.drop_index("audit_log_subject", table_name="audit_log")
