"""Retention: when an email's raw bytes were removed (`mailagent purge`).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("inbound", "outbound"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("purged_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    for table in ("inbound", "outbound"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("purged_at")
