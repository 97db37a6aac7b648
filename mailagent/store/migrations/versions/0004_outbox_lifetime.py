"""The outbox keeps mail for a lifetime in time, not a number of attempts: who was given up
on and when (`refused`, `refused_at`), and an operator's requeue (`requeued_at`).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound") as batch:
        batch.add_column(sa.Column("refused", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("refused_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("requeued_at", UtcDateTime(), nullable=True))
    # A row given up on before this revision was refused for all its recipients.
    outbound = sa.table("outbound", sa.column("status", sa.String), sa.column("refused", sa.JSON),
                        sa.column("recipients", sa.JSON))
    op.execute(outbound.update().where(outbound.c.status == "failed")
               .values(refused=outbound.c.recipients))


def downgrade() -> None:
    with op.batch_alter_table("outbound") as batch:
        batch.drop_column("requeued_at")
        batch.drop_column("refused_at")
        batch.drop_column("refused")
