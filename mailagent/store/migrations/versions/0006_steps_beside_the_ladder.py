"""The steps beside the ladder: a case referred to the challenge meeting and independent
legal advice (case_oversight), a CAFCASS referral's conditions (cafcass_referral), a
council's tracking record (tracking_record), and the social work team's learning points.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CASE_COLUMNS = [
    sa.Column("team_learning_asked_at", UtcDateTime(), nullable=True),
    sa.Column("team_learning", sa.Text(), nullable=True),
    sa.Column("team_learning_by", sa.String(320), nullable=True),
    sa.Column("team_learning_at", UtcDateTime(), nullable=True),
]


def _case_key() -> sa.Column:
    return sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), primary_key=True)


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        for column in CASE_COLUMNS:
            batch.add_column(column._copy())
    op.create_table(
        "case_oversight",
        _case_key(),
        sa.Column("challenge_meeting_at", UtcDateTime(), nullable=True),
        sa.Column("challenge_meeting_by", sa.String(320), nullable=True),
        sa.Column("challenge_meeting_reason", sa.Text(), nullable=True),
        sa.Column("legal_advice_at", UtcDateTime(), nullable=True),
        sa.Column("legal_advice_by", sa.String(320), nullable=True),
        sa.Column("legal_advice_from", sa.Text(), nullable=True),
    )
    op.create_table(
        "cafcass_referral",
        _case_key(),
        sa.Column("considered_at", UtcDateTime(), nullable=True),
        sa.Column("meeting_asked_at", UtcDateTime(), nullable=True),
        sa.Column("meeting_reminded_at", UtcDateTime(), nullable=True),
        sa.Column("meeting_held_on", sa.Date(), nullable=True),
        sa.Column("meeting_outcome", sa.Text(), nullable=True),
        sa.Column("meeting_recorded_at", UtcDateTime(), nullable=True),
        sa.Column("meeting_recorded_by", sa.String(320), nullable=True),
        sa.Column("step_text", sa.Text(), nullable=True),
        sa.Column("referred_at", UtcDateTime(), nullable=True),
        sa.Column("referred_by", sa.String(320), nullable=True),
    )
    op.create_table(
        "tracking_record",
        _case_key(),
        sa.Column("stage_id", sa.String(100), nullable=False),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.Column("reminded_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(320), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tracking_record")
    op.drop_table("cafcass_referral")
    op.drop_table("case_oversight")
    with op.batch_alter_table("case") as batch:
        for column in CASE_COLUMNS:
            batch.drop_column(column.name)
