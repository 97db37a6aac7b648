"""What case logic may use: the council's rules and people, the calendar, the clock, the
templates and the settings. Not the database engine, the mailbox or the way mail is sent:
those stay with the runners, so a case step can only change the case, its timeline and
the outbox, inside the session it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailagent.clock import Clock
from mailagent.config import Settings
from mailagent.mail.render import Renderer
from mailagent.policy.directory import Directory
from mailagent.policy.ladder import Ladder
from mailagent.policy.rules import RuleSet
from mailagent.policy.vocabulary import Vocabulary
from mailagent.policy.workdays import WorkingCalendar
from mailagent.store.models import Case
from mailagent.store.outbox import Sender


@dataclass
class Office:
    settings: Settings
    clock: Clock
    calendar: WorkingCalendar
    rules: RuleSet
    directory: Directory
    vocabulary: Vocabulary
    renderer: Renderer

    @property
    def sender(self) -> Sender:
        return Sender(self.settings.agent.mailbox, self.settings.agent.display_name)

    @property
    def ladder_id(self) -> str:
        return self.settings.agent.council

    @property
    def ladder(self) -> Ladder:
        """The ladder new cases open on."""
        return self.rules.ladders[self.ladder_id]

    def ladder_of(self, case: Case) -> Ladder:
        """The ladder a case runs on (the one it opened on, if the config changed since)."""
        return self.rules.ladders[case.ladder_id or self.ladder_id]
