"""Two agents sharing one PostgreSQL database race for the next case reference.

A council may run one agent per mailbox (IROs, CP chairs) on one database; each numbers its
cases from the same counter, under the counter row's lock (`SELECT ... FOR UPDATE`), which
only PostgreSQL enforces. Both agents start at one barrier on the year's first reference,
when there is not yet a row to lock (without an insert that waits for the other's, one of
them quarantined an escalation on a duplicate key), then keep opening cases side by side;
and three transactions hammer the counter directly (without the row lock two of them read
the same value and hand out one reference twice).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.app import Agent, build_agent
from mailagent.cases.timeline import next_ref
from mailagent.clock import FixedClock
from mailagent.runners.pipeline import PassReport, process_mailbox
from mailagent.store.db import create_db_engine, transaction, upgrade
from mailagent.store.models import Case, Inbound
from tests.desk import IRO, fields
from tests.support import email_bytes, london, make_settings

pytestmark = pytest.mark.postgres

NOW = london(2026, 12, 14, 10)
EACH = 12  # escalations per agent


def _agent(tmp: Path, name: str, url: str) -> Agent:
    folder = tmp / name
    folder.mkdir()
    source = {"kind": "maildir", "path": str(folder / "mailbox")}
    return build_agent(make_settings(folder, database_url=url, source=source),
                       clock=FixedClock(NOW))


def _side_by_side(*work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Run each callable in its own thread, all released at once; what each raised."""
    start = threading.Barrier(len(work))
    raised: list[BaseException] = []

    def run(job) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        try:
            job()
        except BaseException as exc:  # reported by the test
            raised.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return raised


def test_two_agents_opening_cases_at_once_never_share_a_reference(
    postgres_db_url: str, tmp_path: Path
) -> None:
    agents = [_agent(tmp_path, name, postgres_db_url) for name in ("iros", "chairs")]
    try:
        for n, agent in enumerate(agents):
            inbox = Path(agent.settings.source.path) / "new"  # type: ignore[union-attr]
            inbox.mkdir(parents=True, exist_ok=True)
            for i in range(EACH):
                child = 400000 + 100 * n + i
                (inbox / f"{i:03d}.eml").write_bytes(email_bytes(
                    sender=IRO, subject=f"[ESCALATE] Plan not progressed ({n}/{i})",
                    body=fields(child=str(child))))
        raised = _side_by_side(*(lambda a=a: process_mailbox(a, PassReport()) for a in agents))
        assert raised == []
        with Session(agents[0].engine) as session:
            refs = sorted(session.exec(select(Case.ref)).all())
            statuses = set(session.exec(select(Inbound.status)).all())
        assert statuses == {"processed"}  # none quarantined for a clash
        assert refs == [f"ESC-2026-{n:04d}" for n in range(1, 2 * EACH + 1)]
    finally:
        for agent in agents:
            agent.close()


def test_references_taken_at_once_are_never_the_same(
    postgres_db_url: str,
) -> None:
    engine = create_db_engine(postgres_db_url)
    upgrade(engine)
    taken: list[str] = []

    def take() -> None:
        for _ in range(20):
            with transaction(engine) as session:
                taken.append(next_ref(session, "ESC", 2027))

    try:
        assert _side_by_side(take, take, take) == []
    finally:
        engine.dispose()
    assert sorted(taken) == [f"ESC-2027-{n:04d}" for n in range(1, 61)]
