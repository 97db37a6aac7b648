"""Retention: `mailagent purge` removes raw mail and then case records on the schedule
`[retention]` sets, touches nothing open or unsent, logs counts only, and runs on SQLite
and PostgreSQL alike."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.runners.purge import purge
from mailagent.store.models import Case, CaseEvent, Inbound, Outbound
from mailagent.store.retention import months_before
from tests.clients import gmail_new, outlook_new, outlook_reply
from tests.desk import ESCALATION, IRO, Desk
from tests.support import london

OPENED = london(2026, 11, 2, 10)
RETENTION = {"raw_mail_months": 12, "case_record_months": 24}


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    options = {}
    if request.param == "postgresql":
        options["database"] = {"url": request.getfixturevalue("postgres_db_url")}
    desk = Desk(tmp_path, OPENED, retention=RETENTION, **options)
    yield desk
    desk.close()


def _close_one_and_leave_one_open(desk: Desk) -> None:
    """ESC-2026-0001 resolved on 3 November 2026; ESC-2026-0002 open; and a help email."""
    desk.receive(outlook_new(IRO, "[ESCALATE] Placement plan", ESCALATION, at=OPENED))
    desk.receive(outlook_new(IRO, "[ESCALATE] School move",
                             ESCALATION.replace("123456", "654321"), at=OPENED))
    desk.receive(gmail_new(IRO, "Quick question", "How do I escalate?", at=OPENED))
    desk.run(OPENED)
    first = next(s for s in desk.outbox() if s.purpose == "escalation")
    desk.receive(outlook_reply(first.row.raw, IRO, "#resolved", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    assert desk.case("ESC-2026-0001").status == "resolved"


def _rows(desk: Desk, table: type[Inbound] | type[Outbound]) -> list[Inbound | Outbound]:
    with Session(desk.agent.engine) as session:
        return list(session.exec(select(table)))


def _purge(desk: Desk, at: datetime, dry_run: bool = False) -> object:
    desk.clock.set(at)
    return purge(desk.agent, at, dry_run=dry_run)


def test_raw_mail_goes_a_year_after_closing_and_the_record_two_years_after(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    _close_one_and_leave_one_open(desk)
    closed = desk.case("ESC-2026-0001")
    # Eleven months on: nothing is due.
    assert str(_purge(desk, london(2027, 10, 2, 3))).startswith("raw mail removed from 0 ")
    # A year and a month on: a dry run counts and changes nothing.
    later = london(2027, 12, 4, 3)
    report = _purge(desk, later, dry_run=True)
    assert report.inbound_emptied == 3 and report.outbound_emptied >= 3  # the help email too
    assert all(row.purged_at is None for row in _rows(desk, Inbound) + _rows(desk, Outbound))
    with caplog.at_level(logging.INFO, logger="mailagent"):
        assert _purge(desk, later) == report
    emptied = [r for r in _rows(desk, Inbound) + _rows(desk, Outbound) if r.purged_at]
    assert len(emptied) == report.inbound_emptied + report.outbound_emptied
    assert all(r.raw == b"" for r in emptied)
    # The open case keeps every email; the closed one keeps its rows and timeline.
    assert all(r.raw and not r.purged_at for r in _rows(desk, Inbound) + _rows(desk, Outbound)
               if r.case_id not in (closed.id, None))
    assert desk.case("ESC-2026-0001").status == "resolved"
    # The log says how many, never which.
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.endswith("purge"))
    assert "raw mail removed from 3 received" in logged and "ESC-" not in logged
    # Again: nothing more (it is idempotent, as a daily job must be).
    assert _purge(desk, later).inbound_emptied == 0
    # Two years after closing, the record goes; the open case stays whole.
    report = _purge(desk, london(2028, 11, 4, 3))
    assert report.cases_deleted == 1
    with Session(desk.agent.engine) as session:
        refs = [c.ref for c in session.exec(select(Case))]
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == closed.id)).all()
    assert refs == ["ESC-2026-0002"] and events == []


def test_the_export_says_the_text_was_removed(desk: Desk, tmp_path: Path) -> None:
    from mailagent.reports.export import build_export

    _close_one_and_leave_one_open(desk)
    _purge(desk, london(2027, 12, 4, 3))
    with Session(desk.agent.engine) as session:
        export = build_export(session, desk.agent, "ESC-2026-0001", london(2027, 12, 4, 3))
    assert export.emails and all("retention schedule" in m.text for m in export.emails)


def test_months_are_calendar_months() -> None:
    assert months_before(london(2027, 3, 31, 12), 1) == london(2027, 2, 28, 12)
    assert months_before(london(2027, 1, 15, 12), 12) == london(2026, 1, 15, 12)
    assert months_before(london(2028, 2, 29, 1), 12) == london(2027, 2, 28, 1)


def test_purge_from_the_command_line(tmp_path: Path) -> None:
    """`mailagent purge --dry-run` and `purge`, at a pinned time, on a config file."""
    import subprocess
    import sys

    from tests.support import write_config

    config = write_config(tmp_path)
    (tmp_path / "mailbox").mkdir()
    (tmp_path / "mailbox" / "q.eml").write_bytes(
        gmail_new(IRO, "Quick question", "How do I escalate?", at=OPENED))
    script = ("import datetime, sys, time_machine; "
              "time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), "
              "tick=False).start(); sys.argv = ['mailagent', *sys.argv[2:]]; "
              "from mailagent.cli.main import main; main()")

    def mailagent(at: str, *args: str) -> str:
        return subprocess.run([sys.executable, "-c", script, at, "--config", str(config), *args],
                              capture_output=True, text=True, timeout=120, check=True).stdout

    mailagent("2026-11-02T10:00:00+00:00", "run", "--once")
    assert "would remove: raw mail removed from 1 received" in mailagent(
        "2027-11-03T03:00:00+00:00", "purge", "--dry-run")
    assert "removed: raw mail removed from 1 received" in mailagent(
        "2027-11-03T03:00:00+00:00", "purge")


def test_a_collective_alert_record_goes_with_everything_that_refers_to_it(desk: Desk) -> None:
    """The alert's own rows (its clock, replies naming inbound emails, actions, stand-ins)
    are removed in an order the database's foreign keys accept."""
    from mailagent.store.models import AlertAction, AlertReply, CollectiveAlert, StandIn

    closed = london(2026, 1, 5, 10)
    with Session(desk.agent.engine) as session:
        case = Case(ref="CA-2026-0001", kind="collective_alert", status="resolved",
                    iro_email="iro1@example.test", opened_at=closed, closed_at=closed)
        session.add(case)
        session.flush()
        mail = Inbound(digest="d" * 64, source="s", source_uid="1", raw=b"x", status="processed",
                       received_at=closed, case_id=case.id)
        session.add_all([mail, CollectiveAlert(case_id=case.id),
                         StandIn(case_id=case.id, stage_id="s", absent_email="a@example.test",
                                 deputy_email="b@example.test")])
        session.flush()
        session.add_all([
            AlertReply(alert_id=case.id, at=closed, author="hos1@example.test", step="response",
                       text="A plan.", inbound_id=mail.id),
            AlertAction(alert_id=case.id, number=1, text="Panel", added_at=closed,
                        added_by="hos1@example.test"),
            CaseEvent(case_id=case.id, at=closed, kind="opened", inbound_id=mail.id),
        ])
        session.commit()
    report = _purge(desk, london(2028, 2, 1, 3))
    assert report.cases_deleted == 1
    with Session(desk.agent.engine) as session:
        for table in (Case, CollectiveAlert, AlertReply, AlertAction, StandIn, Inbound):
            assert session.exec(select(table)).all() == [], table
