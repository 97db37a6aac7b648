"""The shipped ladders against their policies' tables.

Each test walks a ladder for a case on the example directory's North team (IRO iro1, social
worker sw1): every stage's To, CC and notification list, and its deadline when each stage runs
out and the case goes up at that moment. The dates were worked out by hand from the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mailagent.policy.directory import Directory, load_directory
from mailagent.policy.ladder import Ladder
from mailagent.policy.rules import RuleSet, load_rules
from mailagent.policy.workdays import WorkingCalendar

ROOT = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar()
IRO = "iro1@example.test"

SW, TM, SM, HOS, AD = (f"{r}1@example.test" for r in ("sw", "tm", "sm", "hos", "ad"))
IRO_MANAGER = "manager@example.test"
HOS_SQA, SAFEGUARDING_SM, REP = "hosqa@example.test", "ssm@example.test", "po1@example.test"
DD, DCS, OD, SD, CEO = (f"{r}@example.test" for r in ("dd1", "dcs", "od1", "sd1", "ceo"))


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(ROOT / "rules" / "directory.example.toml")


@dataclass(frozen=True)
class Step:
    stage: str
    to: list[str]
    cc: list[str]
    notify: list[str]
    due: date


def walk(
    ladder: Ladder,
    directory: Directory,
    opened_at: datetime,
    *,
    team: str = "north",
    iro_timescales: dict[str, int] | None = None,
) -> tuple[list[Step], datetime | None]:
    """Every stage from the first, each opened the moment the one before runs out.

    Returns the steps and the instant the whole-process limit runs out, counted from the
    first formal stage.
    """

    def emails(roles: tuple[str, ...]) -> list[str]:
        return [p.email for r in roles for p in directory.resolve(r, team=team, iro_email=IRO)]

    steps: list[Step] = []
    whole_process_end = None
    stage = ladder.first_stage
    at = opened_at
    while stage is not None:
        days = stage.timescale((iro_timescales or {}).get(stage.id))
        if stage.formal and whole_process_end is None and ladder.whole_process:
            whole_process_end = CAL.deadline(at, ladder.whole_process.working_days)
        steps.append(
            Step(
                stage.id,
                emails((stage.to,)),
                emails(stage.cc),
                emails(stage.notify),
                CAL.deadline_date(at, days),
            )
        )
        at = CAL.deadline(at, days)
        stage = ladder.next_stage(stage.id)
    return steps, whole_process_end


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- Leicestershire: over Christmas -------------------------------------------------------------


def test_leicestershire_over_christmas(rules: RuleSet, directory: Directory) -> None:
    ladder = rules.ladders["leicestershire"]
    steps, whole_process_end = walk(ladder, directory, utc(2026, 12, 7, 10, 0))
    assert steps == [
        # Day 0 Mon 7 Dec: "The Team have 5 days to respond".
        Step("positive_challenge", [SW], [TM], [], date(2026, 12, 14)),
        # Opened Tue 15 Dec. The IRO's manager is "kept fully informed throughout".
        Step("stage_1", [TM], [SW], [IRO_MANAGER], date(2026, 12, 22)),
        # Opened Wed 23 Dec: 24, 29, 30, 31 Dec and 4 Jan (25, 28 Dec and 1 Jan are off).
        Step("stage_2", [SM], [TM], [SW, IRO_MANAGER], date(2027, 1, 4)),
        Step("stage_3", [HOS], [SM, TM], [SAFEGUARDING_SM, IRO_MANAGER], date(2027, 1, 12)),
        Step("stage_4", [AD], [HOS, SM, TM], [SAFEGUARDING_SM, IRO_MANAGER], date(2027, 1, 20)),
    ]
    # 20 working days from Tue 15 Dec: Friday 15 January, during stage 4.
    assert whole_process_end == utc(2027, 1, 16, 0, 0)
    assert ladder.whole_process is not None and ladder.whole_process.starts_at == "formal"


def test_leicestershire_rules(rules: RuleSet) -> None:
    ladder = rules.ladders["leicestershire"]
    assert [s.id for s in ladder.bypass_stages()] == ["stage_1", "stage_2", "stage_3", "stage_4"]
    assert [s.working_days for s in ladder.stages] == [5, 5, 5, 5, 5]
    assert sum(s.timescale() for s in ladder.stages if s.formal) == 20
    assert [s.on_timeout for s in ladder.stages] == [
        "notify_and_wait", "escalate", "escalate", "escalate", "notify_and_wait"
    ]  # fmt: skip
    assert [s.flags.challenge_meeting for s in ladder.stages] == [False, False, False, True, True]
    assert ladder.first_stage.kind == "informal"
    assert not ladder.first_stage.iro_sets_timescale  # the five days are the team's
    assert ladder.cafcass is not None and ladder.cafcass.plan_types == ("LAC",)
    (meeting,) = ladder.cafcass.prerequisites
    assert meeting.action == "meeting"
    assert meeting.roles == ("assistant_director", "head_of_service", "hos_safeguarding_qa")
    assert ladder.plan_types == ("LAC", "CP")


# --- Brent: over the spring clock change and Easter ---------------------------------------------


def test_brent_over_the_clock_change_and_easter(rules: RuleSet, directory: Directory) -> None:
    ladder = rules.ladders["brent"]
    steps, whole_process_end = walk(ladder, directory, utc(2027, 3, 15, 14, 0))
    assert steps == [
        # Day 0 Mon 15 Mar (GMT). No figure in the policy: the most the council allows, 10.
        # Good Friday 26 Mar and Easter Monday 29 Mar are off; clocks go forward on 28 Mar.
        Step("informal", [SW], [TM], [], date(2027, 3, 31)),
        Step("team_manager", [TM], [], [IRO_MANAGER], date(2027, 4, 6)),
        Step("service_manager", [SM], [REP], [IRO_MANAGER], date(2027, 4, 14)),
        Step("head_of_service", [HOS], [REP], [IRO_MANAGER], date(2027, 4, 29)),
        # Opened Fri 30 Apr; Mon 3 May is the Early May bank holiday.
        Step("operational_director", [OD], [REP], [IRO_MANAGER], date(2027, 5, 17)),
        # Mon 31 May is the Spring bank holiday.
        Step("strategic_director", [SD], [REP], [IRO_MANAGER], date(2027, 6, 2)),
        Step("chief_executive", [CEO], [REP], [IRO_MANAGER], date(2027, 6, 17)),
    ]
    # From Thu 1 Apr (team manager's day 0), 20 working days: Thu 29 April, end of day BST.
    assert whole_process_end == utc(2027, 4, 29, 23, 0)


def test_brent_deadlines_are_local_midnight_either_side_of_the_change(rules: RuleSet) -> None:
    informal = rules.ladders["brent"].stage("informal")
    opened = utc(2027, 3, 15, 14, 0)
    # Opened in GMT, due in BST: the end of Wednesday 31 March is 23:00 UTC.
    assert CAL.deadline(opened, informal.timescale()) == utc(2027, 3, 31, 23, 0)
    # The IRO's own timescale, within the most allowed.
    assert CAL.deadline(opened, informal.timescale(3)) == utc(2027, 3, 19, 0, 0)
    with pytest.raises(ValueError, match="allows 0 to 10"):
        informal.timescale(11)


def test_brent_a_missing_service_manager_routes_to_the_head_of_service(
    rules: RuleSet, directory: Directory, tmp_path: Path
) -> None:
    ladder = rules.ladders["brent"]
    stage = ladder.stage("service_manager")
    assert stage.fallback_to == "head_of_service"
    # In the example the South team's Service Manager is away and her deputy stands in.
    (deputy,) = directory.resolve(stage.to, team="south")
    assert (deputy.email, deputy.acting_for) == (SM, "sm2@example.test")
    # With no one to stand in there is no Service Manager, and the case goes to the HoS.
    text = (ROOT / "rules" / "directory.example.toml").read_text()
    no_deputy = text.replace(
        "absent = true                        # on leave: her mail goes"
        ' to her deputy\ndeputy = "sm1@example.test"',
        "absent = true",
    )
    assert no_deputy != text
    (tmp_path / "directory.toml").write_text(no_deputy)
    without = load_directory(tmp_path / "directory.toml")
    assert without.resolve(stage.to, team="south") == []
    fallback = ladder.stage(stage.fallback_to)
    assert [p.email for p in without.resolve(fallback.to, team="south")] == [HOS]
    assert fallback.working_days == 10


def test_brent_rules(rules: RuleSet, directory: Directory) -> None:
    ladder = rules.ladders["brent"]
    assert ladder.plan_types == ("LAC",)
    assert [s.timescale() for s in ladder.stages[1:4]] == [3, 5, 10]
    # Above the Service Manager the IRO may also go to the non-line HoS for Safeguarding & QA.
    assert "hos_safeguarding_qa" in [s.id for s in ladder.bypass_stages()]
    sqa = ladder.stage("hos_safeguarding_qa")
    assert [p.email for p in directory.resolve(sqa.to)] == [HOS_SQA]
    assert sqa.cc == ("principal_officer_rep",)
    next_stage = ladder.next_stage("hos_safeguarding_qa")
    assert next_stage is not None and next_stage.id == "operational_director"
    assert ladder.next_stage("chief_executive") is None


# --- QA issue resolution: over the autumn clock change ------------------------------------------


def test_qa_policy_over_the_autumn_clock_change(rules: RuleSet, directory: Directory) -> None:
    ladder = rules.ladders["qa-issue-resolution"]
    # Day 0 Thu 1 Oct 2026 (BST); the IRO sets 5 working days for the informal stage.
    steps, whole_process_end = walk(
        ladder, directory, utc(2026, 10, 1, 9, 30), iro_timescales={"informal": 5}
    )
    assert steps == [
        Step("informal", [SW], [TM], [], date(2026, 10, 8)),
        Step("formal", [TM], [SW], [], date(2026, 10, 16)),
        # Opened Mon 19 Oct; clocks go back on Sunday 25 Oct.
        Step("dispute_1", [SM], [TM], [], date(2026, 10, 26)),
        Step("dispute_2", [HOS], [TM, SM], [], date(2026, 11, 3)),
        Step("dispute_3", [DD], [TM, SM, HOS], [], date(2026, 11, 11)),
        Step("dispute_4", [DCS], [TM, SM, HOS, DD], [], date(2026, 11, 19)),
    ]
    # 20 working days from Fri 9 Oct: Friday 6 November, end of day GMT.
    assert whole_process_end == utc(2026, 11, 7, 0, 0)
    # Dispute level 1 runs out at the end of Monday 26 October, now GMT.
    assert CAL.deadline(utc(2026, 10, 19, 9, 0), 5) == utc(2026, 10, 27, 0, 0)


def test_qa_policy_rules(rules: RuleSet) -> None:
    ladder = rules.ladders["qa-issue-resolution"]
    informal = ladder.first_stage
    assert informal.iro_sets_timescale and informal.timescale() == 10
    assert [s.flags.director_briefing for s in ladder.stages] == [False] * 5 + [True]
    assert ladder.template_for("dispute_4", "director_briefing") == "director_briefing"
    assert [s.id for s in ladder.bypass_stages()] == [
        "formal", "dispute_1", "dispute_2", "dispute_3", "dispute_4"
    ]  # fmt: skip
    assert ladder.cafcass is not None
    (notice,) = ladder.cafcass.prerequisites
    assert (notice.action, notice.roles) == ("notify", ("deputy_director",))
    assert len(ladder.cafcass.checklist) == 2
    with pytest.raises(ValueError, match="fixed timescale"):
        ladder.stage("formal").timescale(3)


# --- Collective alerts and commendations ----------------------------------------------------


def test_collective_alert_and_commendation_recipients(rules: RuleSet, directory: Directory) -> None:
    alert = rules.collective_alert
    assert [p.email for p in directory.resolve(alert.agreed_by)] == [IRO_MANAGER]
    assert [p.email for r in alert.shared_with for p in directory.resolve(r)] == [HOS_SQA]
    assert [p.email for r in alert.updates_to for p in directory.resolve(r)] == [
        "csmt@example.test", "corporate.parenting@example.test"
    ]  # fmt: skip
    praise = rules.commendation
    people = [p.email for r in (*praise.to, *praise.cc) for p in directory.resolve(r, team="north")]
    assert people == [SW, TM, "learning.academy@example.test", HOS, DCS]
