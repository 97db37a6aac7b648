"""`load_rules`, `check_rules` and the directory: the shipped files pass, broken copies fail
with one line per problem naming the file and the key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mailagent.policy import side_routes
from mailagent.policy.directory import Directory, load_directory
from mailagent.policy.ladder import TEMPLATE_PURPOSES
from mailagent.policy.rules import (
    CollectiveAlertTemplates,
    CommendationTemplates,
    check_rules,
    load_rules,
)
from mailagent.policy.schema import Problem, RulesError

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
TEMPLATES = ROOT / "templates"
EXAMPLE_DIRECTORY = RULES / "directory.example.toml"

TEMPLATE_NAMES = [
    *TEMPLATE_PURPOSES,
    *CollectiveAlertTemplates().model_dump().values(),
    *CommendationTemplates().model_dump().values(),
    *(name for model in (side_routes.ChallengeMeetingRoute, side_routes.LegalAdviceRoute,
                         side_routes.CafcassReferralSteps, side_routes.TrackingRoute,
                         side_routes.TeamLearningRoute) for name in model.TEMPLATES),
]


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name in TEMPLATE_NAMES:
        (folder / f"{name}.txt.j2").touch()
        (folder / f"{name}.html.j2").touch()
    return folder


@pytest.fixture
def directory() -> Directory:
    return load_directory(EXAMPLE_DIRECTORY)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file, which must be there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# --- The shipped rules -----------------------------------------------------------------------


def test_template_names_are_the_agreed_ones() -> None:
    assert TEMPLATE_NAMES == [
        "acknowledgment", "escalation", "reminder", "response_received", "decision_reminder",
        "overdue_notice", "escalated_notice", "resolved", "withdrawn", "extended", "paused",
        "resumed", "cafcass_referral", "director_briefing", "whole_process_breach",
        "collective_draft", "collective_comments", "collective_agreement", "collective_shared",
        "collective_raised", "collective_reply", "collective_followup",
        "collective_board_update", "collective_overdue", "collective_resolved",
        "collective_returned",
        "commendation", "commendation_ack",
        "challenge_meeting_notice", "legal_advice_notice", "cafcass_meeting_request",
        "cafcass_meeting_reminder", "cafcass_referred_notice", "tracking_request",
        "tracking_reminder", "team_learning_request",
    ]  # fmt: skip


def test_shipped_rules_load() -> None:
    rules = load_rules(RULES)
    assert set(rules.ladders) == {"leicestershire", "brent", "qa-issue-resolution"}
    assert rules.collective_alert.acknowledge_weeks == 2
    assert rules.collective_alert.response_weeks == 4
    assert rules.collective_alert.followup_every_weeks == 4
    assert rules.commendation.cc == (
        "team_manager",
        "learning_academy",
        "head_of_service",
        "director",
    )


def test_shipped_rules_pass_the_check(directory: Directory, templates_dir: Path) -> None:
    assert [str(p) for p in check_rules(RULES, directory, templates_dir)] == []


def test_shipped_rules_pass_against_the_real_templates(directory: Directory) -> None:
    assert [str(p) for p in check_rules(RULES, directory, TEMPLATES)] == []


def test_problem_reads_as_file_key_message() -> None:
    problem = Problem("rules/ladders/brent.toml", "stages[2].working_days", "must be >= 0")
    assert str(problem) == "rules/ladders/brent.toml: stages[2].working_days: must be >= 0"
    assert (
        str(Problem("rules/tags.toml", "", "file is missing")) == "rules/tags.toml: file is missing"
    )


# --- Broken copies: each ladder, each kind of break ---------------------------------------------

# (ladder file, index of the first `to = "team_manager"` stage, the `working_days = N` to make
# negative and its stage, the last stage and the first formal stage, to loop back to)
LADDERS = [
    ("leicestershire", 1, "working_days = 5", 0, 4, "stage_1"),
    ("brent", 1, "working_days = 5", 2, 7, "team_manager"),
    ("qa-issue-resolution", 1, "working_days = 5", 1, 5, "formal"),
]


@pytest.mark.parametrize(("ladder", "to_stage", "_wd", "_ws", "_last", "_first"), LADDERS)
def test_unknown_role(
    rules_copy: Path,
    directory: Directory,
    templates_dir: Path,
    ladder: str,
    to_stage: int,
    _wd: str,
    _ws: int,
    _last: int,
    _first: str,
) -> None:
    file = rules_copy / "ladders" / f"{ladder}.toml"
    edit(file, 'to = "team_manager"', 'to = "team_managr"')
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == [
        f"{file}: stages[{to_stage}].to: unknown role 'team_managr':"
        " the directory does not define it"
    ]


@pytest.mark.parametrize("ladder", [row[0] for row in LADDERS])
def test_missing_template(
    rules_copy: Path, directory: Directory, templates_dir: Path, ladder: str
) -> None:
    file = rules_copy / "ladders" / f"{ladder}.toml"
    # A ladder names only the templates it changes from the defaults.
    edit(file, "\n[[stages]]", '\n[templates]\nreminder = "reminder_v2"\n\n[[stages]]')
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == [
        f"{file}: templates.reminder: reminder_v2.txt.j2 and reminder_v2.html.j2"
        f" not in {templates_dir}"
    ]


def test_a_missing_html_half_is_reported(
    rules_copy: Path, directory: Directory, templates_dir: Path
) -> None:
    (templates_dir / "paused.html.j2").unlink()
    lines = [str(p) for p in check_rules(rules_copy, directory, templates_dir)]
    assert len(lines) == 3  # one per ladder
    assert lines[0] == (
        f"{rules_copy / 'ladders' / 'brent.toml'}: templates.paused:"
        f" paused.html.j2 not in {templates_dir}"
    )


@pytest.mark.parametrize(("ladder", "_to", "working_days", "stage", "_last", "_first"), LADDERS)
def test_negative_timescale(
    rules_copy: Path,
    directory: Directory,
    templates_dir: Path,
    ladder: str,
    _to: int,
    working_days: str,
    stage: int,
    _last: int,
    _first: str,
) -> None:
    file = rules_copy / "ladders" / f"{ladder}.toml"
    edit(file, working_days, working_days.replace("= ", "= -"))
    expected = [f"{file}: stages[{stage}].working_days: must be >= 0"]
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == expected
    with pytest.raises(RulesError) as raised:
        load_rules(rules_copy)
    assert [str(p) for p in raised.value.problems] == expected


def test_the_issue_example_line(rules_copy: Path) -> None:
    edit(rules_copy / "ladders" / "brent.toml", "working_days = 5", "working_days = -5")
    with pytest.raises(RulesError) as raised:
        load_rules(rules_copy)
    assert str(raised.value).endswith("ladders/brent.toml: stages[2].working_days: must be >= 0")


@pytest.mark.parametrize(("ladder", "_to", "_wd", "_ws", "last", "first_formal"), LADDERS)
def test_cycle(
    rules_copy: Path,
    directory: Directory,
    templates_dir: Path,
    ladder: str,
    _to: int,
    _wd: str,
    _ws: int,
    last: int,
    first_formal: str,
) -> None:
    file = rules_copy / "ladders" / f"{ladder}.toml"
    with file.open("a") as f:  # the last table in each file is its last stage
        f.write(f'next = "{first_formal}"\n')
    lines = [str(p) for p in check_rules(rules_copy, directory, templates_dir)]
    assert len(lines) == 1
    assert re.fullmatch(
        rf"{re.escape(str(file))}: stages\[{last}\]\.next: makes a loop: {first_formal} -> .*"
        rf" -> {first_formal}",
        lines[0],
    )
    with pytest.raises(RulesError):
        load_rules(rules_copy)


def test_unreachable_stage(rules_copy: Path, directory: Directory, templates_dir: Path) -> None:
    file = rules_copy / "ladders" / "brent.toml"
    edit(
        file, "decision_working_days = 2", 'decision_working_days = 2\nbypass = ["service_manager"]'
    )
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == [
        f"{file}: stages[4]: stage 'hos_safeguarding_qa' is never reached:"
        " no stage leads to it and it is not in bypass"
    ]


@pytest.mark.parametrize(
    ("ladder", "old", "new", "expected"),
    [
        ("leicestershire", "working_days = 5", "working_day = 5",
         "stages[0].working_day: unknown key"),
        ("leicestershire", 'policy = "', 'polcy = "x"\npolicy = "', "polcy: unknown key"),
        ("brent", 'on_timeout = "escalate"', 'on_timeout = "wait"',
         "stages[1].on_timeout: must be 'escalate' or 'notify_and_wait'"),
        ("brent", 'next = "operational_director"', 'next = "director"',
         "stages[3].next: no stage 'director'"),
        ("brent", 'fallback_to = "head_of_service"', 'fallback_to = "hos"',
         "stages[2].fallback_to: no stage 'hos'"),
        ("brent", 'id = "brent"', 'id = "brent-2018"', "id: must be the file's name, 'brent'"),
        ("brent", 'id = "team_manager"', 'id = "service_manager"',
         "stages[2].id: stages[1] has the same id"),
        ("brent", "working_days = 3\n", "\n", "stages[1].working_days: required unless"
         " max_working_days is set"),
        ("brent", "max_working_days = 10", "max_working_days = 10\nworking_days = 12",
         "stages[0].working_days: must not exceed max_working_days"),
        ("qa-issue-resolution", 'on_timeout = "notify_and_wait"\nflags',
         'on_timeout = "escalate"\nflags',
         "stages[5].on_timeout: escalate, but there is no next stage"),
        ("qa-issue-resolution", 'plan_types = ["LAC"]', 'plan_types = ["LAC", "CIN"]',
         "cafcass.plan_types[1]: must be 'LAC' or 'CP'"),
        ("qa-issue-resolution", 'to = "team_manager"', 'to = "Team Manager"',
         "stages[1].to: 'Team Manager' is not a role name: use lower-case letters, digits and _"),
        ("qa-issue-resolution", "\n[[stages]]", '\n[templates]\nremind = "reminder"\n[[stages]]',
         "templates.remind: unknown key"),
        ("qa-issue-resolution", 'flags = { director_briefing = true }',
         'flags = { director_brief = true }', "stages[5].flags.director_brief: unknown key"),
        ("qa-issue-resolution", 'name = "Formal Issue Resolution"\n', "\n",
         "stages[1].name: required, but missing"),
        ("qa-issue-resolution", "[[stages]]", "[[stages]\n", "not valid TOML: "),
        # The steps beside the ladder.
        ("brent", 'stages = ["service_manager"', 'stages = ["service_manger"',
         "tracking.stages[0]: no stage 'service_manger'"),
        ("qa-issue-resolution", 'from = "team_manager"', 'from = "Team Manager"',
         "team_learning.from: 'Team Manager' is not a role name"),
        ("leicestershire", "remind_working_days = 3", "remind_working_days = 0",
         "cafcass.referral.remind_working_days: must be >= 1"),
        ("leicestershire", '[challenge_meeting]\nnotify = ["safeguarding_service_manager"]',
         "[challenge_meeting]\nnotify = []", "challenge_meeting.notify: must not be empty"),
        ("leicestershire", "[legal_advice]\n", "[legal_advice]\nsources = []\n",
         "legal_advice.sources: unknown key"),
    ],
)  # fmt: skip
def test_other_breaks_name_the_file_and_key(
    rules_copy: Path,
    directory: Directory,
    templates_dir: Path,
    ladder: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    file = rules_copy / "ladders" / f"{ladder}.toml"
    edit(file, old, new)
    lines = [str(p) for p in check_rules(rules_copy, directory, templates_dir)]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{file}: {expected}")
    with pytest.raises(RulesError):
        load_rules(rules_copy)


@pytest.mark.parametrize(
    ("ladder", "old", "new", "key"),
    [
        ("brent", 'by = "principal_officer_rep"', 'by = "po"', "tracking.by"),
        ("leicestershire", 'notify = ["safeguarding_service_manager"]\ncc = ["iro_manager"]\n'
         'policy = "The IRO and', 'notify = ["sm"]\ncc = ["iro_manager"]\npolicy = "The IRO and',
         "challenge_meeting.notify[0]"),
        ("qa-issue-resolution", 'from = "team_manager"', 'from = "tm"', "team_learning.from"),
    ],
)  # fmt: skip
def test_steps_beside_the_ladder_name_known_roles(
    rules_copy: Path, directory: Directory, templates_dir: Path, ladder: str, old: str,
    new: str, key: str,
) -> None:
    """A role the directory does not define is found by `rules check` (the directory is
    not part of the rules, so loading them alone cannot know it)."""
    file = rules_copy / "ladders" / f"{ladder}.toml"
    edit(file, old, new)
    role = new.split('"')[1]
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == [
        f"{file}: {key}: unknown role {role!r}: the directory does not define it"
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("collective-alert.toml", 'agreed_by = "iro_team_manager"', 'agreed_by = "group_manager"',
         "agreed_by: unknown role 'group_manager': the directory does not define it"),
        ("collective-alert.toml", 'overdue = "collective_overdue"', 'overdue = "late"',
         "templates.overdue: late.txt.j2 and late.html.j2 not in"),
        ("collective-alert.toml", "acknowledge_weeks = 2", "acknowledge_weeks = -2",
         "acknowledge_weeks: must be >= 1"),
        ("collective-alert.toml", "response_weeks = 4", "response_weeks = 4\nresponse_days = 20",
         "response_days: unknown key"),
        ("commendation.toml", '"learning_academy"', '"academy"',
         "cc[1]: unknown role 'academy': the directory does not define it"),
        ("commendation.toml", '"commendation_ack"', '"thanks"',
         "templates.acknowledgment: thanks.txt.j2 and thanks.html.j2 not in"),
        ("commendation.toml", 'to = ["social_worker"]', "to = []", "to: must not be empty"),
    ],
)  # fmt: skip
def test_collective_alert_and_commendation_breaks(
    rules_copy: Path,
    directory: Directory,
    templates_dir: Path,
    file: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    edit(rules_copy / file, old, new)
    lines = [str(p) for p in check_rules(rules_copy, directory, templates_dir)]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{rules_copy / file}: {expected}")


@pytest.mark.parametrize("name", ["collective-alert.toml", "commendation.toml"])
def test_missing_file(rules_copy: Path, templates_dir: Path, name: str) -> None:
    (rules_copy / name).unlink()
    assert [str(p) for p in check_rules(rules_copy, None, templates_dir)] == [
        f"{rules_copy / name}: file is missing"
    ]


def test_no_ladders(rules_copy: Path, templates_dir: Path) -> None:
    shutil.rmtree(rules_copy / "ladders")
    assert [str(p) for p in check_rules(rules_copy, None, templates_dir)] == [
        f"{rules_copy / 'ladders'}: no ladder files (*.toml)"
    ]


def test_every_problem_is_reported_not_just_the_first(
    rules_copy: Path, directory: Directory, templates_dir: Path
) -> None:
    edit(rules_copy / "ladders" / "brent.toml", "\nworking_days = 3", "\nworking_days = -3")
    edit(rules_copy / "ladders" / "leicestershire.toml", 'to = "team_manager"', 'to = "tm"')
    edit(rules_copy / "commendation.toml", '"commendation_ack"', '"thanks"')
    lines = check_rules(rules_copy, directory, templates_dir)
    assert [(Path(p.file).name, p.key) for p in lines] == [
        ("brent.toml", "stages[1].working_days"),
        ("leicestershire.toml", "stages[1].to"),
        ("commendation.toml", "templates.acknowledgment"),
    ]


def test_roles_are_not_checked_without_a_directory(rules_copy: Path, templates_dir: Path) -> None:
    edit(rules_copy / "ladders" / "brent.toml", 'to = "team_manager"', 'to = "tm"')
    assert check_rules(rules_copy, None, templates_dir) == []


# --- The directory ------------------------------------------------------------------------------


def test_the_example_directory_holds_every_role_the_rules_use(directory: Directory) -> None:
    rules = load_rules(RULES)
    used = {
        role
        for ladder in rules.ladders.values()
        for stage in ladder.stages
        for role in (stage.to, *stage.cc, *stage.notify)
    }
    for team in ("north", "south"):
        for role in sorted(used):
            assert directory.resolve(role, team=team, iro_email="iro1@example.test"), (team, role)


def test_resolve(directory: Directory) -> None:
    def emails(role: str, **kw: str) -> list[str]:
        return [p.email for p in directory.resolve(role, **kw)]

    assert emails("team_manager", team="north") == ["tm1@example.test"]
    assert emails("team_manager", team="south") == ["tm2@example.test"]
    assert emails("director") == ["dcs@example.test"]
    assert emails("director", team="north") == ["dcs@example.test"]  # not a team role
    assert emails("iro", iro_email="IRO2@example.test") == ["iro2@example.test"]
    assert emails("iro_manager", iro_email="iro1@example.test") == ["manager@example.test"]
    assert emails("social_worker", team="north") == ["sw1@example.test"]
    assert emails("social_worker", team="north", social_worker_email="sw9@example.test") == [
        "sw9@example.test"
    ]
    assert emails("learning_academy") == ["learning.academy@example.test"]
    assert emails("team_manager") == []  # a team role, and no team given
    person = directory.resolve("head_of_service", team="north")[0]
    assert (person.name, person.role, person.team) == ("Hannah Osei", "head_of_service", "north")
    with pytest.raises(ValueError, match="no team 'west'"):
        directory.resolve("team_manager", team="west")


def test_lookups(directory: Directory) -> None:
    assert directory.is_iro("Iro1@Example.test")
    assert not directory.is_iro("tm1@example.test")
    person = directory.person_by_email("TM1@example.test")
    assert person is not None and person.name == "Tara Moss"
    assert directory.person_by_email("nobody@example.test") is None
    assert directory.team_of("sw2@example.test") == "south"
    assert directory.team_of("dcs@example.test") is None
    assert directory.teams() == {"north", "south"}
    assert {"iro", "iro_manager", "social_worker", "ops_manager", "csmt"} <= directory.roles()


def write_directory(tmp_path: Path, text: str, name: str = "directory.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


PEOPLE = """
[[people]]
name = "Ivy"
email = "iro1@example.test"

[[people]]
name = "Tara"
email = "tm1@example.test"
absent = {tm_absent}
deputy = "{tm_deputy}"

[[people]]
name = "Sean"
email = "sm1@example.test"
absent = {sm_absent}
deputy = "{sm_deputy}"

[[people]]
name = "Mo"
email = "manager@example.test"

[roles]
iro = "iro1@example.test"
iro_team_manager = "manager@example.test"

[teams.north.roles]
team_manager = "tm1@example.test"
service_manager = "sm1@example.test"
"""


def directory_with(tmp_path: Path, **kw: str) -> Directory:
    values = {"tm_absent": "false", "tm_deputy": "", "sm_absent": "false", "sm_deputy": ""}
    return load_directory(write_directory(tmp_path, PEOPLE.format(**values | kw)))


def test_an_absent_person_s_deputy_stands_in(tmp_path: Path) -> None:
    directory = directory_with(tmp_path, tm_absent="true", tm_deputy="sm1@example.test")
    (deputy,) = directory.resolve("team_manager", team="north")
    assert (deputy.email, deputy.role, deputy.acting_for) == (
        "sm1@example.test", "team_manager", "tm1@example.test"
    )  # fmt: skip


def test_the_deputy_s_deputy_stands_in_when_both_are_away(tmp_path: Path) -> None:
    directory = directory_with(
        tmp_path,
        tm_absent="true",
        tm_deputy="sm1@example.test",
        sm_absent="true",
        sm_deputy="manager@example.test",
    )
    assert [p.email for p in directory.resolve("team_manager", team="north")] == [
        "manager@example.test"
    ]


def test_an_absent_person_with_no_one_to_stand_in_holds_no_role(tmp_path: Path) -> None:
    directory = directory_with(tmp_path, sm_absent="true")
    assert directory.resolve("service_manager", team="north") == []
    looped = directory_with(
        tmp_path, tm_absent="true", tm_deputy="sm1@example.test",
        sm_absent="true", sm_deputy="tm1@example.test",
    )  # fmt: skip
    assert looped.resolve("team_manager", team="north") == []


def test_an_iro_without_a_manager_goes_to_the_iro_team_manager(tmp_path: Path) -> None:
    directory = directory_with(tmp_path)
    assert [p.email for p in directory.resolve("iro_manager", iro_email="iro1@example.test")] == [
        "manager@example.test"
    ]


def test_directory_problems_name_the_file_and_key(tmp_path: Path) -> None:
    path = write_directory(
        tmp_path,
        PEOPLE.format(
            tm_absent='"maybe"', tm_deputy="", sm_absent="false", sm_deputy="x@example.test"
        )
        + '\n[teams.south.roles]\nteam_manager = "tm9@example.test"\n',
    )
    with pytest.raises(RulesError) as raised:
        load_directory(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}: people[1].absent: Input should be a valid boolean, unable to interpret input"
    ]
    path.write_text(path.read_text().replace('absent = "maybe"', "absent = false"))
    with pytest.raises(RulesError) as raised:
        load_directory(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}: people[2].deputy: x@example.test is not in people",
        f"{path}: teams.south.roles.team_manager[0]: tm9@example.test is not in people",
    ]


CSV = """email,name,role,team,absent,deputy,manager
iro1@example.test,Ivy,iro,,,,manager@example.test
manager@example.test,Mo,iro_team_manager,,,,
sw1@example.test,Sam,social_worker,north,,,
tm1@example.test,Tara,team_manager,north,yes,sm1@example.test,
sm1@example.test,Sean,service_manager,north,,,
sm1@example.test,Sean,service_manager,south,,,
dcs@example.test,Carl,director,,,,
"""


def test_directory_from_a_csv_export(tmp_path: Path) -> None:
    directory = load_directory(write_directory(tmp_path, CSV, "people.csv"))
    assert directory.is_iro("iro1@example.test")
    assert directory.teams() == {"north", "south"}
    assert [p.email for p in directory.resolve("team_manager", team="north")] == [
        "sm1@example.test"  # Tara is away
    ]
    assert [p.email for p in directory.resolve("service_manager", team="south")] == [
        "sm1@example.test"
    ]
    assert [p.email for p in directory.resolve("iro_manager", iro_email="iro1@example.test")] == [
        "manager@example.test"
    ]
    assert [p.email for p in directory.resolve("director")] == ["dcs@example.test"]


def test_csv_problems_name_the_line(tmp_path: Path) -> None:
    text = (
        CSV.replace("north,yes,sm1", "north,perhaps,sm1").replace(
            "Sean,service_manager,south", "Shaun,service_manager,south"
        )
        + "x@example.test,X,director,,,nobody@example.test,\n"
    )
    path = write_directory(tmp_path, text, "people.csv")
    with pytest.raises(RulesError) as raised:
        load_directory(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}: line 5.absent: Input should be a valid boolean, unable to interpret input",
        f"{path}: line 7: sm1@example.test differs from an earlier row",
        f"{path}: line 9.deputy: nobody@example.test is not in people",
    ]


def test_csv_needs_its_columns(tmp_path: Path) -> None:
    path = write_directory(tmp_path, "email,name\nsw1@example.test,Sam\n", "people.csv")
    with pytest.raises(RulesError, match="missing columns: role, team, absent, deputy, manager"):
        load_directory(path)


def test_readme_documents_each_key_of_the_steps_beside_the_stages() -> None:
    """rules/README.md names every key a council may write in the steps' tables."""
    readme = (RULES / "README.md").read_text(encoding="utf-8")
    models = (side_routes.ChallengeMeetingRoute, side_routes.LegalAdviceRoute,
              side_routes.CafcassReferralSteps, side_routes.TrackingRoute,
              side_routes.TeamLearningRoute)
    for model in models:
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in readme, (model.__name__, name)
    for table in ("[challenge_meeting]", "[legal_advice]", "[cafcass.referral]", "[tracking]",
                  "[team_learning]"):
        assert f"`{table}`" in readme, table
    for command in ("#challenge-meeting", "#legal-advice", "#cafcass-meeting",
                    "#cafcass-referred"):
        assert f"| `{command}" in readme, command


def test_a_step_beside_the_stages_needs_its_templates(
    rules_copy: Path, directory: Directory, templates_dir: Path
) -> None:
    (templates_dir / "tracking_reminder.txt.j2").unlink()
    assert [str(p) for p in check_rules(rules_copy, directory, templates_dir)] == [
        f"{rules_copy / 'ladders' / 'brent.toml'}: tracking: tracking_reminder.txt.j2 not in "
        f"{templates_dir}"
    ]
