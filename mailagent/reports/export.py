"""One case's complete record, for the child's file in Mosaic, LCS or Framework-I.

Every policy asks that the child's record shows what the IRO did. The export holds the
case's facts (issue, outcome, learning), every event of its timeline (stage changes with
their deadlines and recipients, responses, decisions, extensions, pauses, breaches), and
every email in and out with its sender, recipients, time and text, merged into one
timeline. Formats: JSON (for systems), HTML (for people) and PDF (the HTML printed by
headless Chromium; see `browser`).

PDF: WeasyPrint would need Pango and friends from the system as well as its wheel, while
Chromium is already what the tests use to look at the HTML, and prints it exactly as a
person sees it; so a PDF comes from Chromium, and without it the error says what to install.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases.notify import KIND_LABELS, PLAN_LABELS, deadline_words
from mailagent.mail.parse import InboundMessage, parse_message
from mailagent.private import make_private
from mailagent.reports.history import stage_name
from mailagent.reports.quarterly import ReportProblem, category_label, iro_label, team_label
from mailagent.store.models import Case, CaseEvent, Inbound, Outbound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportedEmail:
    id: int
    direction: str  # "in" or "out"
    at: datetime  # received (in) or queued (out)
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    message_id: str
    kind: str  # the inbound's kind, or the outbound's purpose
    status: str
    sent_at: datetime | None
    text: str
    attachments: list[str] = field(default_factory=list)
    # What the parser could not read or found wrong in this email (a damaged part, an unknown
    # charset, a missing header), so the record says so instead of silently leaving it out.
    unread: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportedEvent:
    id: int
    at: datetime
    kind: str
    stage: str
    actor: str
    summary: str
    detail: dict[str, Any]
    inbound_id: int | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    type: str  # "event", "email_in" or "email_out"
    id: int
    title: str
    who: str


@dataclass(frozen=True)
class CaseExport:
    facts: dict[str, Any]
    events: list[ExportedEvent]
    emails: list[ExportedEmail]
    timeline: list[TimelineEntry]
    generated_at: datetime
    timezone: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_value, ensure_ascii=False, indent=2)


def build_export(session: Session, agent: Agent, ref: str, now: datetime) -> CaseExport:
    """Everything recorded about the case `ref`."""
    case = session.exec(select(Case).where(Case.ref == ref.strip().upper())).first()
    if case is None:
        raise ReportProblem(f"there is no case {ref}")
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                          .order_by(CaseEvent.at, CaseEvent.id)).all()  # type: ignore[arg-type]
    inbound = session.exec(select(Inbound).where(Inbound.case_id == case.id)
                           .order_by(Inbound.received_at, Inbound.id)).all()  # type: ignore[arg-type]
    outbound = session.exec(select(Outbound).where(Outbound.case_id == case.id)
                            .order_by(Outbound.created_at, Outbound.id)).all()  # type: ignore[arg-type]
    ladder = agent.rules.ladders.get(case.ladder_id or agent.ladder_id)
    exported_events = [
        ExportedEvent(
            id=e.id or 0, at=e.at, kind=e.kind,
            stage=stage_name(ladder, e.stage_id) if ladder and e.stage_id else "",
            actor=_person(agent, e.actor), summary=str(e.detail.get("summary", "")),
            detail={k: v for k, v in e.detail.items() if k != "summary"},
            inbound_id=e.inbound_id,
        )
        for e in events
    ]
    emails = [_inbound_email(row) for row in inbound] + [_outbound_email(row) for row in outbound]
    timeline = sorted(
        [TimelineEntry(e.at, "event", e.id, e.summary or e.kind, e.actor)
         for e in exported_events]
        + [TimelineEntry(m.at, f"email_{m.direction}", m.id, m.subject, m.sender)
           for m in emails],
        key=lambda t: (t.at, {"email_in": 0, "event": 1, "email_out": 2}[t.type], t.id),
    )
    return CaseExport(
        facts=_facts(agent, case, ladder),
        events=exported_events,
        emails=sorted(emails, key=lambda m: (m.at, m.direction, m.id)),
        timeline=timeline,
        generated_at=now,
        timezone=str(agent.calendar.tz),
    )


def _facts(agent: Agent, case: Case, ladder: Any) -> dict[str, Any]:
    fields = case.fields
    return {
        "ref": case.ref,
        "kind": KIND_LABELS.get(case.kind, case.kind.replace("_", " ").title()),
        "status": case.status,
        "child_ref": case.child_ref,
        "plan": PLAN_LABELS.get(case.plan or "", case.plan),
        "team": team_label(agent, case),
        "category": category_label(agent, case),
        "iro": iro_label(agent, case.iro_email),
        "iro_email": case.iro_email,
        "ladder": ladder.name if ladder else case.ladder_id,
        "council": ladder.council if ladder else "",
        "stage": stage_name(ladder, case.stage_id) if ladder else case.stage_id,
        "stage_deadline": case.stage_deadline,
        "process_deadline": case.process_deadline,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "theme": fields.get("theme"),  # a collective alert's
        "issue": fields.get("issue") or fields.get("evidence"),
        "impact": fields.get("impact"),
        "resolution_sought": fields.get("resolution_sought") or fields.get("action_sought"),
        "outcome": case.outcome,
        "learning": case.learning,
    }


def _person(agent: Agent, email: str | None) -> str:
    if not email:
        return "mailagent"
    person = agent.directory.person_by_email(email)
    return f"{person.name} <{email}>" if person else email


def _inbound_email(row: Inbound) -> ExportedEmail:
    msg = parse_message(row.raw)
    return ExportedEmail(
        id=row.id or 0, direction="in", at=row.received_at,
        sender=_header(msg, "From"), to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"),
        subject=_header(msg, "Subject"), message_id=row.message_id or msg.message_id or "",
        kind=row.kind or "", status=row.status, sent_at=None, text=_text(msg, row.purged_at),
        attachments=_attachments(msg), unread=_unread(msg, "in", row.id, row.purged_at),
    )


def _outbound_email(row: Outbound) -> ExportedEmail:
    msg = parse_message(row.raw)
    return ExportedEmail(
        id=row.id or 0, direction="out", at=row.created_at,
        sender=_header(msg, "From"), to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"),
        subject=_header(msg, "Subject"), message_id=row.message_id, kind=row.purpose,
        status=row.status, sent_at=row.sent_at, text=_text(msg, row.purged_at),
        attachments=_attachments(msg), unread=_unread(msg, "out", row.id, row.purged_at),
    )


# The email as the one parser (mail/parse) read it; the record shows names with addresses.
def _header(msg: InboundMessage, name: str) -> str:
    return " ".join((msg.headers.get(name) or "").split())


def _addresses(msg: InboundMessage, name: str) -> list[str]:
    pairs = getaddresses(msg.headers.get_all(name))
    return [f"{n} <{a}>" if n else a for n, a in pairs if a]


def _text(msg: InboundMessage, purged_at: datetime | None = None) -> str:
    if purged_at is not None:
        return f"(removed on {purged_at:%d %B %Y} under the retention schedule)"
    if msg.text.strip() or not msg.problems:
        return msg.text.strip()
    return "(the text of this email could not be read)"


def _unread(msg: InboundMessage, direction: str, row_id: int | None,
            purged_at: datetime | None) -> list[str]:
    """The parser's problems with an email, listed in the record and logged by count only
    (the problems may quote what the email says)."""
    if purged_at is not None or not msg.problems:
        return []
    log.warning("case export: email %s #%s was not wholly readable (%d problem(s)); "
                "the record lists them", direction, row_id, len(msg.problems))
    return list(msg.problems)


def _attachments(msg: InboundMessage) -> list[str]:
    return [attachment.filename or "(unnamed)" for attachment in msg.attachments]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


# -- writing -----------------------------------------------------------------------------


def export_context(agent: Agent, export: CaseExport) -> dict[str, Any]:
    tz = agent.calendar.tz

    def when(value: datetime | None) -> str:
        return f"{value.astimezone(tz):%a %d %b %Y %H:%M}" if value else ""

    def details(event: ExportedEvent) -> list[str]:
        lines = []
        for key, value in event.detail.items():
            if key == "deadline" and isinstance(value, str):
                end = datetime.fromisoformat(value) - timedelta(microseconds=1)
                lines.append(f"Deadline: by end of {end.astimezone(tz):%A %d %B %Y}")
            elif key in ("to", "cc") and isinstance(value, list):
                lines.append(f"{'To' if key == 'to' else 'Copied to'}: {', '.join(value)}")
            elif key == "text":
                lines.append(f"Note: {value}")
            else:
                lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
        return lines

    def by_end_of(value: datetime | None) -> str:
        return f"by end of {deadline_words(agent, value)[0]}" if value else ""

    return {
        "x": export,
        "when": when,
        "by_end_of": by_end_of,
        "details": details,
        "emails": {(f"email_{m.direction}", m.id): m for m in export.emails},
        "events": {("event", e.id): e for e in export.events},
    }


def write_export(agent: Agent, export: CaseExport, path: Path) -> None:
    """Write the export as .json, .html or .pdf (by the file's suffix), readable by its
    owner only: it is a child's record."""
    _write_export(agent, export, path)
    make_private(path)


def _write_export(agent: Agent, export: CaseExport, path: Path) -> None:
    from mailagent.reports.render import SHIPPED, render_report

    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(export.to_json(), encoding="utf-8")
        return
    if suffix not in (".html", ".htm", ".pdf"):
        raise ReportProblem(f"{path.name}: a case is exported as .html, .pdf or .json")
    templates = agent.settings.agent.templates_dir
    html = render_report("case_export.html.j2", export_context(agent, export),
                         templates if templates.is_dir() else SHIPPED)
    if suffix != ".pdf":
        path.write_text(html, encoding="utf-8")
        return
    from mailagent.reports.browser import print_pdf

    with tempfile.TemporaryDirectory(prefix="mailagent-export-") as folder:
        page = Path(folder) / f"{export.facts['ref']}.html"
        page.write_text(html, encoding="utf-8")
        print_pdf(page, path)
