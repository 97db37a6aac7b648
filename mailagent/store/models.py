"""The tables: inbound mail, cases and their events, the outbox, and the mailbox's sync state.

Datetimes are stored in UTC. `UtcDateTime` makes SQLite (which keeps no timezone) hand them
back aware, so the rest of the code never meets a naive datetime.
"""

# No `from __future__ import annotations`: SQLModel reads the relationship annotations.
from datetime import UTC, date, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import orm
from sqlmodel import JSON, Column, Field, LargeBinary, Relationship, SQLModel


class UtcDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class Inbound(SQLModel, table=True):
    """Every message fetched, stored before anything acts on it."""

    __tablename__ = "inbound"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(unique=True, max_length=64, description="sha256 of the raw bytes")
    source: str = Field(max_length=300)
    source_uid: str = Field(max_length=300)
    uidvalidity: int | None = None
    message_id: str | None = Field(default=None, max_length=998, index=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _utc()
    status: str = Field(default="new", max_length=20, index=True)
    kind: str | None = Field(default=None, max_length=30)
    reason: str | None = None
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    processed_at: datetime | None = _utc(nullable=True)
    # When `mailagent purge` removed its raw bytes (the row stays, emptied).
    purged_at: datetime | None = _utc(nullable=True)


# The kinds of case that climb a council's ladder (the others are commendations and
# collective alerts).
LADDER_KINDS = ("escalation", "challenge")


class Case(SQLModel, table=True):
    """One escalation, challenge, commendation or collective alert, and where it stands."""

    __tablename__ = "case"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=40)
    kind: str = Field(max_length=30)
    ladder_id: str | None = Field(default=None, max_length=100)
    status: str = Field(default="open", max_length=20, index=True)
    child_ref: str | None = Field(default=None, max_length=100, index=True)
    plan: str | None = Field(default=None, max_length=10)
    team: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    iro_email: str = Field(max_length=320, index=True)
    fields: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stage_id: str | None = Field(default=None, max_length=100)
    stage_started_at: datetime | None = _utc(nullable=True)
    stage_deadline: datetime | None = _utc(nullable=True, index=True)
    stage_state: str | None = Field(default=None, max_length=30)
    paused_working_days_left: int | None = None
    process_started_at: datetime | None = _utc(nullable=True)
    process_deadline: datetime | None = _utc(nullable=True)
    decision_due: datetime | None = _utc(nullable=True)
    linked_ref: str | None = Field(
        default=None, max_length=40, index=True,
        description="an escalation's collective alert, or the escalation a commendation follows",
    )
    outcome: str | None = None
    learning: str | None = None
    opened_at: datetime = _utc()
    closed_at: datetime | None = _utc(nullable=True)
    # The IRO's first email: every email we send threads under it.
    root_message_id: str | None = Field(default=None, max_length=998)
    # How many times the case has entered a stage: emails name the visit, so a stage entered
    # again (escalated back, re-routed) is emailed again, and a replayed step is not.
    stage_visit: int = 0
    stage_working_days: int | None = None
    extensions: int = 0
    pauses: int = 0
    paused_from: str | None = Field(default=None, max_length=30)
    reminded_for: datetime | None = _utc(nullable=True)  # the deadline last reminded of
    process_breach_at: datetime | None = _utc(nullable=True)
    # When the sweep must look at this case next: never later than its earliest timer, so
    # the sweep reads only the cases due (an index range) however many are open. A case
    # changed in any other way is marked CHECK_NOW (see `_mark_changed_cases`); the sweep
    # sets the exact time when it finds nothing due. None: no timer can fall due.
    next_due_at: datetime | None = _utc(nullable=True, index=True)

    # QA policy: "the IRO/CPC and the social work team complete the 'Outcome of issue
    # requiring resolution' and 'Key learning points'": the team's, asked for at resolution.
    team_learning_asked_at: datetime | None = _utc(nullable=True)
    team_learning: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    team_learning_by: str | None = Field(default=None, max_length=320)
    team_learning_at: datetime | None = _utc(nullable=True)

    stand_ins: list["StandIn"] = Relationship(
        sa_relationship_kwargs={"cascade": "all, delete-orphan", "order_by": "StandIn.id"})
    alert: Optional["CollectiveAlert"] = Relationship(
        sa_relationship_kwargs={"uselist": False, "cascade": "all, delete-orphan"})
    oversight: Optional["CaseOversight"] = Relationship(
        sa_relationship_kwargs={"uselist": False, "cascade": "all, delete-orphan"})
    cafcass: Optional["CafcassReferral"] = Relationship(
        sa_relationship_kwargs={"uselist": False, "cascade": "all, delete-orphan"})
    tracking: Optional["TrackingRecord"] = Relationship(
        sa_relationship_kwargs={"uselist": False, "cascade": "all, delete-orphan"})


# "Look at this case at the next sweep": earlier than any real time.
CHECK_NOW = datetime(1970, 1, 1, tzinfo=UTC)


@sa.event.listens_for(orm.Session, "before_flush")
def _mark_changed_cases(session: orm.Session, _context: Any, _instances: Any) -> None:
    """A case opened or changed (but for `next_due_at` itself) is due for a look at the next
    sweep: whatever changed may have started, moved or stopped a timer. So is a case whose
    steps beside the ladder changed (their timers live in their own rows: a CAFCASS
    referral's meeting asked for, a tracking record's request). Marking it here, where every
    change passes, means no code path can forget to."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Case):
            state = sa.inspect(obj)
            if obj in session.new or any(state.attrs[name].history.has_changes()
                                         for name in _CASE_CHANGES):
                _mark(obj)
        elif isinstance(obj, _SIDE_ROWS) and obj.case_id is not None and (
                obj in session.new or session.is_modified(obj)):
            with session.no_autoflush:
                case = session.get(Case, obj.case_id)
            if case is not None:
                _mark(case)


def _mark(case: Case) -> None:
    if not sa.inspect(case).attrs.next_due_at.history.has_changes():  # else the sweep
        case.next_due_at = CHECK_NOW if case.status == "open" else None  # just set it


class StandIn(SQLModel, table=True):
    """A deputy answering for an addressee whose out-of-office answered a stage's email."""

    __tablename__ = "stand_in"
    __table_args__ = (sa.UniqueConstraint("case_id", "stage_id", "deputy_email"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    stage_id: str = Field(max_length=100)
    deputy_email: str = Field(max_length=320)
    absent_email: str = Field(max_length=320)


class CollectiveAlert(SQLModel, table=True):
    """A collective alert's own clock, beside its case row: drafted, commented on, agreed,
    shared, raised, acknowledged, answered, followed up (the protocol's 2-week and 4-week
    timers and 4-weekly follow-ups), with what people wrote and the plan's actions."""

    __tablename__ = "collective_alert"

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    agreed_by: str | None = Field(default=None, max_length=320)
    raised_on: date | None = None
    ack_due: date | None = None
    response_due: date | None = None
    acknowledged_at: datetime | None = _utc(nullable=True)
    responded_at: datetime | None = _utc(nullable=True)
    ack_overdue_at: datetime | None = _utc(nullable=True)
    response_overdue_at: datetime | None = _utc(nullable=True)
    followups: int = 0
    # Drafting: out to the IRO team for comment until `comments_due`, revised by the
    # drafting IRO, agreed by the Group Manager (who chose whom it is raised with), shared
    # with the Head of Service for Safeguarding and QA, then raised on `raise_on`.
    comments_due: date | None = None
    revised_at: datetime | None = _utc(nullable=True)
    agreed_at: datetime | None = _utc(nullable=True)
    raise_to: str | None = Field(default=None, max_length=100, description="a role")
    shared_at: datetime | None = _utc(nullable=True)
    raise_on: date | None = None
    held_at: datetime | None = _utc(nullable=True)
    # The latest follow-up's reply is due by the end of this day; then the update for the
    # Children's Senior Management Team and the Corporate Parenting Board is made.
    followup_reply_due: date | None = None
    board_updates: int = 0

    replies: list["AlertReply"] = Relationship(
        sa_relationship_kwargs={"cascade": "all, delete-orphan", "order_by": "AlertReply.id"})
    actions: list["AlertAction"] = Relationship(
        sa_relationship_kwargs={"cascade": "all, delete-orphan",
                                "order_by": "AlertAction.number"})


class AlertReply(SQLModel, table=True):
    """What someone wrote about a collective alert: an IRO's comment on the draft, the
    Head of Service for Safeguarding and QA's before it is raised, the acknowledgment, the
    detailed response and each progress update."""

    __tablename__ = "collective_alert_reply"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="collective_alert.case_id", index=True)
    at: datetime = _utc()
    author: str = Field(max_length=320)
    step: str = Field(max_length=30)  # comment, acknowledgment, response, update, other
    followup: int | None = None  # the follow-up it answers
    text: str = Field(default="", sa_column=Column(sa.Text, nullable=False))
    inbound_id: int | None = Field(default=None, foreign_key="inbound.id")


class AlertAction(SQLModel, table=True):
    """One action of the plan made in answer to a collective alert, and its status."""

    __tablename__ = "collective_alert_action"
    __table_args__ = (sa.UniqueConstraint("alert_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="collective_alert.case_id", index=True)
    number: int
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    due: date | None = None
    status: str = Field(default="open", max_length=10)  # open or done
    added_at: datetime = _utc()
    added_by: str = Field(max_length=320)
    done_at: datetime | None = _utc(nullable=True)
    done_by: str | None = Field(default=None, max_length=320)


class CaseOversight(SQLModel, table=True):
    """Senior oversight sought beside the ladder: the case referred to the monthly challenge
    meeting outside the escalation process, independent legal advice being sought."""

    __tablename__ = "case_oversight"

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    challenge_meeting_at: datetime | None = _utc(nullable=True)
    challenge_meeting_by: str | None = Field(default=None, max_length=320)
    challenge_meeting_reason: str | None = Field(default=None,
                                                 sa_column=Column(sa.Text, nullable=True))
    legal_advice_at: datetime | None = _utc(nullable=True)
    legal_advice_by: str | None = Field(default=None, max_length=320)
    legal_advice_from: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))


class CafcassReferral(SQLModel, table=True):
    """A CAFCASS referral's conditions and the referral: considered (the IRO's #cafcass),
    the meeting that must come first asked for, reminded, held; the referral made, with the
    words the IRO recorded in the child's record."""

    __tablename__ = "cafcass_referral"

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    considered_at: datetime | None = _utc(nullable=True)
    meeting_asked_at: datetime | None = _utc(nullable=True)
    meeting_reminded_at: datetime | None = _utc(nullable=True)
    meeting_held_on: date | None = None
    meeting_outcome: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    meeting_recorded_at: datetime | None = _utc(nullable=True)
    meeting_recorded_by: str | None = Field(default=None, max_length=320)
    step_text: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    referred_at: datetime | None = _utc(nullable=True)
    referred_by: str | None = Field(default=None, max_length=320)


class TrackingRecord(SQLModel, table=True):
    """A council's tracking record of a dispute (Brent's spreadsheet): who keeps it was asked
    at a stage to acknowledge it, reminded, and acknowledged."""

    __tablename__ = "tracking_record"

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    stage_id: str = Field(max_length=100)
    asked_at: datetime = _utc()
    reminded_at: datetime | None = _utc(nullable=True)
    acknowledged_at: datetime | None = _utc(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=320)


class CaseEvent(SQLModel, table=True):
    """The case's timeline: what happened, when, and who did it (no email bodies)."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _utc()
    kind: str = Field(max_length=50)
    stage_id: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=320)
    inbound_id: int | None = Field(default=None, foreign_key="inbound.id")
    outbound_id: int | None = Field(default=None, foreign_key="outbound.id")
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# What, changed on a case, may move its timers: every column but next_due_at, and the rows
# of the steps beside the ladder (a new one is attached to the case, so changes it).
_SIDE_ROWS = (CaseOversight, CafcassReferral, TrackingRecord)
_CASE_CHANGES = [
    *(c.key for c in Case.__table__.columns if c.key != "next_due_at"),  # type: ignore[attr-defined]
    "oversight", "cafcass", "tracking",
]


class Participant(SQLModel, table=True):
    """Someone on a case's thread: only they may attach to it by a guessable reference."""

    __tablename__ = "participant"
    __table_args__ = (sa.UniqueConstraint("case_id", "email", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    email: str = Field(max_length=320, index=True)
    role: str = Field(max_length=100)


class MessageRef(SQLModel, table=True):
    """A Message-ID we sent or received on a case, for In-Reply-To/References matching."""

    __tablename__ = "message_ref"

    message_id: str = Field(primary_key=True, max_length=998)
    case_id: int = Field(foreign_key="case.id", index=True)
    direction: str = Field(max_length=3)


class ConversationRef(SQLModel, table=True):
    """An Outlook conversation (the first 22 bytes of Thread-Index) seen on a case."""

    __tablename__ = "conversation_ref"

    conversation: str = Field(primary_key=True, max_length=100)
    case_id: int = Field(foreign_key="case.id", index=True)


class Outbound(SQLModel, table=True):
    """The outbox: an email is written here with the state change that caused it, then sent."""

    __tablename__ = "outbound"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=300)
    message_id: str = Field(unique=True, max_length=998)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    purpose: str = Field(max_length=50)
    recipients: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _utc()
    not_before: datetime = _utc(index=True)
    status: str = Field(default="queued", max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = _utc(nullable=True)
    # Recipients given up on (refused for good, or not accepted within the queue's
    # lifetime) and when; an operator's requeue starts a new lifetime.
    refused: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    refused_at: datetime | None = _utc(nullable=True)
    requeued_at: datetime | None = _utc(nullable=True)
    purged_at: datetime | None = _utc(nullable=True)  # raw bytes removed by `purge`

    @property
    def queued_since(self) -> datetime:
        """Since when this email has been waiting to go: queued, or requeued."""
        return self.requeued_at or self.created_at


class SourceState(SQLModel, table=True):
    """Per mailbox folder: the UIDVALIDITY we synced against and when we last heard from it."""

    __tablename__ = "source_state"

    source: str = Field(primary_key=True, max_length=300)
    uidvalidity: int | None = None
    last_seen_at: datetime | None = _utc(nullable=True)
    cursor: str | None = None


class Counter(SQLModel, table=True):
    """Reference counters per prefix and year (ESC-2026-0001...)."""

    __tablename__ = "counter"

    name: str = Field(primary_key=True, max_length=50)
    value: int = 0
