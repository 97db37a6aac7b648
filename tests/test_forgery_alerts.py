"""Forgery, authority and loops on a collective alert, on the real Dovecot and SMTP servers.

A collective alert's commands (#revised, #agree, #return, #raise, #action, #done,
#resolved) move a council-wide concern to a Head of Service or the Director, so they are
held to the same rules as an escalation's (`cases.authorise`, then the alert's own rule for
each command in `cases.collective`): a forged Group Manager, an outsider with the thread's
Message-IDs, and someone not yet on the alert change nothing and learn nothing; a colleague
on it is refused and told why. A comment passed on is never sent back to its author, so an
auto-responder without RFC 3834 headers cannot answer its own relayed email for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlmodel import Session, select

from mailagent.store.models import Case, Inbound
from tests.clients import outlook_new
from tests.desk import Sent
from tests.mailroom import Mailroom, of, one, people
from tests.servers import MailServers
from tests.support import london
from tests.test_collective import ALERT, GM, HANNAH, IRENE, IRO1, IRO2, IVAN, MONA, REF
from tests.test_forgery import INTERNAL, M365, M365_SPOOF, OUTSIDER, arrived, forged
from tests.test_loops import auto_response

pytestmark = pytest.mark.servers


@pytest.fixture
def room(mailboxes: MailServers, tmp_path, monkeypatch) -> Iterator[Mailroom]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    room = Mailroom(mailboxes, tmp_path, london(2026, 12, 2, 9), authentication=M365)
    yield room
    room.close()


def internal(raw: bytes) -> bytes:
    """Mail sent inside the council, as Exchange Online leaves it."""
    return arrived(raw, *INTERNAL)


def to_agreement(room: Mailroom) -> Sent:
    """Irene drafts, Ivan comments, Irene revises: the Group Manager is asked to agree."""
    draft = one(room.run(london(2026, 12, 2, 10, 5), internal(outlook_new(
        IRENE, "[COLLECTIVE] CAMHS waiting times", ALERT, at=london(2026, 12, 2, 10)))),
        "collective_draft")
    room.run(london(2026, 12, 3, 11, 5), internal(room.reply(
        draft, IVAN, "Same in the South team.\n\nIvan", at=london(2026, 12, 3, 11))))
    comments = one(room.run(london(2026, 12, 10, 9)), "collective_comments")
    return one(room.run(london(2026, 12, 10, 11, 5), internal(room.reply(
        comments, IRENE, "#revised", at=london(2026, 12, 10, 11)))), "collective_agreement")


def _alert(room: Mailroom) -> Case:
    with Session(room.agent.engine) as session:
        return session.exec(select(Case).where(Case.ref == REF)).one()


def _reasons(room: Mailroom) -> list[str]:
    with Session(room.agent.engine) as session:
        rows = session.exec(select(Inbound).where(Inbound.status == "quarantined")
                            .order_by(Inbound.id))
        return [row.reason or "" for row in rows]


def test_no_forged_outside_or_unentitled_command_moves_a_collective_alert(
    room: Mailroom,
) -> None:
    agreement = to_agreement(room)
    at = london(2026, 12, 10, 14)

    def reply(sender: str, body: str, minute: int) -> bytes:
        return room.reply(agreement, sender, body, at=london(2026, 12, 10, 13, minute))

    sent = room.run(
        at,
        # The Group Manager's name, from the internet: Exchange says DMARC failed.
        forged(reply(MONA, "#agree Head of Service", 1), *M365_SPOOF),
        # Someone outside the council with the thread's Message-IDs.
        internal(reply(OUTSIDER, "#agree Director\n#raise", 2)),
        # The Head of Service it would be raised with, before it is raised with her.
        internal(reply(HANNAH, "#raise", 3)),
        # A colleague on the alert, who may comment but not agree or raise.
        internal(reply(IVAN, "#raise", 4)),
    )
    reasons = _reasons(room)
    assert len(reasons) == 3
    assert "authenticated" in reasons[0] and "dmarc=fail" in reasons[0]
    assert reasons[1].startswith("directory:")
    assert reasons[2].startswith("on-the-case:")
    alert = _alert(room)
    assert (alert.status, alert.stage_state) == ("open", "agreement")
    # Ivan is told why; the Group Manager is told once of the mail forged in her name; no
    # one else hears anything, and nothing is shared or raised.
    assert {s.purpose for s in sent} == {"command_refused", "sender_unverified"}
    assert people(one(sent, "command_refused")) == ({IRO2}, set())
    assert "only the IRO Group Manager can use #raise" in one(sent, "command_refused").text
    assert people(one(sent, "sender_unverified")) == ({GM}, set())
    everyone = {a for s in room.desk.outbox() for a in s.to + s.cc}
    assert not everyone & {"outsider@example.test", "hos1@example.test"}
    # The real Group Manager agrees.
    shared = room.run(london(2026, 12, 10, 15, 5), internal(room.reply(
        agreement, MONA, "#agree Head of Service", at=london(2026, 12, 10, 15))))
    assert one(shared, "collective_shared") and _alert(room).stage_state == "sharing"


def test_an_auto_responder_never_gets_its_own_relayed_comment_back(
    room: Mailroom, mailboxes: MailServers
) -> None:
    """The Group Manager's mailbox answers every email it gets, saying nothing of being a
    machine: her "comment" on the draft she holds is recorded, and passed to the drafting
    IRO, never back to her; so the answers stop."""
    agreement = to_agreement(room)
    seen = {bytes(raw) for raw in mailboxes.fetch_all("manager")}
    incoming = [internal(room.reply(agreement, IVAN, "One more South case.\n\nIvan",
                                    at=london(2026, 12, 10, 12)))]
    relayed: list[Sent] = []
    for minute in range(8):
        at: datetime = london(2026, 12, 10, 13, minute * 5)
        relayed += of(room.run(at, *incoming), "collective_reply")
        fresh = [raw for raw in mailboxes.fetch_all("manager") if raw not in seen]
        seen.update(fresh)
        incoming = [internal(auto_response(raw, MONA)) for raw in fresh]
    assert incoming == []  # the loop is over
    # Ivan's comment went to the Group Manager (copied to Irene); her mailbox's answer went
    # to Irene alone; nothing more.
    assert [people(s) for s in relayed] == [({GM}, {IRO1}), ({IRO1}, set())]
    assert _alert(room).stage_state == "agreement"
