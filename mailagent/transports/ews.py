"""Sending from the shared mailbox on Exchange Server by EWS (exchangelib), as raw MIME.

The message is created from our MIME bytes, so our Message-ID, In-Reply-To and References
go out as queued; Exchange takes the recipients from the headers, so an envelope recipient
the headers do not name is added as Bcc. A copy is saved in the mailbox's Sent Items.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from exchangelib import Account, Message
from exchangelib.errors import (
    ErrorInvalidRecipients,
    ErrorMessageSizeExceeded,
    ErrorMimeContentConversionFailed,
    ErrorSendAsDenied,
)

from mailagent.microsoft.exchange import EXCHANGE_ERRORS
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.mime import with_bcc_for_unnamed

# The message itself is at fault; sending it again cannot help. ErrorSendAsDenied is not
# here: it is a permission an administrator can grant, after which a retry works.
REFUSED: tuple[type[Exception], ...] = (
    ErrorInvalidRecipients, ErrorMessageSizeExceeded, ErrorMimeContentConversionFailed,
)


class EwsTransport:
    def __init__(self, connect: Callable[[], Account], *, save_to_sent_items: bool = True) -> None:
        self._connect = connect
        self._account: Account | None = None
        self._save = save_to_sent_items

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        try:
            account = self._account or self._connect()
            self._account = account
            message = Message(account=account, mime_content=with_bcc_for_unnamed(raw, recipients))
            message.send(save_copy=self._save)
        except REFUSED as exc:
            raise PermanentFailure(f"EWS: {type(exc).__name__}: {exc}") from exc
        except (*EXCHANGE_ERRORS, ErrorSendAsDenied) as exc:
            self.close()
            raise TemporaryFailure(f"EWS: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._account is not None:
            with contextlib.suppress(Exception):
                self._account.protocol.close()
        self._account = None
