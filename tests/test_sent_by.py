"""A stage sent by someone other than the IRO (the IRO's manager, at higher tiers in some
councils): they are copied, and the email says it comes from them for the IRO."""

from __future__ import annotations

import shutil
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import Session, select

from mailagent.runners.pipeline import run_once
from mailagent.store.models import Outbound
from tests.support import ESCALATION_BODY, PROJECT_DIR, drop, london, make_agent


def test_a_stage_sent_by_the_iros_manager(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_DIR / "rules", rules)
    ladder = rules / "ladders" / "leicestershire.toml"
    text = ladder.read_text()
    stage_3 = text.index('id = "stage_3"')
    head, tail = text[:stage_3], text[stage_3:]
    ladder.write_text(head + tail.replace('sent_by = "iro"', 'sent_by = "iro_manager"', 1))
    agent, _ = make_agent(tmp_path, london(2026, 12, 1, 10), rules_dir=rules)
    try:
        drop(agent, "a.eml",
            b"From: Irene Reed <iro1@example.test>\r\nTo: agent@example.test\r\n"
            b"Subject: [ESCALATE] straight to the Head of Service\r\n"
            b"Message-ID: <sent-by@example.test>\r\n\r\n"
            + ("Stage: 3\n" + ESCALATION_BODY).encode()
        )
        run_once(agent)
        with Session(agent.engine) as session:
            row = session.exec(select(Outbound).where(Outbound.purpose == "escalation")).one()
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert "hos1@example.test" in str(msg["To"])
        assert "manager@example.test" in str(msg["Cc"])  # the sender is on the thread
        body = msg.get_body(("plain",)).get_content()
        assert "Mona Manning (iro manager), for Irene Reed" in " ".join(body.split())
    finally:
        agent.close()
