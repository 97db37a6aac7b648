"""An email about a case that is not getting through is the IRO's to know about, once.

After each delivery pass the runner asks which cases have news, and each case's IRO gets
one notice listing it, whatever the number of emails:

* given up on (template delivery_failed): the server refused it for good (5xx), or did not
  take it within the queue's lifetime. Someone must check the address or escalate another
  way; an operator can requeue it (`mailagent outbox requeue`).
* late (template delivery_delayed): put off by the server for longer than the outbox's
  `warn_after_hours`, and still being tried. Told only when the server answered in that
  pass: while the server cannot be reached at all, the notice could not go either, and the
  emails it would speak of go out, in order, as soon as it is back.

What the IRO was told is recorded on the case's timeline (one event per email, naming it),
and that record is what makes the notice once: it is queued in the same transaction, so a
crash tells the IRO neither twice nor never. A notice that itself cannot be delivered is
only logged: telling the IRO about it by email would go round in circles.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.recipients import names, people_for
from mailagent.cases.timeline import record
from mailagent.policy.directory import Person
from mailagent.store.models import Case, CaseEvent, Outbound

log = logging.getLogger(__name__)

FAILED, DELAYED = "delivery_failed", "delivery_delayed"
NOTICES = (FAILED, DELAYED)
REASON_LENGTH = 300


def cases_to_tell(
    session: Session, now: datetime, warn_after: timedelta, *, late_too: bool
) -> list[int]:
    """The cases whose IRO has not yet been told of an email given up on (or, with
    `late_too`, one late)."""
    found = {row.case_id for row in _given_up(session)}
    if late_too:
        found |= {row.case_id for row in _late(session, now, warn_after)}
    return sorted(case_id for case_id in found if case_id is not None)


def tell_iro(
    session: Session, office: Office, case_id: int, now: datetime, warn_after: timedelta,
    *, late_too: bool,
) -> None:
    """Record on the case, and tell its IRO in one notice each, the emails given up on and
    (with `late_too`) those late, that the IRO has not yet been told of."""
    case = session.get(Case, case_id)
    if case is None:
        return
    failed = _given_up(session, case_id)
    if failed:
        _notify(session, office, case, FAILED, failed, now, since=None)
    late = _late(session, now, warn_after, case_id) if late_too else []
    if late:
        _notify(session, office, case, DELAYED, late, now, since=late[0].queued_since)


def _given_up(session: Session, case_id: int | None = None) -> list[Outbound]:
    """Emails given up on (for some recipients at least) since the IRO was last told."""
    told = select(CaseEvent.id).where(
        CaseEvent.outbound_id == Outbound.id, CaseEvent.kind == FAILED,
        CaseEvent.at >= Outbound.refused_at,
    )
    query = select(Outbound).where(
        col(Outbound.refused_at).is_not(None), col(Outbound.case_id).is_not(None),
        col(Outbound.purpose).not_in(NOTICES), ~sa.exists(told),
    )
    return _rows(session, query, case_id)


def _late(
    session: Session, now: datetime, warn_after: timedelta, case_id: int | None = None
) -> list[Outbound]:
    """Emails still being tried, put off by the server, queued longer than `warn_after`
    ago, that the IRO has not been told are late."""
    told = select(CaseEvent.id).where(
        CaseEvent.outbound_id == Outbound.id, CaseEvent.kind == DELAYED,
        CaseEvent.at >= sa.func.coalesce(Outbound.requeued_at, Outbound.created_at),
    )
    query = select(Outbound).where(
        col(Outbound.status).in_(("queued", "sending")), col(Outbound.case_id).is_not(None),
        Outbound.attempts > 0, col(Outbound.last_error).is_not(None),
        sa.func.coalesce(Outbound.requeued_at, Outbound.created_at) <= now - warn_after,
        col(Outbound.purpose).not_in(NOTICES), ~sa.exists(told),
    )
    return _rows(session, query, case_id)


def _rows(session: Session, query, case_id: int | None) -> list[Outbound]:  # type: ignore[no-untyped-def]
    if case_id is not None:
        query = query.where(Outbound.case_id == case_id)
    return list(session.exec(query.order_by(col(Outbound.id))))


def _notify(
    session: Session, office: Office, case: Case, kind: str, rows: list[Outbound],
    now: datetime, since: datetime | None,
) -> None:
    emails = []
    for row in rows:
        missed = _people(office, row.refused if kind == FAILED else row.recipients)
        subject = _subject(row.raw)
        record(session, case, kind, now, outbound_id=row.id,
               summary=f"Email {'not delivered' if kind == FAILED else 'delayed'} to "
                       f"{names(missed) or 'a recipient'}: {subject}")
        emails.append({"subject": subject, "names": names(missed) or "one of the recipients",
                       "reason": (row.last_error or "")[:REASON_LENGTH]})
    iro = people_for(office, case, ["iro"])
    first = rows[0]
    stamp = int((first.refused_at if kind == FAILED else first.queued_since).timestamp())
    context = case_context(
        session, office, case, office.ladder_of(case), emails=emails,
        failed_names=", ".join(e["names"] for e in emails), since=since,
        give_up_days=office.settings.outbox.give_up_after_days,
    )
    send(session, office, case, template=kind, context=context, to=iro, purpose=kind,
         key=f"{kind}:{first.id}:{stamp}", now=now, automated=True)
    log.warning("%s email(s) about the case %s; the IRO is told", len(rows),
                "not delivered" if kind == FAILED else "delayed",
                extra={"case_ref": case.ref})


def _people(office: Office, addresses: list[str]) -> list[Person]:
    return [office.directory.person_by_email(address) or Person(name=address, email=address)
            for address in addresses]


def _subject(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    return " ".join(str(headers.get("Subject", "")).split())
