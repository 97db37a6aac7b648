"""A shared mailbox's folder in Exchange Online, read through Microsoft Graph.

New mail is found with a delta query on the folder: the first query lists everything in it,
each later one only what changed since the stored delta link. The link is stored only after
every message of a round has been handed over (and so processed and filed), so a crash
mid-round repeats the round instead of skipping mail. Graph answers 410 when a link has
expired: the folder is then listed afresh, and the inbound record (keyed by content) knows
what was already processed.

Each message is read as raw MIME (`/$value`) so Graph, IMAP and EWS feed one parser, and is
filed by moving it to a folder beside the Inbox. Graph has no push a council server behind
a firewall can receive, so the caller's poll interval drives the reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from mailagent.microsoft.graph import GraphClient, GraphError
from mailagent.sources.base import CursorStore, FetchedMessage, PolledFolders, SourceError

log = logging.getLogger(__name__)

PAGE_SIZE = 50


class GraphSource(PolledFolders):
    def __init__(
        self,
        client: GraphClient,
        mailbox: str,
        cursors: CursorStore,
        *,
        folder: str = "inbox",
        processed_folder: str = "Processed",
        quarantine_folder: str = "Quarantine",
    ) -> None:
        self.mailbox, self.folder = mailbox, folder
        self.processed_folder, self.quarantine_folder = processed_folder, quarantine_folder
        self.name = f"graph:{mailbox}/{folder}"
        self._client, self._cursors = client, cursors
        self._folder_ids: dict[str, str] = {}

    # -- the MailSource interface -------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        try:
            listed, delta_link = self._changes()
        except GraphError as exc:
            raise SourceError(str(exc)) from exc
        for message_id, received in listed:
            raw = self._raw(message_id)
            if raw is not None:
                yield FetchedMessage(uid=message_id, raw=raw, received_at=_when(received))
        # Reached only once the caller has taken (and filed) every message of the round.
        self._cursors.save(self.name, delta_link)

    def close(self) -> None:
        self._client.close()

    # -- reading ------------------------------------------------------------------------

    def _changes(self) -> tuple[list[tuple[str, str]], str]:
        """The messages added or changed in the folder (id, receivedDateTime), oldest first,
        and the new delta link; a fresh listing when the stored link has expired."""
        link = self._cursors.load(self.name)
        try:
            return self._walk(link or self._initial_url())
        except GraphError as exc:
            if exc.status != 410 or not link:
                raise
            log.warning("Graph delta link expired (410): listing the folder afresh",
                        extra={"source": self.name})
            self._cursors.save(self.name, None)
            return self._walk(self._initial_url())

    def _initial_url(self) -> str:
        url = self._client.mailbox_url(self.mailbox, "mailFolders", self.folder, "messages")
        return f"{url}/delta?$select=receivedDateTime"

    def _walk(self, url: str) -> tuple[list[tuple[str, str]], str]:
        """Follow nextLinks to the deltaLink, gathering what is in the folder now."""
        present: dict[str, str] = {}
        headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        while True:
            page = self._client.get_json(url, headers=headers)
            for item in page.get("value", []):
                if "@removed" in item:  # moved away (by us, mostly) or deleted
                    present.pop(item["id"], None)
                else:
                    present[item["id"]] = item.get("receivedDateTime") or ""
            if "@odata.nextLink" in page:
                url = page["@odata.nextLink"]
            elif "@odata.deltaLink" in page:
                ordered = sorted(present.items(), key=lambda item: item[1])
                return ordered, page["@odata.deltaLink"]
            else:
                raise GraphError(200, "noDeltaLink", "a delta page without a next or delta link")

    def _raw(self, message_id: str) -> bytes | None:
        url = self._client.mailbox_url(self.mailbox, "messages", message_id, "$value")
        try:
            return self._client.request("GET", url).content
        except GraphError as exc:
            if exc.status == 404:  # moved or deleted since the delta said it was here
                return None
            raise SourceError(str(exc)) from exc

    # -- filing -------------------------------------------------------------------------

    def _move(self, message_id: str, folder: str) -> None:
        url = self._client.mailbox_url(self.mailbox, "messages", message_id, "move")
        try:
            self._client.request("POST", url, json={"destinationId": self._folder_id(folder)})
        except GraphError as exc:
            if exc.status == 404:  # already filed: moving is idempotent
                return
            raise SourceError(str(exc)) from exc

    def _folder_id(self, name: str) -> str:
        """The id of the top-level folder `name`, created if it does not exist."""
        if name not in self._folder_ids:
            self._folder_ids[name] = self._find_folder(name) or self._create_folder(name)
        return self._folder_ids[name]

    def _find_folder(self, name: str) -> str | None:
        url = self._client.mailbox_url(self.mailbox, "mailFolders")
        quoted = name.replace("'", "''")
        page = self._client.get_json(url, params={"$filter": f"displayName eq '{quoted}'"})
        found = page.get("value", [])
        return found[0]["id"] if found else None

    def _create_folder(self, name: str) -> str:
        url = self._client.mailbox_url(self.mailbox, "mailFolders")
        try:
            return self._client.request("POST", url, json={"displayName": name}).json()["id"]
        except GraphError as exc:
            found = self._find_folder(name) if exc.status == 409 else None  # made meanwhile
            if found is None:
                raise
            return found


def _when(received: str) -> datetime | None:
    """Graph's receivedDateTime ("2026-12-18T10:00:00Z") as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(received.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
