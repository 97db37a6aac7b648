"""Collective alerts as the protocol runs them: the drafting steps (comments from the IRO
team, revision, agreement naming whom it is raised with, sharing before raising), what
people wrote on an alert, the plan's actions, and each follow-up's reply and board update.

An alert that was waiting for the Group Manager's agreement (state "draft") is now in the
"agreement" state of the same step.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ALERT_COLUMNS = [
    sa.Column("comments_due", sa.Date(), nullable=True),
    sa.Column("revised_at", UtcDateTime(), nullable=True),
    sa.Column("agreed_at", UtcDateTime(), nullable=True),
    sa.Column("raise_to", sa.String(100), nullable=True),
    sa.Column("shared_at", UtcDateTime(), nullable=True),
    sa.Column("raise_on", sa.Date(), nullable=True),
    sa.Column("held_at", UtcDateTime(), nullable=True),
    sa.Column("followup_reply_due", sa.Date(), nullable=True),
    sa.Column("board_updates", sa.Integer(), nullable=False, server_default="0"),
]


def upgrade() -> None:
    with op.batch_alter_table("collective_alert") as batch:
        for column in ALERT_COLUMNS:
            batch.add_column(column._copy())
    op.create_table(
        "collective_alert_reply",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("collective_alert.case_id"),
                  nullable=False, index=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("step", sa.String(30), nullable=False),
        sa.Column("followup", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), sa.ForeignKey("inbound.id"), nullable=True),
    )
    op.create_table(
        "collective_alert_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("collective_alert.case_id"),
                  nullable=False, index=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("added_by", sa.String(320), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.Column("done_by", sa.String(320), nullable=True),
        sa.UniqueConstraint("alert_id", "number"),
    )
    case = sa.table("case", sa.column("kind", sa.String), sa.column("stage_id", sa.String),
                    sa.column("stage_state", sa.String))
    op.execute(case.update().where(case.c.kind == "collective_alert",
                                   case.c.stage_state == "draft").values(stage_state="agreement"))


def downgrade() -> None:
    case = sa.table("case", sa.column("kind", sa.String), sa.column("stage_state", sa.String))
    op.execute(case.update().where(
        case.c.kind == "collective_alert",
        case.c.stage_state.in_(("consultation", "revision", "agreement"))).values(
            stage_state="draft"))
    op.drop_table("collective_alert_action")
    op.drop_table("collective_alert_reply")
    with op.batch_alter_table("collective_alert") as batch:
        for column in ALERT_COLUMNS:
            batch.drop_column(column.name)
