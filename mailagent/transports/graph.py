"""Sending from the shared mailbox through Microsoft Graph's sendMail, as raw MIME.

The MIME form (a base64 body with Content-Type text/plain) keeps our own Message-ID,
In-Reply-To and References, which the JSON form cannot carry; replies then thread under
the IRO's email and match back to the case. Graph takes the recipients from the headers, so
an envelope recipient the headers do not name is added as Bcc. A copy is saved in the
mailbox's Sent Items.
"""

from __future__ import annotations

import base64

from mailagent.microsoft.graph import GraphClient, GraphError
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.mime import with_bcc_for_unnamed

# The request itself is at fault (a malformed message, one too large): sending it again
# cannot help. Anything else (throttling, an outage, a permission an administrator must
# grant) may pass later.
REFUSED = frozenset({400, 413, 415, 422})


class GraphTransport:
    def __init__(self, client: GraphClient, mailbox: str) -> None:
        self.mailbox = mailbox
        self._client = client

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        url = self._client.mailbox_url(self.mailbox, "sendMail")
        body = base64.b64encode(with_bcc_for_unnamed(raw, recipients))
        try:
            self._client.request(
                "POST", url, content=body, headers={"Content-Type": "text/plain"}
            )
        except GraphError as exc:
            cls = PermanentFailure if exc.status in REFUSED else TemporaryFailure
            raise cls(str(exc)) from exc

    def close(self) -> None:
        self._client.close()
