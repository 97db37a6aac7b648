"""What a ladder says about the steps beside its stages: referring a case to the monthly
challenge meeting, independent legal advice, the conditions of a CAFCASS referral, the
tracking record a council keeps of its disputes, and the social work team's learning.

Each is an optional table in `rules/ladders/<id>.toml`, documented for council officers in
`rules/README.md`; a ladder without the table does not offer the step. Each step's emails
have fixed template names (`TEMPLATES`), which `rules check` looks for when a ladder offers it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mailagent.policy.schema import Identifier, Role, RulesModel


class ChallengeMeetingRoute(RulesModel):
    """`[challenge_meeting]`: the IRO may put a case before the monthly challenge meeting
    outside the ladder ("where immediate oversight is required"); `notify` are told, `cc`
    copied (the IRO always is), with `policy`, the policy's sentence, quoted."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("challenge_meeting_notice",)

    notify: tuple[Role, ...] = Field(min_length=1)
    cc: tuple[Role, ...] = ()
    policy: str = ""


class LegalAdviceRoute(RulesModel):
    """`[legal_advice]`: the IRO records that independent legal advice is being sought, and
    from whom (`advice_from` lists the usual sources, for the emails); `notify` are told,
    `cc` copied (the IRO always is); with no `notify`, it is recorded only."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("legal_advice_notice",)

    notify: tuple[Role, ...] = ()
    cc: tuple[Role, ...] = ()
    advice_from: tuple[str, ...] = ()
    policy: str = ""  # why they are told, in the policy's words


class CafcassReferralSteps(RulesModel):
    """`[cafcass.referral]`: before the referral itself goes, what the IRO must have
    recorded: each `meeting` prerequisite held (its date and outcome), asked for (with
    `meeting_policy`, the policy's sentence, quoted) and the IRO reminded every
    `remind_working_days`; and, if `record_step` is set, the text the IRO
    wrote in the child's record (the policy's words say what). When it goes, `notify` are
    told and `cc` copied (the IRO always is), with `policy` quoted: why they are told."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("cafcass_meeting_request", "cafcass_meeting_reminder",
                                           "cafcass_referred_notice")

    record_step: str | None = None
    meeting_policy: str = ""
    remind_working_days: int = Field(default=3, ge=1)
    notify: tuple[Role, ...] = ()
    cc: tuple[Role, ...] = ()
    policy: str = ""


class TrackingRoute(RulesModel):
    """`[tracking]`: at `stages`, `by` (a role) is asked to acknowledge the dispute, to do
    the `tasks` the policy gives them, and reminded every `remind_working_days` until they
    do; the quarterly case list keeps the tracking record's columns."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("tracking_request", "tracking_reminder")

    stages: tuple[Identifier, ...] = Field(min_length=1)
    by: Role
    tasks: tuple[str, ...] = ()
    remind_working_days: int = Field(default=2, ge=1)
    policy: str = ""  # the policy's sentence giving them the tasks, quoted


class TeamLearningRoute(RulesModel):
    """`[team_learning]`: when a case is resolved, the `from` role is asked for the social
    work team's key learning points, filed beside the IRO's; `cc` copied (the IRO always
    is)."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("team_learning_request",)

    from_role: Role = Field(alias="from")
    cc: tuple[Role, ...] = ()
    policy: str = ""  # the policy's sentence asking for the team's learning, quoted
