"""The transport interface and the two ways a send can fail."""

from __future__ import annotations

from typing import Protocol


class TemporaryFailure(Exception):
    """The message was not accepted this time; trying again later may work.

    `this_message`: the server works but put off this message (a 4xx to its recipients or
    to its content). Otherwise the server itself could not be used (unreachable, refusing
    connections, our login or our sender address), and every queued email would meet the
    same: the outbox then waits for the server instead of trying the rest.
    """

    def __init__(self, reason: str, *, this_message: bool = False) -> None:
        super().__init__(reason)
        self.this_message = this_message


class PermanentFailure(Exception):
    """The message will never be accepted as it is (for example a 5xx reply); do not retry."""


class Transport(Protocol):
    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        """Hand the message over; return only once the server has accepted it.

        Raise TemporaryFailure or PermanentFailure if it was not accepted.
        """
        ...

    def close(self) -> None: ...
