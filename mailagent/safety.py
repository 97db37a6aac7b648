"""The settings of the protections: whose word on a sender to trust, how much mail may ask
of us, how often we answer one person, and how long children's data is kept.

Sections of the config file (`mailagent.config` includes them): `[authentication]`,
`[limits]` and `[retention]`. The defaults are the safe ones; config.example.toml says what
each key means.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIB = 1024 * 1024


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class AuthenticationSettings(_Section):
    """Which receiving servers' verdicts on a sender to believe, and how strict to be."""

    # "pass": a directory sender's mail is acted on only when a trusted server vouches for
    # it; "no-fail": unless a trusted server says it failed (for unsigned internal mail);
    # "off": not checked (a local test mailbox has no receiving server).
    require: Literal["pass", "no-fail", "off"] = "pass"
    # authserv-ids of the council's own receiving servers (RFC 8601).
    trusted_authserv_ids: tuple[str, ...] = ()
    # Microsoft 365 / Exchange: its Authentication-Results (which name no server) and
    # X-MS-Exchange-Organization-AuthAs: Internal. Only where the mailbox is in Exchange.
    microsoft_365: bool = True

    @model_validator(mode="after")
    def _something_trusted(self) -> AuthenticationSettings:
        if self.require != "off" and not (self.microsoft_365 or self.trusted_authserv_ids):
            raise ValueError(
                "nothing is trusted to vouch for senders: name trusted_authserv_ids, set "
                'microsoft_365 = true, or set require = "off"'
            )
        return self


class LimitsSettings(_Section):
    """What one email may ask of us; anything larger is quarantined unread, with its reason."""

    max_message_bytes: int = Field(default=40 * MIB, ge=1024)
    max_header_bytes: int = Field(default=256 * 1024, ge=1024)  # the whole header block
    max_header_field_bytes: int = Field(default=32 * 1024, ge=256)  # one field, unfolded
    max_parts: int = Field(default=200, ge=1)
    max_depth: int = Field(default=10, ge=1)
    max_attachment_bytes: int = Field(default=30 * MIB, ge=1024)  # one part, decoded
    # Automatic answers (help, corrections, refusals, limit notices) to one person a day.
    max_answers_per_sender_per_day: int = Field(default=5, ge=1)


class RetentionSettings(_Section):
    """How long children's data is kept after a case closes (`mailagent purge`)."""

    # The raw emails (with their attachments), in and out, of a closed case; and mail that
    # belongs to no case (help, quarantine), counted from its arrival.
    raw_mail_months: int = Field(default=12, ge=1)
    # The case record itself (timeline, people, references); None: kept until the council's
    # schedule is set here. Export the record to the child's file first.
    case_record_months: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _record_outlives_mail(self) -> RetentionSettings:
        if self.case_record_months is not None and self.case_record_months < self.raw_mail_months:
            raise ValueError("case_record_months must be at least raw_mail_months")
        return self
