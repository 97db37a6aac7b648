"""When the sweep must next look at a case (`case.next_due_at`, indexed), so that it reads
only the cases due, not every open case.

Existing open cases are marked to be looked at by the next sweep (the epoch), which works
out each one's time from its timers and the council's calendar, as it does for any case
changed; closed ones have no timer (NULL).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import CHECK_NOW, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("next_due_at", UtcDateTime(), nullable=True))
        batch.create_index("ix_case_next_due_at", ["next_due_at"])
    case = sa.table("case", sa.column("status", sa.String),
                    sa.column("next_due_at", UtcDateTime()))
    op.execute(case.update().where(case.c.status == "open").values(next_due_at=CHECK_NOW))


def downgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.drop_index("ix_case_next_due_at")
        batch.drop_column("next_due_at")
