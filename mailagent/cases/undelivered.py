"""An email about a case that cannot be delivered is the IRO's to know about.

The outbox reports each email (or each recipient of one) it has given up on: a server's
permanent refusal (5xx), or a temporary failure retried too often. If the email was about a
case, the case's timeline records it and the IRO gets a notice (template delivery_failed),
so that someone can check the address or escalate another way. A notice that itself cannot
be delivered is only logged: telling the IRO about it by email would go round in circles.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.recipients import names, people_for
from mailagent.cases.timeline import record
from mailagent.policy.directory import Person
from mailagent.store.models import Case, Outbound
from mailagent.store.outbox import Undelivered

log = logging.getLogger(__name__)

PURPOSE = "delivery_failed"
REASON_LENGTH = 300


def tell_iro(session: Session, office: Office, failure: Undelivered) -> None:
    """Record the failure on the case and queue the notice to the IRO, once per email."""
    now = office.clock.now()
    row = session.get(Outbound, failure.outbound_id)
    case = session.get(Case, row.case_id) if row and row.case_id is not None else None
    if row is None or case is None:
        log.warning("an email about no case was not delivered",
                    extra={"outbound_id": failure.outbound_id})
        return
    if row.purpose == PURPOSE:
        log.error("a delivery-failure notice was itself not delivered",
                  extra={"outbound_id": row.id, "case_ref": case.ref})
        return
    failed = [office.directory.person_by_email(address) or Person(name=address, email=address)
              for address in failure.recipients]
    record(session, case, PURPOSE, now, outbound_id=row.id,
           summary=f"Email not delivered to {names(failed) or 'a recipient'}")
    context = case_context(
        session, office, case, office.ladder_of(case),
        failed_names=names(failed) or "one of the recipients",
        reason=failure.reason[:REASON_LENGTH],
    )
    send(session, office, case, template="delivery_failed", context=context,
         to=people_for(office, case, ["iro"]), purpose=PURPOSE,
         key=f"{PURPOSE}:{row.id}", now=now, automated=True)
    log.warning("email not delivered; IRO told", extra={"outbound_id": failure.outbound_id,
                                                         "case_ref": case.ref})
