"""Case.extra (a JSON bag) becomes typed columns, a stand_in table and a collective_alert
table; the existing values are carried over.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from mailagent.store.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CASE_COLUMNS = [
    sa.Column("root_message_id", sa.String(998), nullable=True),
    sa.Column("stage_visit", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("stage_working_days", sa.Integer(), nullable=True),
    sa.Column("extensions", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("pauses", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("paused_from", sa.String(30), nullable=True),
    sa.Column("reminded_for", UtcDateTime(), nullable=True),
    sa.Column("process_breach_at", UtcDateTime(), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        for column in CASE_COLUMNS:
            batch.add_column(column._copy())
    stand_in = op.create_table(
        "stand_in",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False, index=True),
        sa.Column("stage_id", sa.String(100), nullable=False),
        sa.Column("deputy_email", sa.String(320), nullable=False),
        sa.Column("absent_email", sa.String(320), nullable=False),
        sa.UniqueConstraint("case_id", "stage_id", "deputy_email"),
    )
    alert = op.create_table(
        "collective_alert",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), primary_key=True),
        sa.Column("agreed_by", sa.String(320), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=True),
        sa.Column("ack_due", sa.Date(), nullable=True),
        sa.Column("response_due", sa.Date(), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("ack_overdue_at", UtcDateTime(), nullable=True),
        sa.Column("response_overdue_at", UtcDateTime(), nullable=True),
        sa.Column("followups", sa.Integer(), nullable=False, server_default="0"),
    )
    _carry_over(stand_in, alert)
    with op.batch_alter_table("case") as batch:
        batch.drop_column("extra")


def _carry_over(stand_in: sa.Table, alert: sa.Table) -> None:
    bind = op.get_bind()
    case = sa.table(
        "case", sa.column("id", sa.Integer), sa.column("kind", sa.String),
        sa.column("stage_deadline", UtcDateTime()), sa.column("stage_id", sa.String),
        sa.column("extra", sa.JSON), *(sa.column(c.name, c.type) for c in CASE_COLUMNS),
    )
    rows = bind.execute(sa.select(case.c.id, case.c.kind, case.c.stage_id,
                                  case.c.stage_deadline, case.c.extra)).all()
    for case_id, kind, stage_id, deadline, extra in rows:
        extra = _json(extra)
        reminded = extra.get("reminded")
        bind.execute(case.update().where(case.c.id == case_id).values(
            root_message_id=extra.get("root_message_id"),
            stage_visit=int(extra.get("visit", 0)),
            stage_working_days=extra.get("stage_days"),
            extensions=int(extra.get("extensions", 0)),
            pauses=int(extra.get("pauses", 0)),
            paused_from=extra.get("paused_from"),
            # The old mark was "visit:stage:deadline"; it still names the current deadline
            # only if it was for this visit and stage.
            reminded_for=deadline if reminded and reminded == _mark(extra, stage_id, deadline)
            else None,
            process_breach_at=_moment(extra.get("process_breach_flagged")),
        ))
        for stage, deputies in (extra.get("stand_ins") or {}).items():
            for deputy, absent in deputies.items():
                bind.execute(stand_in.insert().values(case_id=case_id, stage_id=stage,
                                                      deputy_email=deputy, absent_email=absent))
        if kind == "collective_alert":
            bind.execute(alert.insert().values(
                case_id=case_id, agreed_by=extra.get("agreed_by"),
                raised_on=_day(extra.get("raised_on")), ack_due=_day(extra.get("ack_due")),
                response_due=_day(extra.get("response_due")),
                acknowledged_at=_moment(extra.get("acknowledged_at")),
                responded_at=_moment(extra.get("responded_at")),
                ack_overdue_at=_moment(extra.get("ack_overdue")),
                response_overdue_at=_moment(extra.get("response_overdue")),
                followups=int(extra.get("followups", 0)),
            ))


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _mark(extra: dict[str, Any], stage_id: str | None, deadline: datetime | None) -> str:
    return f"{extra.get('visit', 0)}:{stage_id}:{deadline.isoformat() if deadline else ''}"


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def downgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
        for column in CASE_COLUMNS:
            batch.drop_column(column.name)
    op.drop_table("collective_alert")
    op.drop_table("stand_in")
