"""A case driven end to end through the real pipeline (Maildir in, SQLite, files out), as the
demo does, then exported for the child's file: every event and every email in and out, with
sender, recipients and time, must be in the JSON, the HTML and (with Chromium) the PDF.

Friday 18 December 2026 10:00  the IRO's [ESCALATE] email; stage 1 (Team Manager)
Thursday 24 December 09:30     reminder to the Team Manager
Wednesday 30 December 08:00    no response by Tuesday 29: escalates itself to stage 2
Thursday 31 December 11:15     the Service Manager replies from Outlook
Thursday 31 December 13:00     the IRO adds a note
Thursday 31 December 14:00     the IRO resolves it, with outcome and learning
"""

from __future__ import annotations

import json
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailagent.app import Agent
from mailagent.clock import FixedClock
from mailagent.reports import browser
from mailagent.reports.export import build_export, write_export
from mailagent.reports.quarterly import ReportProblem
from mailagent.runners.pipeline import run_once
from mailagent.store.models import Case, CaseEvent, Inbound, Outbound
from tests.reports_seed import config_file
from tests.support import ESCALATION_BODY, drop, email_bytes, london, make_agent

IRO = "Irene Reed <iro1@example.test>"
SERVICE_MANAGER = "Sean Mills <sm1@example.test>"


def _drop(agent: Agent, raw: bytes, name: str) -> None:
    drop(agent, f"{name}.eml", raw)  # arrives at the clock's time


def _at(agent: Agent, clock: FixedClock, when: datetime) -> None:
    clock.set(when)
    run_once(agent)


def _last_to(agent: Agent, address: str) -> Outbound:
    with Session(agent.engine) as session:
        rows = session.exec(select(Outbound).order_by(Outbound.id.desc())).all()  # type: ignore[union-attr]
    return next(r for r in rows if address in r.recipients)


@pytest.fixture(scope="module")
def driven(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("export")
    agent, clock = make_agent(tmp, london(2026, 12, 18, 10))
    opening = email_bytes(sender=IRO, subject="[ESCALATE] Placement plan not started",
                          body=ESCALATION_BODY, date=clock.now())
    _drop(agent, opening, "1-escalation")
    run_once(agent)
    opening_id = message_from_bytes(opening, policy=policy.default)["Message-ID"]
    _at(agent, clock, london(2026, 12, 24, 9, 30))
    _at(agent, clock, london(2026, 12, 30, 8, 0))
    _at(agent, clock, london(2026, 12, 30, 9, 0))
    stage_2 = _last_to(agent, "sm1@example.test")
    subject = message_from_bytes(stage_2.raw, policy=policy.default)["Subject"]
    clock.set(london(2026, 12, 31, 11, 15))
    _drop(agent, email_bytes(
        sender=SERVICE_MANAGER, subject=f"RE: {subject}", in_reply_to=stage_2.message_id,
        date=clock.now(), body="I have asked the team to start the placement search today.\n\n"
        "Sean Mills\nService Manager\n"), "2-response")
    run_once(agent)
    clock.set(london(2026, 12, 31, 13, 0))
    _drop(agent, email_bytes(sender=IRO, subject=f"RE: {subject}", in_reply_to=opening_id,
                             date=clock.now(), body="#note Spoke to the Service Manager.\n"),
          "3-note")
    run_once(agent)
    clock.set(london(2026, 12, 31, 14, 0))
    _drop(agent, email_bytes(
        sender=IRO, subject=f"RE: {subject}", in_reply_to=opening_id, date=clock.now(),
        body="#resolved\nOutcome: Placement search started; the child moves on 8 January.\n"
        "Learning: Placement plans need a named owner at the review.\n"), "4-resolved")
    run_once(agent)
    with Session(agent.engine) as session:
        case = session.exec(select(Case)).one()
        assert case.status == "resolved", "the scripted case did not run to its end"
    yield agent, tmp, case.ref
    agent.close()


def _records(agent: Agent, ref: str):  # type: ignore[no-untyped-def]
    with Session(agent.engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        inbound = session.exec(select(Inbound).where(Inbound.case_id == case.id)).all()
        outbound = session.exec(select(Outbound).where(Outbound.case_id == case.id)).all()
    return case, events, inbound, outbound


def test_the_case_ran_through_every_step(driven) -> None:
    agent, _, ref = driven
    _, events, inbound, outbound = _records(agent, ref)
    kinds = [e.kind for e in events]
    for kind in ("opened", "stage", "deadline_passed", "response", "note", "resolved"):
        assert kind in kinds
    assert kinds.count("stage") == 2
    assert len(inbound) == 4
    assert {"escalation", "acknowledgment", "reminder", "escalated_notice",
            "response_received", "resolved"} <= {row.purpose for row in outbound}


def test_json_has_every_event_and_email_with_sender_recipients_and_time(driven) -> None:
    agent, tmp, ref = driven
    case, events, inbound, outbound = _records(agent, ref)
    with Session(agent.engine) as session:
        export = build_export(session, agent, ref.lower(), agent.clock.now())
    out = tmp / f"{ref}.json"
    write_export(agent, export, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["facts"]["ref"] == ref and data["facts"]["child_ref"] == "123456"
    assert data["facts"]["outcome"].startswith("Placement search started")
    assert data["facts"]["learning"] == "Placement plans need a named owner at the review."
    assert sorted(e["id"] for e in data["events"]) == sorted(e.id for e in events)
    by_id = {e["id"]: e for e in data["events"]}
    for event in events:
        assert datetime.fromisoformat(by_id[event.id]["at"]) == event.at
        assert by_id[event.id]["kind"] == event.kind
    stage_events = [e for e in data["events"] if e["kind"] == "stage"]
    assert all("deadline" in e["detail"] and e["detail"]["to"] for e in stage_events)

    mails = {(m["direction"], m["id"]): m for m in data["emails"]}
    assert len(mails) == len(inbound) + len(outbound)
    for row in inbound:
        mail = mails[("in", row.id)]
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert mail["sender"] == str(msg["From"])
        assert [a for _, a in getaddresses(mail["to"])] == [
            a for _, a in getaddresses([str(msg["To"])])]
        assert datetime.fromisoformat(mail["at"]) == row.received_at
        assert mail["text"]
    for row in outbound:
        mail = mails[("out", row.id)]
        addresses = [a.lower() for _, a in getaddresses(mail["to"] + mail["cc"])]
        assert addresses == row.recipients
        assert datetime.fromisoformat(mail["at"]) == row.created_at
        assert mail["sender"].endswith(f"<{agent.settings.agent.mailbox}>")
        assert mail["subject"].startswith(f"[{ref}]")
    reminder = next(m for m in data["emails"] if m["kind"] == "reminder")
    assert reminder["to"] == ["Tara Moss <tm1@example.test>"]
    assert len(data["timeline"]) == len(events) + len(inbound) + len(outbound)
    moments = [t["at"] for t in data["timeline"]]
    assert moments == sorted(moments, key=datetime.fromisoformat)


def test_html_shows_every_event_and_email(driven) -> None:
    agent, tmp, ref = driven
    _, events, inbound, outbound = _records(agent, ref)
    with Session(agent.engine) as session:
        export = build_export(session, agent, ref, agent.clock.now())
    out = tmp / f"{ref}.html"
    write_export(agent, export, out)
    html = out.read_text(encoding="utf-8")
    for event in events:
        assert f'id="event-{event.id}"' in html
    for row in inbound:
        assert f'id="email-in-{row.id}"' in html
    for row in outbound:
        assert f'id="email-out-{row.id}"' in html
    assert "Deadline: by end of Tuesday 29 December 2026" in html
    assert "Sean Mills &lt;sm1@example.test&gt;" in html
    assert "Placement plans need a named owner at the review." in html
    assert "<script" not in html


def test_pdf_printed_by_chromium(driven) -> None:
    if browser.find_chromium() is None:
        pytest.skip("Chromium is not installed (bash scripts/chromium.sh install)")
    agent, tmp, ref = driven
    with Session(agent.engine) as session:
        export = build_export(session, agent, ref, agent.clock.now())
    out = tmp / f"{ref}.pdf"
    write_export(agent, export, out)
    assert out.read_bytes()[:5] == b"%PDF-"


def test_unknown_case_and_format(driven) -> None:
    agent, tmp, _ = driven
    with Session(agent.engine) as session:
        with pytest.raises(ReportProblem, match="no case"):
            build_export(session, agent, "ESC-2026-9999", agent.clock.now())
        export = build_export(session, agent, "ESC-2026-0001", agent.clock.now())
    with pytest.raises(ReportProblem, match=".html, .pdf or .json"):
        write_export(agent, export, tmp / "case.docx")


def test_command_line(driven, monkeypatch) -> None:
    from mailagent.cli.main import app

    agent, tmp, ref = driven
    out = tmp / "cli" / "case.json"
    result = CliRunner().invoke(app, ["case", "export", ref, "--out", str(out), "--config",
                                      str(config_file(tmp))])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["facts"]["ref"] == ref
    monkeypatch.setenv("MAILAGENT_CHROMIUM", str(Path(tmp) / "no-such-browser"))
    result = CliRunner().invoke(app, ["case", "export", ref, "--out", str(tmp / "c.pdf"),
                                      "--config", str(config_file(tmp))])
    assert result.exit_code == 2
    assert "scripts/chromium.sh install" in result.output


def test_an_html_only_email_with_a_file_is_read_by_the_one_parser() -> None:
    from email.message import EmailMessage

    from mailagent.reports.export import _inbound_email

    mail = EmailMessage()
    mail["From"] = "=?utf-8?q?Si=C3=A2n_Lloyd?= <sian@example.test>"
    mail["To"] = "IRO Escalations <agent@example.test>, tm1@example.test"
    mail["Subject"] = "RE: [ESC-2026-0001]   the   plan"
    mail.set_content("<p>The search <b>starts</b> today.</p><script>alert(1)</script>"
                     "<p>Si&acirc;n</p>", subtype="html")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                        filename="placement-plan.pdf")
    row = Inbound(id=7, digest="d", source="s", source_uid="1", raw=mail.as_bytes(),
                  received_at=london(2026, 12, 31, 11, 15), status="processed")
    exported = _inbound_email(row)
    assert exported.sender == "Siân Lloyd <sian@example.test>"
    assert exported.to == ["IRO Escalations <agent@example.test>", "tm1@example.test"]
    assert exported.subject == "RE: [ESC-2026-0001] the plan"
    assert "The search starts today." in exported.text and "Siân" in exported.text
    assert "alert" not in exported.text and "<" not in exported.text
    assert exported.attachments == ["placement-plan.pdf"]

    broken = _inbound_email(Inbound(id=8, digest="e", source="s", source_uid="2",
                                    raw=b"\xff\xfe not an email", status="quarantined",
                                    received_at=london(2026, 12, 31, 12)))
    assert broken.id == 8 and broken.direction == "in"  # listed, never a crash


def test_what_could_not_be_read_is_listed_in_the_record_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    from mailagent.reports.export import _inbound_email

    raw = (b"From: Sian Lloyd <sian@example.test>\r\nTo: agent@example.test\r\n"
           b"Subject: RE: [ESC-2026-0001]\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nQWdyZWVk!!!\r\n")
    row = Inbound(id=9, digest="f", source="s", source_uid="3", raw=raw, status="processed",
                  received_at=london(2026, 12, 31, 12))
    with caplog.at_level("WARNING", logger="mailagent.reports.export"):
        exported = _inbound_email(row)
    assert exported.unread, "the parser's problems are listed in the record"
    assert [r.getMessage() for r in caplog.records] == [
        f"case export: email in #9 was not wholly readable ({len(exported.unread)} "
        "problem(s)); the record lists them"]
