"""The benchmark harness's bulk seeding (bench/replicate.py) makes whole cases: each copy of
an agent-made case has its own reference, thread and participants, and the matcher finds it
by its thread. No figure is measured or asserted here (timing lives in bench/ only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bench.replicate import replicate
from bench.scale import build_template
from mailagent.cases.match import match_case
from mailagent.mail.references import references_for
from mailagent.policy.vocabulary import load_vocabulary
from mailagent.store.db import create_db_engine
from tests.support import PROJECT_DIR


def _scalar(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar() or 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.sqlite'}"
    return str(request.getfixturevalue("postgres_db_url"))


def test_copies_are_whole_cases_found_by_their_thread(database_url: str, tmp_path: Path
                                                      ) -> None:
    url = database_url
    build_template(url, tmp_path / "template", escalations=6)
    engine = create_db_engine(url)
    cases = _scalar(engine, 'SELECT count(*) FROM "case"')
    refs = _scalar(engine, "SELECT count(*) FROM message_ref")
    assert cases >= 6 and refs > cases

    rows = replicate(engine, copies=3)

    assert rows["case"] == 4 * cases
    assert rows["message_ref"] == 4 * refs
    assert _scalar(engine, 'SELECT count(DISTINCT ref) FROM "case"') == 4 * cases
    finder = references_for(load_vocabulary(PROJECT_DIR / "rules").ref_prefixes)
    with engine.connect() as conn:
        copied = conn.execute(sa.text(
            "SELECT m.message_id, c.id, c.ref, c.iro_email FROM message_ref m "
            'JOIN "case" c ON c.id = m.case_id WHERE m.direction = \'out\' '
            "ORDER BY c.id DESC LIMIT 5")).all()
    assert copied
    for message_id, case_id, ref, iro in copied:
        assert finder.find(f"[{ref}]") == ref  # still a reference the agent reads
        with Session(engine) as session:
            found = match_case(session, sender=iro, message_ids=[message_id], marker_ref=None,
                               subject_ref=None, conversation=None, child_ref=None)
        assert found is not None and found.case.id == case_id
    # New rows after the copies get fresh ids (PostgreSQL's sequences were moved on).
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO counter (name, value) VALUES ('bench-test', 1)"))
        new = conn.execute(sa.text(
            "INSERT INTO case_event (case_id, at, kind, detail) SELECT id, opened_at, 'note', "
            "'{}' FROM \"case\" ORDER BY id DESC LIMIT 1 RETURNING id")).scalar()
    assert new == _scalar(engine, "SELECT max(id) FROM case_event")
