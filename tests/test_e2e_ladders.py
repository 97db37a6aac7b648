"""Each shipped ladder walked end to end against the real Dovecot and SMTP servers.

The agent reads the shared mailbox agent@example.test over IMAP and sends through SMTP into
everyone's Dovecot INBOX. The IRO's tagged email and every reply are APPENDed to the agent's
INBOX as Outlook or Gmail would write them, and the clock moves day by day. After each
pass the test reads every INBOX the SMTP server delivered to and checks each new email:
To, CC, subject, deadline, threading and the headers that keep auto-replies away.

Who gets each stage's email is written out twice: once from the policy document (the
`*_POLICY` tables, with the sentence they come from), once from the ladder file. Both must
agree with each other and with the emails. Deadlines are worked out by hand from the
calendar (England and Wales bank holidays) and written as the emails write them.

Everyone the ladders reach in the example directory has a mailbox on the test server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.logs import PROTOCOL_LOGGERS, configure_logging
from mailagent.policy.ladder import Ladder
from mailagent.store.models import Case, Outbound
from tests.clients import gmail_new, gmail_reply, outlook_new, outlook_reply, parse
from tests.desk import ESCALATION, Desk, fields, html_of, text_of
from tests.support import MAILBOX, imap_source, london, smtp_transport

# Production runs on PostgreSQL: every walk here runs on SQLite and on PostgreSQL.
pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("each_database")]

IRENE = "Irene Reed <iro1@example.test>"
IVAN = "Ivan Rowe <iro2@example.test>"
CHILD_NAME = "Amelia"  # in the IRO's subject and text: never in a subject the agent writes
CHILD_REF = "123456"  # the child's record number: in the emails' text, never a subject

# Who holds each role for the North team in rules/directory.example.toml.
NORTH = {
    "social_worker": "sw1@example.test",
    "team_manager": "tm1@example.test",
    "service_manager": "sm1@example.test",
    "ops_manager": "sm1@example.test",
    "head_of_service": "hos1@example.test",
    "assistant_director": "ad1@example.test",
    "iro_manager": "manager@example.test",
    "hos_safeguarding_qa": "hosqa@example.test",
    "safeguarding_service_manager": "ssm@example.test",
    "principal_officer_rep": "po1@example.test",
    "deputy_director": "dd1@example.test",
    "director": "dcs@example.test",
    "operational_director": "od1@example.test",
    "strategic_director": "sd1@example.test",
    "chief_executive": "ceo@example.test",
}


@dataclass(frozen=True)
class Row:
    """One stage in a policy: to whom it is sent, who is copied, who is told separately."""

    to: str
    cc: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()


# "Quality Assurance Process - Positive Challenge and Formal Escalation" (Leicestershire).
LEICESTERSHIRE_POLICY = {
    # "addressed with the Social Worker and/or their Team Manager"
    "positive_challenge": Row("social_worker", ("team_manager",)),
    # "sent to the relevant Team Manager and Social Worker"; the IRO's own manager "is kept
    # fully informed throughout the Formal Process"
    "stage_1": Row("team_manager", ("social_worker",), ("iro_manager",)),
    # "sent to the relevant Service Manager. The Service Manager and Team Manager should be
    # notified ... the Team Manager and Social Worker should be notified of the response"
    "stage_2": Row("service_manager", ("team_manager",), ("social_worker", "iro_manager")),
    # "The Head of Service, Service Manager and Team Manager should be notified by email. The
    # Service Manager for the Safeguarding and Performance Service should also be notified"
    "stage_3": Row("head_of_service", ("service_manager", "team_manager"),
                   ("safeguarding_service_manager", "iro_manager")),
    # "The Assistant Director, Head of Service, the Service Manager and Team Manager should be
    # notified by email", and the Safeguarding and Performance Service Manager
    "stage_4": Row("assistant_director", ("head_of_service", "service_manager", "team_manager"),
                   ("safeguarding_service_manager", "iro_manager")),
}

# "Escalation Process for IROs" (Brent, Issue 2, July 2018); at each stage "the IRO should
# have a discussion with the Team manager for the IROs".
BRENT_POLICY = {
    # "discuss the concern with the allocated Social Worker ... copied to the team manager"
    "informal": Row("social_worker", ("team_manager",)),
    # "discuss this with the team manager ... The team manager has 3 working days"
    "team_manager": Row("team_manager", (), ("iro_manager",)),
    # "raise the concerns in writing with the relevant Service Manager and the Review,
    # Engagement & Participation Principal Officer"
    "service_manager": Row("service_manager", ("principal_officer_rep",), ("iro_manager",)),
    # "The Head of Service has 10 working days ... copied to the ... Principal Officer"
    "head_of_service": Row("head_of_service", ("principal_officer_rep",), ("iro_manager",)),
    # "progress any dispute above Service Manager to the Head of service for Safeguarding &
    # Quality Assurance"
    "hos_safeguarding_qa": Row("hos_safeguarding_qa", ("principal_officer_rep",),
                               ("iro_manager",)),
    # "The Operational Director, Strategic Director, Chief executive ... can be contacted"
    "operational_director": Row("operational_director", ("principal_officer_rep",),
                                ("iro_manager",)),
    "strategic_director": Row("strategic_director", ("principal_officer_rep",),
                              ("iro_manager",)),
    "chief_executive": Row("chief_executive", ("principal_officer_rep",), ("iro_manager",)),
}

# "Quality Assurance Issue Resolution and Dispute Policy", Appendix A, column "To / CC".
QA_POLICY = {
    "informal": Row("social_worker", ("team_manager",)),
    "formal": Row("team_manager", ("social_worker",)),
    "dispute_1": Row("ops_manager", ("team_manager",)),
    "dispute_2": Row("head_of_service", ("team_manager", "ops_manager")),
    "dispute_3": Row("deputy_director", ("team_manager", "ops_manager", "head_of_service")),
    "dispute_4": Row("director", ("team_manager", "ops_manager", "head_of_service",
                                  "deputy_director")),
}


# -- reading what arrived --------------------------------------------------------------------


@dataclass
class Arrival:
    """One email the agent sent, with the INBOXes it reached."""

    raw: bytes
    msg: EmailMessage
    inboxes: set[str] = field(default_factory=set)

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    def header(self, name: str) -> set[str]:
        return {a.lower() for _, a in getaddresses([str(self.msg.get(name, ""))]) if a}

    def __repr__(self) -> str:
        return f"<{self.subject!r} to={sorted(self.header('To'))} cc={sorted(self.header('Cc'))}>"


@dataclass(frozen=True)
class Expect:
    """An email the step must produce."""

    subject: str
    to: set[str]
    cc: set[str] = frozenset()  # type: ignore[assignment]
    says: tuple[str, ...] = ()  # phrases in its text (the deadline, most often)
    notice: bool = False  # machine-sent notice: Auto-Submitted, no auto-replies wanted
    attachment: str | None = None


class Walk:
    """One case walked up a ladder: mail in, one pass at a given instant, mail checked."""

    def __init__(self, servers, desk: Desk, ladder: Ladder, policy: dict[str, Row]) -> None:  # type: ignore[no-untyped-def]
        self.servers, self.desk, self.ladder, self.policy = servers, desk, ladder, policy
        self.ref = ""
        self.root = ""
        self._envelopes = 0
        self._seen: dict[str, int] = {}

    def run(self, at: datetime, *incoming: bytes) -> list[Arrival]:
        """Put `incoming` in the shared mailbox (received at `at`), run one pass at `at`,
        return what arrived."""
        for raw in incoming:
            self.servers.deliver("agent", raw, at)
        self.desk.run(at)
        return self.arrived()

    def arrived(self) -> list[Arrival]:
        """Every new email in every INBOX the SMTP server delivered to since last time."""
        envelopes = self.servers.envelopes[self._envelopes:]
        self._envelopes += len(envelopes)
        users = sorted({r.lower() for e in envelopes for r in e.rcpt_tos})
        by_id: dict[str, Arrival] = {}
        for user in users:
            raws = self.servers.fetch_all(user)
            for raw in raws[self._seen.get(user, 0):]:
                msg = parse(raw)
                by_id.setdefault(str(msg["Message-ID"]), Arrival(raw, msg)).inboxes.add(user)
            self._seen[user] = len(raws)
        assert len(by_id) == len(envelopes), "each email the server accepted is in the INBOXes"
        return list(by_id.values())

    def check(self, arrivals: list[Arrival], *expected: Expect) -> dict[str, Arrival]:
        """The step produced exactly `expected`; returns them by subject+To for replying."""
        def key(subject: str, to: set[str]) -> tuple[str, tuple[str, ...]]:
            return subject, tuple(sorted(to))

        got = {key(a.subject, a.header("To")): a for a in arrivals}
        assert len(got) == len(arrivals), f"two emails alike: {arrivals}"
        want = {key(e.subject, e.to): e for e in expected}
        assert sorted(got) == sorted(want), f"\n got: {sorted(got)}\nwant: {sorted(want)}"
        for k, e in want.items():
            self._check_one(got[k], e)
        return {k[0] + " -> " + ",".join(k[1]): v for k, v in got.items()}

    def _check_one(self, a: Arrival, e: Expect) -> None:
        assert a.header("Cc") == set(e.cc), f"{a.subject}: Cc {a.header('Cc')} != {e.cc}"
        users = set(self.servers.users)
        assert a.inboxes == (set(e.to) | set(e.cc)) & users, a
        msg = a.msg
        assert a.subject.startswith(f"[{self.ref}] ")
        # A subject shows on lock screens and in mail traces: no child is named in it.
        assert CHILD_NAME.lower() not in a.subject.lower() and CHILD_REF not in a.subject
        assert getaddresses([str(msg["From"])])[0][1] == MAILBOX
        assert str(msg["Reply-To"]) == MAILBOX
        assert str(msg["In-Reply-To"]) == self.root
        assert self.root in str(msg["References"]).split()
        text, html = text_of(msg), html_of(msg)
        # One marker: ours. Quoted history from a reply would bring a second.
        assert text.count(f"[ma:{self.ref}]") == 1, text
        assert "<style" not in html.lower() and 'style="' in html  # inlined for Outlook
        for phrase in e.says:
            assert phrase in text, f"{a.subject}: {phrase!r} not in\n{text}"
        if e.notice:
            assert msg["Auto-Submitted"] == "auto-generated", a.subject
            assert msg["X-Auto-Response-Suppress"] == "All", a.subject
        else:
            assert msg["Auto-Submitted"] is None, a.subject
        files = [p.get_filename() for p in msg.iter_attachments()]
        assert files == ([e.attachment] if e.attachment else []), files

    # the policy, the ladder file and the directory -------------------------------------------

    def people(self, stage_id: str) -> tuple[set[str], set[str], set[str]]:
        """To, CC and the separately told for a stage, from the policy; asserts that the
        ladder file says the same. The IRO is copied on every stage's email."""
        row = self.policy[stage_id]
        stage = self.ladder.stage(stage_id)
        assert (stage.to, stage.cc, stage.notify) == (row.to, row.cc, row.notify), stage_id
        return ({NORTH[row.to]}, {NORTH[r] for r in row.cc},
                {NORTH[r] for r in row.notify})

    def stage_emails(self, stage_id: str, iro: str, deadline: str, *,
                     subject_kind: str = "Escalation", short: str,
                     attachment: str | None = None) -> list[Expect]:
        """The stage's email, and the same to those the ladder tells separately."""
        to, cc, notify = self.people(stage_id)
        name = self.ladder.stage(stage_id).name
        subject = (f"[{self.ref}] {name}: {subject_kind}, "
                   f"response by {short}")
        says = (f"Please respond by end of {deadline}.", "just reply to this email",
                "The placement plan agreed at the review on 3 December has not been started.")
        emails = [Expect(subject, to, cc | {iro}, says, attachment=attachment)]
        if notify:
            emails.append(Expect(subject, notify, set(), says, notice=True,
                                 attachment=attachment))
        return emails

    def escalated_notice(self, stage_id: str, previous: str, iro: str, deadline: str,
                         *, automatic: bool) -> Expect:
        to, cc, _ = self.people(previous)
        name = self.ladder.stage(stage_id).name
        why = "escalated automatically" if automatic else "has escalated"
        return Expect(f"[{self.ref}] Escalated to {name}", {iro}, to | cc,
                      (why, f"Response due:        by end of {deadline}"), notice=True)

    def response(self, iro: str, who: str, words: str, decide_by: str) -> Expect:
        return Expect(f"[{self.ref}] Response received from {who}: please decide", {iro},
                      set(), (words, f"Please decide by end of {decide_by}.", "#resolved"),
                      notice=True)

    def reminder(self, stage_id: str, iro: str, deadline: str, short: str) -> Expect:
        to, _, _ = self.people(stage_id)
        name = self.ladder.stage(stage_id).name
        return Expect(f"[{self.ref}] Reminder: response due by {short} ({name})", to, {iro},
                      (f"by end of {deadline}",), notice=True)

    def overdue(self, stage_id: str, iro: str, deadline: str) -> Expect:
        name = self.ladder.stage(stage_id).name
        return Expect(f"[{self.ref}] No response by the deadline at {name}", {iro},
                      {NORTH["iro_manager"]}, (f"by end of {deadline} ({name})",), notice=True)

    def resolved(self, stage_id: str, iro: str, *says: str) -> Expect:
        to, cc, notify = self.people(stage_id)
        name = self.ladder.stage(stage_id).name
        return Expect(f"[{self.ref}] Resolved at {name}", to, cc | notify | {iro}, says,
                      notice=True)

    def opened(self, arrivals: list[Arrival], tagged: bytes) -> None:
        """Learn the case's reference and thread root from the first pass."""
        self.root = str(parse(tagged)["Message-ID"]).strip()
        self.ref = next(a.subject for a in arrivals).split("]")[0].lstrip("[")

    def case(self) -> Case:
        return self.desk.case(self.ref)


def find(emails: dict[str, Arrival], start: str) -> Arrival:
    """The arrival whose "subject -> to" key starts with `start`."""
    (found,) = [a for k, a in emails.items() if k.startswith(start)]
    return found


@pytest.fixture
def walk_for(mailboxes, tmp_path: Path, monkeypatch) -> Iterator:  # type: ignore[no-untyped-def]
    """Build a Walk for a council, its agent on the real servers, closed afterwards."""
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    desks: list[Desk] = []

    def build(council: str, at: datetime, policy: dict[str, Row]) -> Walk:
        desk = Desk(tmp_path, at, council=council, source=imap_source(mailboxes),
                    transport=smtp_transport(mailboxes))
        desks.append(desk)
        return Walk(mailboxes, desk, desk.agent.rules.ladders[council], policy)

    yield build
    for desk in desks:
        desk.close()


# -- Privacy: what the agent logged during each walk -----------------------------------------

# The child's record number and name, and words from the emails' bodies.
SENSITIVE = (CHILD_NAME, CHILD_REF, "placement plan agreed", "unsuitable placement",
             "missed school", "placement search")


@pytest.fixture(autouse=True)
def logs_name_no_child(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Each walk runs with the agent's own logging at DEBUG; after it, the log is grepped
    for the child's record number, name and the emails' text: none may appear."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in PROTOCOL_LOGGERS}
    configure_logging("DEBUG")
    try:
        yield
        logged = capsys.readouterr().err
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert "inbound" in logged  # the walk did log
    found = [word for word in SENSITIVE if word.lower() in logged.lower()]
    assert found == [], f"the log names {found}"


# -- Leicestershire -------------------------------------------------------------------------


def test_leicestershire_from_positive_challenge_to_resolution(walk_for) -> None:  # type: ignore[no-untyped-def]
    walk = walk_for("leicestershire", london(2026, 11, 2, 9, 40), LEICESTERSHIRE_POLICY)
    iro = "iro1@example.test"
    # Monday 2 November: a positive challenge, 5 working days ("The Team have 5 days").
    tagged = outlook_new(IRENE, f"[CHALLENGE] {CHILD_NAME} J: placement plan not started",
                         ESCALATION, at=london(2026, 11, 2, 9, 40))
    arrivals = walk.run(london(2026, 11, 2, 9, 45), tagged)
    walk.opened(arrivals, tagged)
    assert walk.ref == "PC-2026-0001"
    mail = walk.check(
        arrivals,
        *walk.stage_emails("positive_challenge", iro, "Monday 9 November 2026",
                           subject_kind="Positive challenge", short="Mon 9 Nov"),
        Expect(f"[{walk.ref}] Received: Positive challenge is at "
               "Positive Challenge", {iro},
               says=("Sent to:             Sam Walker (social worker)",
                     "Copied to:           Tara Moss (team manager)",
                     "Response due:        by end of Monday 9 November 2026",
                     "#escalate to <stage>", "#resolved"), notice=True),
    )
    assert "informally" in text_of(find(mail, f"[{walk.ref}] Positive Challenge").msg)
    # Friday 6 November, 09:00: the working day before the deadline.
    walk.check(walk.run(london(2026, 11, 6, 9, 0)),
               walk.reminder("positive_challenge", iro, "Monday 9 November 2026", "Mon 9 Nov"))
    # No response: at midnight the deadline has passed, but the IRO hears in working hours.
    assert walk.run(london(2026, 11, 10, 0, 0)) == []
    mail = walk.check(walk.run(london(2026, 11, 10, 9, 0)),
                      walk.overdue("positive_challenge", iro, "Monday 9 November 2026"))
    overdue = find(mail, f"[{walk.ref}] No response")
    # The IRO goes to Formal Escalation from Gmail: stage one, 5 working days from Tuesday.
    mail = walk.check(
        walk.run(london(2026, 11, 10, 11, 5), gmail_reply(
            overdue.raw, IRENE, "No response from the team.\n\n#escalate\n\nIrene",
            at=london(2026, 11, 10, 11))),
        *walk.stage_emails("stage_1", iro, "Tuesday 17 November 2026", short="Tue 17 Nov"),
        walk.escalated_notice("stage_1", "positive_challenge", iro, "Tuesday 17 November 2026",
                              automatic=False),
    )
    stage_1 = find(mail, f"[{walk.ref}] Stage One - Team Manager: Escalation, "
                         "response by Tue 17 Nov -> tm1")
    assert "Opened at Positive Challenge" in text_of(stage_1.msg)  # the history came along
    # Thursday: the Team Manager answers from Outlook (Reply All).
    mail = walk.check(
        walk.run(london(2026, 11, 12, 10, 5), outlook_reply(
            stage_1.raw, "Tara Moss <tm1@example.test>",
            "A placement search has been requested; panel is on 24 November.\n\nTara Moss\n"
            "Team Manager", at=london(2026, 11, 12, 10))),
        walk.response(iro, "Tara Moss", "panel is on 24 November", "Monday 16 November 2026"),
    )
    asked = find(mail, f"[{walk.ref}] Response received")
    # Friday: not enough; the IRO escalates from Outlook on the web.
    mail = walk.check(
        walk.run(london(2026, 11, 13, 9, 35), outlook_reply(
            asked.raw, IRENE, "#escalate", at=london(2026, 11, 13, 9, 30), web=True)),
        *walk.stage_emails("stage_2", iro, "Friday 20 November 2026", short="Fri 20 Nov"),
        walk.escalated_notice("stage_2", "stage_1", iro, "Friday 20 November 2026",
                              automatic=False),
    )
    walk.check(walk.run(london(2026, 11, 19, 9, 0)),
               walk.reminder("stage_2", iro, "Friday 20 November 2026", "Fri 20 Nov"))
    # No response from the Service Manager: escalated automatically, but not at midnight on
    # Saturday: on Monday at 09:00, with Monday as day 0 of the new stage.
    assert walk.run(london(2026, 11, 21, 0, 0)) == []
    assert walk.case().stage_id == "stage_3"
    mail = walk.check(
        walk.run(london(2026, 11, 23, 9, 0)),
        *walk.stage_emails("stage_3", iro, "Monday 30 November 2026", short="Mon 30 Nov"),
        walk.escalated_notice("stage_3", "stage_2", iro, "Monday 30 November 2026",
                              automatic=True),
    )
    stage_3 = find(mail, f"[{walk.ref}] Stage Three - Head of Service: Escalation, "
                         "response by Mon 30 Nov -> hos1")
    history = text_of(stage_3.msg)
    for event in ("Opened at Positive Challenge", "Escalated by the IRO to Stage One",
                  "Response from Tara Moss", "Escalated by the IRO to Stage Two",
                  "Escalated automatically to Stage Three"):
        assert event in history
    # The Head of Service answers from Gmail; the IRO escalates to the Assistant Director.
    mail = walk.check(
        walk.run(london(2026, 11, 24, 14, 5), gmail_reply(
            stage_3.raw, "Hannah Osei <hos1@example.test>",
            "I have asked the Service Manager to take this to panel.",
            at=london(2026, 11, 24, 14))),
        walk.response(iro, "Hannah Osei", "take this to panel", "Thursday 26 November 2026"),
    )
    asked = find(mail, f"[{walk.ref}] Response received")
    walk.check(
        walk.run(london(2026, 11, 25, 10, 5), gmail_reply(
            asked.raw, IRENE, "#escalate\nPanel is not soon enough for this child.",
            at=london(2026, 11, 25, 10))),
        *walk.stage_emails("stage_4", iro, "Wednesday 2 December 2026", short="Wed 2 Dec"),
        walk.escalated_notice("stage_4", "stage_3", iro, "Wednesday 2 December 2026",
                              automatic=False),
    )
    assert walk.case().stage_visit == 5
    mail = walk.check(walk.run(london(2026, 12, 1, 9, 0)),
                      walk.reminder("stage_4", iro, "Wednesday 2 December 2026", "Wed 2 Dec"))
    reminder = find(mail, f"[{walk.ref}] Reminder")
    # The Assistant Director answers the reminder from Outlook; the IRO is satisfied.
    mail = walk.check(
        walk.run(london(2026, 12, 2, 15, 5), outlook_reply(
            reminder.raw, "Adam Dale <ad1@example.test>",
            "An emergency placement is agreed from Monday.", at=london(2026, 12, 2, 15))),
        walk.response(iro, "Adam Dale", "emergency placement is agreed", "Friday 4 December 2026"),
    )
    asked = find(mail, f"[{walk.ref}] Response received")
    walk.check(
        walk.run(london(2026, 12, 3, 10, 5), outlook_reply(
            asked.raw, IRENE,
            "#resolved\nOutcome: The child moved to a suitable placement on 7 December.\n"
            "Learning: Placement plans need a named owner at the review.\n\nIrene",
            at=london(2026, 12, 3, 10))),
        walk.resolved("stage_4", iro, "Outcome: The child moved to a suitable placement on "
                      "7 December.", "Key learning points: Placement plans need a named owner"),
    )
    case = walk.case()
    assert (case.status, case.stage_id) == ("resolved", "stage_4")
    assert case.outcome == "The child moved to a suitable placement on 7 December."
    # Nothing more, ever.
    for at in (london(2026, 12, 4, 9), london(2026, 12, 10, 9), london(2027, 1, 11, 9)):
        assert walk.run(at) == []


# -- Brent ----------------------------------------------------------------------------------


def test_brent_from_informal_discussion_to_the_chief_executive(walk_for) -> None:  # type: ignore[no-untyped-def]
    walk = walk_for("brent", london(2027, 1, 11, 10), BRENT_POLICY)
    iro = "iro1@example.test"
    # Monday 11 January 2027: the IRO sets 3 working days ("clear expectations").
    tagged = gmail_new(IRENE, f"[CHALLENGE] {CHILD_NAME}: care plan not implemented",
                       fields(respond_by="3 working days"), at=london(2027, 1, 11, 10))
    arrivals = walk.run(london(2027, 1, 11, 10, 5), tagged)
    walk.opened(arrivals, tagged)
    walk.check(
        arrivals,
        *walk.stage_emails("informal", iro, "Thursday 14 January 2027",
                           subject_kind="Positive challenge", short="Thu 14 Jan"),
        Expect(f"[{walk.ref}] Received: Positive challenge is at Discussion "
               "with the social worker and supervisor", {iro},
               says=("Response due:        by end of Thursday 14 January 2027",), notice=True),
    )
    walk.check(walk.run(london(2027, 1, 13, 9, 0)),
               walk.reminder("informal", iro, "Thursday 14 January 2027", "Thu 14 Jan"))
    assert walk.run(london(2027, 1, 15, 0, 0)) == []
    mail = walk.check(walk.run(london(2027, 1, 15, 9, 0)),
                      walk.overdue("informal", iro, "Thursday 14 January 2027"))
    # Friday: the IRO escalates to the Team Manager (3 working days) from Outlook.
    mail = walk.check(
        walk.run(london(2027, 1, 15, 10, 5), outlook_reply(
            find(mail, f"[{walk.ref}] No response").raw, IRENE, "#escalate",
            at=london(2027, 1, 15, 10))),
        *walk.stage_emails("team_manager", iro, "Wednesday 20 January 2027", short="Wed 20 Jan"),
        walk.escalated_notice("team_manager", "informal", iro, "Wednesday 20 January 2027",
                              automatic=False),
    )
    walk.check(walk.run(london(2027, 1, 19, 9, 0)),
               walk.reminder("team_manager", iro, "Wednesday 20 January 2027", "Wed 20 Jan"))
    # No answer: the Service Manager (5 working days) from Thursday, 09:00.
    assert walk.run(london(2027, 1, 21, 0, 0)) == []
    mail = walk.check(
        walk.run(london(2027, 1, 21, 9, 0)),
        *walk.stage_emails("service_manager", iro, "Thursday 28 January 2027",
                           short="Thu 28 Jan"),
        walk.escalated_notice("service_manager", "team_manager", iro,
                              "Thursday 28 January 2027", automatic=True),
        # "... the Review, Engagement & Participation Principal Officer, who will acknowledge
        # the receipt of the complaint / Dispute and will inform the LAC review administrator"
        Expect(f"[{walk.ref}] Dispute at Service Manager: please acknowledge and record it",
               {"po1@example.test"}, {iro},
               says=("inform the LAC review administrator (BIBS)",
                     "Raised with Service Manager: Thursday 21 January 2027")),
    )
    stage = find(mail, f"[{walk.ref}] Service Manager: Escalation, "
                       "response by Thu 28 Jan -> sm1")
    # The Principal Officer acknowledges it: nothing more is asked of them.
    walk.check(walk.run(london(2027, 1, 22, 11, 5), outlook_reply(
        find(mail, f"[{walk.ref}] Dispute at Service Manager: please acknowledge and record "
                   "it -> po1@example.test").raw,
        "Priya Okafor <po1@example.test>", "Received; BIBS informed.", at=london(2027, 1, 22, 11))))
    mail = walk.check(
        walk.run(london(2027, 1, 22, 12, 5), outlook_reply(
            stage.raw, "Sean Mills <sm1@example.test>", "Funding is agreed in principle.",
            at=london(2027, 1, 22, 12))),
        walk.response(iro, "Sean Mills", "Funding is agreed in principle.",
                      "Tuesday 26 January 2027"),
    )
    mail = walk.check(
        walk.run(london(2027, 1, 25, 9, 5), gmail_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IRENE,
            "In principle is not enough.\n#escalate", at=london(2027, 1, 25, 9))),
        *walk.stage_emails("head_of_service", iro, "Monday 8 February 2027", short="Mon 8 Feb"),
        walk.escalated_notice("head_of_service", "service_manager", iro,
                              "Monday 8 February 2027", automatic=False),
    )
    walk.check(walk.run(london(2027, 2, 5, 9, 0)),
               walk.reminder("head_of_service", iro, "Monday 8 February 2027", "Mon 8 Feb"))
    # The Head of Service does not answer: "the Child's IRO and the Head of Service should
    # then discuss": the IRO and their manager are told, and the IRO decides.
    mail = walk.check(walk.run(london(2027, 2, 9, 9, 0)),
                      walk.overdue("head_of_service", iro, "Monday 8 February 2027"))
    # The IRO goes to the non-line senior manager, by name.
    mail = walk.check(
        walk.run(london(2027, 2, 9, 10, 5), gmail_reply(
            find(mail, f"[{walk.ref}] No response").raw, IRENE,
            "#escalate to Head of Service for Safeguarding & Quality Assurance",
            at=london(2027, 2, 9, 10))),
        *walk.stage_emails("hos_safeguarding_qa", iro, "Tuesday 23 February 2027",
                           short="Tue 23 Feb"),
        walk.escalated_notice("hos_safeguarding_qa", "head_of_service", iro,
                              "Tuesday 23 February 2027", automatic=False),
    )
    stage = find(mail, f"[{walk.ref}] Head of Service for Safeguarding & Quality Assurance: "
                       "Escalation, response by Tue 23 Feb -> hosqa")
    mail = walk.check(
        walk.run(london(2027, 2, 11, 16, 5), gmail_reply(
            stage.raw, "Helen Quayle <hosqa@example.test>", "I have written to the service.",
            at=london(2027, 2, 11, 16))),
        walk.response(iro, "Helen Quayle", "written to the service", "Monday 15 February 2027"),
    )
    mail = walk.check(
        walk.run(london(2027, 2, 12, 10, 5), outlook_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IRENE, "#escalate",
            at=london(2027, 2, 12, 10))),
        *walk.stage_emails("operational_director", iro, "Friday 26 February 2027",
                           short="Fri 26 Feb"),
        walk.escalated_notice("operational_director", "hos_safeguarding_qa", iro,
                              "Friday 26 February 2027", automatic=False),
    )
    stage = find(mail, f"[{walk.ref}] Operational Director: Escalation, "
                       "response by Fri 26 Feb -> od1")
    # Monday 15 February: the Operational Director answers, and the whole process (20
    # working days from Friday 15 January) ended on Friday 12 February.
    mail = walk.check(
        walk.run(london(2027, 2, 15, 11, 5), outlook_reply(
            stage.raw, "Olivia Dunn <od1@example.test>", "I am meeting the Head of Service.",
            at=london(2027, 2, 15, 11))),
        walk.response(iro, "Olivia Dunn", "meeting the Head of Service",
                      "Wednesday 17 February 2027"),
        Expect(f"[{walk.ref}] Whole-process limit passed (20 working days)",
               {NORTH["iro_manager"]}, {iro},
               ("the limit ended on Friday 12 February 2027", "It is now at Operational "
                "Director"), notice=True),
    )
    mail = walk.check(
        walk.run(london(2027, 2, 16, 9, 5), gmail_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IRENE, "#escalate",
            at=london(2027, 2, 16, 9))),
        *walk.stage_emails("strategic_director", iro, "Tuesday 2 March 2027", short="Tue 2 Mar"),
        walk.escalated_notice("strategic_director", "operational_director", iro,
                              "Tuesday 2 March 2027", automatic=False),
    )
    walk.check(walk.run(london(2027, 3, 1, 9, 0)),
               walk.reminder("strategic_director", iro, "Tuesday 2 March 2027", "Tue 2 Mar"))
    mail = walk.check(walk.run(london(2027, 3, 3, 9, 0)),
                      walk.overdue("strategic_director", iro, "Tuesday 2 March 2027"))
    mail = walk.check(
        walk.run(london(2027, 3, 3, 10, 5), outlook_reply(
            find(mail, f"[{walk.ref}] No response").raw, IRENE, "#escalate",
            at=london(2027, 3, 3, 10), web=True)),
        *walk.stage_emails("chief_executive", iro, "Wednesday 17 March 2027",
                           short="Wed 17 Mar"),
        walk.escalated_notice("chief_executive", "strategic_director", iro,
                              "Wednesday 17 March 2027", automatic=False),
    )
    stage = find(mail, f"[{walk.ref}] Chief Executive: Escalation, "
                       "response by Wed 17 Mar -> ceo")
    mail = walk.check(
        walk.run(london(2027, 3, 8, 12, 5), gmail_reply(
            stage.raw, "Catherine Evans <ceo@example.test>", "The plan will be funded in full.",
            at=london(2027, 3, 8, 12))),
        walk.response(iro, "Catherine Evans", "funded in full", "Wednesday 10 March 2027"),
    )
    walk.check(
        walk.run(london(2027, 3, 9, 9, 5), gmail_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IRENE,
            "#resolved\nOutcome: The care plan is funded and started.\n"
            "Learning: Funding decisions need a date.", at=london(2027, 3, 9, 9))),
        walk.resolved("chief_executive", iro, "Outcome: The care plan is funded and started."),
    )
    assert walk.case().status == "resolved"
    assert walk.run(london(2027, 3, 20, 9)) == []


# -- QA Issue Resolution and Dispute -------------------------------------------------------------


def test_qa_issue_resolution_from_informal_to_the_director(walk_for) -> None:  # type: ignore[no-untyped-def]
    walk = walk_for("qa-issue-resolution", london(2027, 3, 1, 10), QA_POLICY)
    iro = "iro2@example.test"
    # Monday 1 March 2027, a child protection plan: informal resolution, up to 10 days.
    tagged = outlook_new(IVAN, f"[CHALLENGE] {CHILD_NAME} - core group not held",
                         fields(plan="CP"), at=london(2027, 3, 1, 10))
    arrivals = walk.run(london(2027, 3, 1, 10, 5), tagged)
    walk.opened(arrivals, tagged)
    mail = walk.check(
        arrivals,
        *walk.stage_emails("informal", iro, "Monday 15 March 2027",
                           subject_kind="Positive challenge", short="Mon 15 Mar"),
        Expect(f"[{walk.ref}] Received: Positive challenge is at Informal "
               "Resolution", {iro}, says=("by end of Monday 15 March 2027",), notice=True),
    )
    stage = find(mail, f"[{walk.ref}] Informal Resolution")
    mail = walk.check(
        walk.run(london(2027, 3, 3, 12, 5), gmail_reply(
            stage.raw, "Sam Walker <sw1@example.test>", "The core group is booked for April.",
            at=london(2027, 3, 3, 12))),
        walk.response(iro, "Sam Walker", "booked for April", "Friday 5 March 2027"),
    )
    # Thursday 4 March: the IRO goes to the formal process (Team Manager, 5 days).
    mail = walk.check(
        walk.run(london(2027, 3, 4, 9, 5), outlook_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IVAN, "#escalate",
            at=london(2027, 3, 4, 9))),
        *walk.stage_emails("formal", iro, "Thursday 11 March 2027", short="Thu 11 Mar"),
        walk.escalated_notice("formal", "informal", iro, "Thursday 11 March 2027",
                              automatic=False),
    )
    walk.check(walk.run(london(2027, 3, 10, 9, 0)),
               walk.reminder("formal", iro, "Thursday 11 March 2027", "Thu 11 Mar"))
    # Silence, level by level: each deadline escalates to the next level at 09:00.
    assert walk.run(london(2027, 3, 12, 0, 0)) == []
    walk.check(
        walk.run(london(2027, 3, 12, 9, 0)),
        *walk.stage_emails("dispute_1", iro, "Friday 19 March 2027", short="Fri 19 Mar"),
        walk.escalated_notice("dispute_1", "formal", iro, "Friday 19 March 2027",
                              automatic=True),
    )
    walk.check(walk.run(london(2027, 3, 18, 9, 0)),
               walk.reminder("dispute_1", iro, "Friday 19 March 2027", "Fri 19 Mar"))
    assert walk.run(london(2027, 3, 20, 0, 0)) == []  # Saturday
    # Monday 22 March is day 0; Good Friday and Easter Monday are not counted.
    walk.check(
        walk.run(london(2027, 3, 22, 9, 0)),
        *walk.stage_emails("dispute_2", iro, "Wednesday 31 March 2027", short="Wed 31 Mar"),
        walk.escalated_notice("dispute_2", "dispute_1", iro, "Wednesday 31 March 2027",
                              automatic=True),
    )
    assert walk.run(london(2027, 3, 29, 9, 0)) == []  # Easter Monday: no reminder yet
    walk.check(walk.run(london(2027, 3, 30, 9, 0)),
               walk.reminder("dispute_2", iro, "Wednesday 31 March 2027", "Wed 31 Mar"))
    mail = walk.check(
        walk.run(london(2027, 4, 1, 9, 0)),
        *walk.stage_emails("dispute_3", iro, "Thursday 8 April 2027", short="Thu 8 Apr"),
        walk.escalated_notice("dispute_3", "dispute_2", iro, "Thursday 8 April 2027",
                              automatic=True),
    )
    stage = find(mail, f"[{walk.ref}] Formal Dispute Level 3 - Deputy Director: Escalation, "
                       "response by Thu 8 Apr -> dd1")
    # 20 working days from Thursday 4 March ended on Monday 5 April: the manager is told.
    walk.check(
        walk.run(london(2027, 4, 6, 9, 0)),
        Expect(f"[{walk.ref}] Whole-process limit passed (20 working days)",
               {NORTH["iro_manager"]}, {iro}, ("the limit ended on Monday 5 April 2027",),
               notice=True),
    )
    mail = walk.check(
        walk.run(london(2027, 4, 6, 11, 5), outlook_reply(
            stage.raw, "Diane Drew <dd1@example.test>", "I will raise it with the Director.",
            at=london(2027, 4, 6, 11))),
        walk.response(iro, "Diane Drew", "raise it with the Director", "Thursday 8 April 2027"),
    )
    # Level 4, the Director: "the Director's briefing note must also be completed".
    briefing = f"director-briefing-{walk.ref}.html"
    mail = walk.check(
        walk.run(london(2027, 4, 7, 9, 5), gmail_reply(
            find(mail, f"[{walk.ref}] Response received").raw, IVAN, "#escalate",
            at=london(2027, 4, 7, 9))),
        *walk.stage_emails("dispute_4", iro, "Wednesday 14 April 2027", short="Wed 14 Apr",
                           attachment=briefing),
        walk.escalated_notice("dispute_4", "dispute_3", iro, "Wednesday 14 April 2027",
                              automatic=False),
    )
    director = find(mail, f"[{walk.ref}] Formal Dispute Level 4")
    (note,) = director.msg.iter_attachments()
    assert "Case briefing for Deputy Director / DCS" in note.get_content()
    walk.check(walk.run(london(2027, 4, 13, 9, 0)),
               walk.reminder("dispute_4", iro, "Wednesday 14 April 2027", "Wed 14 Apr"))
    mail = walk.check(walk.run(london(2027, 4, 15, 9, 0)),
                      walk.overdue("dispute_4", iro, "Wednesday 14 April 2027"))
    # The IRO resolves it without the outcome: asked once for the policy's "Outcome of issue
    # requiring resolution" and "Key learning points", which come in a later reply.
    mail = walk.check(
        walk.run(london(2027, 4, 15, 10, 5), outlook_reply(
            find(mail, f"[{walk.ref}] No response").raw, IVAN, "#resolved",
            at=london(2027, 4, 15, 10))),
        walk.resolved("dispute_4", iro),
        Expect(f"[{walk.ref}] Please record the outcome and learning", {iro},
               says=("Outcome:", "Learning:"), notice=True),
        # 5.1: "the IRO/CPC and the social work team complete ... 'Key learning points'"
        Expect(f"[{walk.ref}] Resolved: the team's key learning points, please",
               {"tm1@example.test"}, {iro}, says=("'Key learning points'",)),
    )
    walk.check(walk.run(london(2027, 4, 16, 9, 5), gmail_reply(
        find(mail, f"[{walk.ref}] Please record").raw, IVAN,
        "Outcome: Core group held on 20 April.\nLearning: Book core groups at conference.",
        at=london(2027, 4, 16, 9))))
    case = walk.case()
    assert (case.status, case.outcome, case.learning) == (
        "resolved", "Core group held on 20 April.", "Book core groups at conference.")


# -- Christmas, and nobody answers ------------------------------------------------------------


def test_no_answer_escalates_on_the_right_working_day_across_christmas(walk_for) -> None:  # type: ignore[no-untyped-def]
    walk = walk_for("leicestershire", london(2026, 12, 18, 10), LEICESTERSHIRE_POLICY)
    iro = "iro1@example.test"
    # Friday 18 December 2026: 5 working days run to the end of Tuesday 29 December, as
    # Christmas Day (Friday) and the Boxing Day substitute (Monday 28th) do not count.
    tagged = outlook_new(IRENE, f"[ESCALATE] {CHILD_NAME}: placement plan not started",
                         ESCALATION, at=london(2026, 12, 18, 10))
    arrivals = walk.run(london(2026, 12, 18, 10, 5), tagged)
    walk.opened(arrivals, tagged)
    walk.check(
        arrivals,
        *walk.stage_emails("stage_1", iro, "Tuesday 29 December 2026", short="Tue 29 Dec"),
        Expect(f"[{walk.ref}] Received: Escalation is at Stage One - Team "
               "Manager", {iro}, says=("by end of Tuesday 29 December 2026",
                                       "Whole process due:   by end of Wednesday 20 January 2027"),
               notice=True),
    )
    walk.check(walk.run(london(2026, 12, 24, 9, 0)),
               walk.reminder("stage_1", iro, "Tuesday 29 December 2026", "Tue 29 Dec"))
    # Christmas, the bank holiday and the substitute day: nothing happens.
    for at in (london(2026, 12, 25, 9), london(2026, 12, 28, 9), london(2026, 12, 29, 23, 59)):
        assert walk.run(at) == []
    # Midnight: the deadline has passed and the case moves, but nothing is sent until 09:00.
    assert walk.run(london(2026, 12, 30, 0, 0)) == []
    queued = _outbox(walk)
    assert walk.case().stage_id == "stage_2"
    assert walk.run(london(2026, 12, 30, 0, 0)) == []  # the same instant again: nothing new
    assert _outbox(walk) == queued
    assert walk.run(london(2026, 12, 30, 8, 59)) == []
    # 5 working days from Wednesday 30 December, skipping New Year's Day.
    walk.check(
        walk.run(london(2026, 12, 30, 9, 0)),
        *walk.stage_emails("stage_2", iro, "Thursday 7 January 2027", short="Thu 7 Jan"),
        walk.escalated_notice("stage_2", "stage_1", iro, "Thursday 7 January 2027",
                              automatic=True),
    )
    # The agent is down from New Year's Eve until Friday 15 January: stage two's reminder
    # and deadline pass unseen. It catches up once: one escalation, from now (the Head of
    # Service hears today, so their 5 days start today), and no stale reminder.
    walk.check(
        walk.run(london(2027, 1, 15, 10, 0)),
        *walk.stage_emails("stage_3", iro, "Friday 22 January 2027", short="Fri 22 Jan"),
        walk.escalated_notice("stage_3", "stage_2", iro, "Friday 22 January 2027",
                              automatic=True),
    )
    assert walk.run(london(2027, 1, 15, 10, 0)) == []
    # Down again for a week: the same again, one stage.
    walk.check(
        walk.run(london(2027, 1, 29, 10, 0)),
        *walk.stage_emails("stage_4", iro, "Friday 5 February 2027", short="Fri 5 Feb"),
        walk.escalated_notice("stage_4", "stage_3", iro, "Friday 5 February 2027",
                              automatic=True),
        # 20 working days from Friday 18 December ended on Wednesday 20 January.
        Expect(f"[{walk.ref}] Whole-process limit passed (20 working days)",
               {NORTH["iro_manager"], NORTH["safeguarding_service_manager"]}, {iro},
               ("the limit ended on Wednesday 20 January 2027",), notice=True),
    )
    # Stage four waits for the IRO when its time runs out: told once, however often the
    # sweep runs, and never escalated as well.
    walk.check(walk.run(london(2027, 2, 8, 9, 0)),
               walk.overdue("stage_4", iro, "Friday 5 February 2027"))
    for at in (london(2027, 2, 8, 9, 0), london(2027, 2, 9, 9), london(2027, 3, 1, 9)):
        assert walk.run(at) == []
    case = walk.case()
    assert (case.status, case.stage_id, case.stage_state) == ("open", "stage_4", "overdue")
    assert len(walk.desk.events("deadline_passed")) == 4


def _outbox(walk: Walk) -> list[tuple[str, str]]:
    with Session(walk.desk.agent.engine) as session:
        return [(r.dedupe_key, r.status) for r in session.exec(select(Outbound))]
