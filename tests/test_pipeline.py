"""The foundation's loop against the real Dovecot and SMTP servers: read, record once, file,
answer, and never lose or repeat a message."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailagent.cli.main import app
from mailagent.runners.pipeline import run_once
from mailagent.store.models import Inbound, Outbound
from tests.support import (
    ESCALATION_BODY,
    arrive,
    email_bytes,
    imap_source,
    london,
    smtp_transport,
    write_config,
)

pytestmark = pytest.mark.servers


def _agent(mailboxes, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    from mailagent.app import build_agent
    from mailagent.clock import FixedClock
    from tests.support import make_settings

    settings = make_settings(tmp_path, source=imap_source(mailboxes),
                             transport=smtp_transport(mailboxes))
    return build_agent(settings, clock=FixedClock(london(2026, 12, 18, 10)))


def _escalation() -> bytes:
    return email_bytes(sender="Irene Reed <iro1@example.test>",
                       subject="[ESCALATE] Placement plan not started", body=ESCALATION_BODY)


def test_appended_message_is_processed_once_filed_and_answered(mailboxes, tmp_path, monkeypatch):
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    try:
        arrive(mailboxes, agent, _escalation())
        report = run_once(agent)
        assert (report.fetched, report.processed, report.quarantined) == (1, 1, 0)
        assert mailboxes.fetch_all("agent") == []
        assert len(mailboxes.fetch_all("agent", "Processed")) == 1
        # The team manager gets the escalation through the real SMTP server, in Dovecot.
        (raw,) = mailboxes.wait_for_mail("tm1", 1)
        msg = message_from_bytes(raw, policy=policy.default)
        assert msg["Subject"].startswith("[ESC-2026-0001]")
        # The IRO: copied on the escalation, and sent the acknowledgment.
        subjects = sorted(
            message_from_bytes(m, policy=policy.default)["Subject"]
            for m in mailboxes.wait_for_mail("iro1", 2)
        )
        assert any(s.startswith("[ESC-2026-0001] Received:") for s in subjects)
        # A second pass does nothing: nothing new fetched, nothing sent again.
        again = run_once(agent)
        assert (again.fetched, again.delivery.sent) == (0, 0)
        # Even the same bytes delivered again are recognised and only filed.
        with Session(agent.engine) as session:
            first_raw = session.exec(select(Inbound)).one().raw
        arrive(mailboxes, agent, first_raw)
        third = run_once(agent)
        assert (third.fetched, third.duplicates, third.delivery.sent) == (1, 1, 0)
        with Session(agent.engine) as session:
            assert len(session.exec(select(Inbound)).all()) == 1
            assert all(r.status == "sent" for r in session.exec(select(Outbound)))
        assert len(mailboxes.fetch_all("tm1")) == 1
        assert len(mailboxes.fetch_all("iro1")) == 2
    finally:
        agent.close()


def test_malformed_message_is_quarantined_and_the_next_still_processed(
    mailboxes, tmp_path, monkeypatch
):
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    try:
        garbage = b"\xff\xfe not an email at all \r\n\r\n\x80\x81\r\n"
        stranger = email_bytes(sender="someone@elsewhere.test", subject="hello",
                               body="Is this the right address?")
        arrive(mailboxes, agent, garbage)
        arrive(mailboxes, agent, stranger)
        arrive(mailboxes, agent, _escalation())
        report = run_once(agent)
        assert (report.fetched, report.processed, report.quarantined) == (3, 1, 2)
        assert len(mailboxes.fetch_all("agent", "Quarantine")) == 2
        assert len(mailboxes.fetch_all("agent", "Processed")) == 1
        with Session(agent.engine) as session:
            rows = session.exec(select(Inbound).order_by(Inbound.id)).all()
        assert [r.status for r in rows] == ["quarantined", "quarantined", "processed"]
        assert all(r.reason for r in rows[:2])  # each quarantined message says why
        assert rows[0].raw == garbage  # kept as received
        assert len(mailboxes.wait_for_mail("tm1", 1)) == 1
    finally:
        agent.close()


def test_run_once_from_the_command_line(mailboxes, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    config = write_config(tmp_path, source=imap_source(mailboxes),
                          transport=smtp_transport(mailboxes))
    mailboxes.deliver("agent", _escalation(), london(2026, 12, 2, 10))
    # Working hours on a working day, whenever the suite runs: the escalation is not held.
    with time_machine.travel(london(2026, 12, 2, 10), tick=True):
        result = CliRunner().invoke(app, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "fetched 1, processed 1, quarantined 0" in result.output
    assert len(mailboxes.wait_for_mail("tm1", 1)) == 1


def test_missing_fields_are_answered_and_a_corrected_reply_opens_the_case(
    mailboxes, tmp_path, monkeypatch
):
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    try:
        incomplete = ESCALATION_BODY.replace("Child: 123456\n", "")
        arrive(mailboxes, agent, email_bytes(
            sender="Irene Reed <iro1@example.test>",
            subject="[ESCALATE] Placement plan not started", body=incomplete))
        run_once(agent)
        (raw,) = mailboxes.wait_for_mail("iro1", 1)
        answer = message_from_bytes(raw, policy=policy.default)
        assert str(answer["Subject"]) == (
            "Not opened, please correct: [ESCALATE] Placement plan not started")
        text = answer.get_body(("plain",)).get_content()
        assert "Child: is missing" in text and "Child: 123456" in text  # what, and an example
        with Session(agent.engine) as session:
            assert session.exec(select(Inbound)).one().status == "processed"
        # The IRO presses Reply, adds the line, and sends.
        arrive(mailboxes, agent, email_bytes(
            sender="Irene Reed <iro1@example.test>", subject="RE: " + str(answer["Subject"]),
            body="Child: 123456\n" + incomplete + "\n> " + text.replace("\n", "\n> "),
            in_reply_to=str(answer["Message-ID"])))
        outcomes = []
        run_once(agent, on_outcome=outcomes.append)
        assert [o.case_ref for o in outcomes] == ["ESC-2026-0001"]
        assert len(mailboxes.wait_for_mail("tm1", 1)) == 1
    finally:
        agent.close()
