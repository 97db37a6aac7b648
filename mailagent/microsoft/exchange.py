"""Exchange Server on premises by EWS (exchangelib): the shared mailbox as an Account.

A service account with FullAccess (delegate) or the ApplicationImpersonation role reaches
the shared mailbox; NTLM or Basic authentication over HTTPS. Exchange Online's EWS is
switched off for new use from October 2026 and for everyone in April 2027: use Graph there.

exchangelib talks to the server through `requests`; its documented seam is
`BaseProtocol.HTTP_ADAPTER_CLS`, which the tests set to an adapter that replays recorded
SOAP responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    SHALLOW,
    Account,
    Configuration,
    Credentials,
    FailFast,
    Folder,
    FolderCollection,
    Q,
)
from exchangelib.errors import ErrorFolderExists, EWSError, TransportError
from exchangelib.services import CreateFolder
from requests.exceptions import RequestException

# Everything exchangelib raises when the server cannot be reached or refuses a request.
EXCHANGE_ERRORS: tuple[type[Exception], ...] = (EWSError, TransportError, RequestException)


@dataclass(frozen=True)
class ExchangeMailbox:
    """Where the shared mailbox is and who may open it."""

    mailbox: str
    username: str
    password: str
    server: str | None = None
    service_endpoint: str | None = None
    auth_type: Literal["ntlm", "basic"] = "ntlm"
    access_type: Literal["delegate", "impersonation"] = "delegate"

    def connect(self) -> Account:
        """The Account; no request is made until it is used."""
        config = Configuration(
            credentials=Credentials(self.username, self.password),
            server=self.server,
            service_endpoint=self.service_endpoint,
            auth_type=NTLM if self.auth_type == "ntlm" else BASIC,
            # No retrying inside exchangelib: the daemon and the outbox back off themselves.
            retry_policy=FailFast(),
        )
        return Account(
            primary_smtp_address=self.mailbox,
            config=config,
            autodiscover=False,
            access_type=DELEGATE if self.access_type == "delegate" else IMPERSONATION,
        )


def folder_beside_inbox(account: Account, name: str) -> Folder:
    """The top-level folder `name` (a sibling of the Inbox), created if it does not exist.

    Looked up by name with one FindFolder, and made with CreateFolder directly: exchangelib's
    own `folder / name` and `Folder.save()` first map the mailbox's whole folder tree.
    """
    root = account.msg_folder_root
    found = _child_folder(account, root, name)
    if found is not None:
        return found
    try:
        return CreateFolder(account=account).get(
            parent_folder=root, folders=[Folder(parent=root, name=name)]
        )
    except ErrorFolderExists:  # made meanwhile by someone else
        found = _child_folder(account, root, name)
        if found is None:
            raise
        return found


def _child_folder(account: Account, parent: Folder, name: str) -> Folder | None:
    found = FolderCollection(account=account, folders=[parent]).find_folders(
        q=Q(name=name), depth=SHALLOW
    )
    return next((f for f in found if isinstance(f, Folder)), None)
