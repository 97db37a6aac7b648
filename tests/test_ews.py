"""Exchange Server (on premises) by EWS, at the HTTP layer.

No Exchange server can be reached from here, so exchangelib talks to `RecordedEws`, which
replays SOAP responses shaped as Exchange 2019 answers them (the ServerVersionInfo header,
ResponseMessages with ResponseClass and ResponseCode, after the examples in Microsoft's EWS
reference) over a tiny mailbox state, so that an item moved is really gone from the Inbox.
It is plugged in through exchangelib's documented seam, `BaseProtocol.HTTP_ADAPTER_CLS`.
These tests check what we ask EWS and what we do with its answers, not that a live server
agrees.
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import exchangelib
import pytest
import requests
from exchangelib.protocol import BaseProtocol
from requests.adapters import BaseAdapter

from mailagent.app import build_agent
from mailagent.clock import FixedClock
from mailagent.microsoft.exchange import ExchangeMailbox
from mailagent.runners.pipeline import run_once
from mailagent.sources.base import SourceError
from mailagent.sources.ews import EwsSource
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.ews import EwsTransport
from tests.support import ESCALATION_BODY, email_bytes, london, make_settings

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = f'xmlns:m="{MNS}" xmlns:t="{TNS}"'
ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<s:Envelope xmlns:s="{SOAP}"><s:Header>'
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1118" '
    f'MinorBuildNumber="7" Version="V2017_07_11" xmlns:h="{TNS}" xmlns="{TNS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"/></s:Header>'
    '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</s:Body></s:Envelope>'
)
NOT_FOUND = ("ErrorItemNotFound", "The specified object was not found in the store.")


def _success(op: str, inner: str) -> str:
    return (f'<m:{op}ResponseMessage ResponseClass="Success">'
            f"<m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{op}ResponseMessage>")


def _failure(op: str, code: str, text: str) -> str:
    return (f'<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>{text}</m:MessageText>'
            f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0"
            f"</m:DescriptiveLinkKey></m:{op}ResponseMessage>")


def _response(op: str, messages: list[str]) -> str:
    return (f"<m:{op}Response {NS}><m:ResponseMessages>{''.join(messages)}"
            f"</m:ResponseMessages></m:{op}Response>")


class RecordedEws:
    """The shared mailbox's server: folders, items, what was sent, and every request made."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.folders: dict[str, tuple[str, str | None]] = {}  # id -> (name, parent id)
        self.items: dict[str, tuple[str, bytes, str]] = {}  # id -> (folder, MIME, received)
        self.sent: list[tuple[str, bytes]] = []  # (MessageDisposition, MIME)
        self.fail: dict[str, tuple[str, str]] = {}  # operation -> (ResponseCode, text), once
        self.http_status: int | None = None  # answer every request with this HTTP status
        self._ids = itertools.count(1)
        for name, parent in (("root", None), ("msgfolderroot", "root"),
                             ("inbox", "msgfolderroot"), ("sentitems", "msgfolderroot")):
            self.folders[f"F-{name}"] = (name, f"F-{parent}" if parent else None)

    def deliver(self, mime: bytes, received: str) -> str:
        item_id = f"I-{next(self._ids)}"
        self.items[item_id] = ("F-inbox", mime, received)
        return item_id

    def in_folder(self, name: str) -> list[bytes]:
        folder = next(fid for fid, (n, _) in self.folders.items() if n == name)
        return [mime for f, mime, _ in sorted(self.items.values(), key=lambda i: i[2])
                if f == folder]

    # -- the operations we use -----------------------------------------------------------

    def ConvertId(self, request: ET.Element) -> str:  # exchangelib's version probe
        return _response("ConvertId", [_failure("ConvertId", "ErrorInvalidIdMalformed",
                                                "Id is malformed.")])

    def GetFolder(self, request: ET.Element) -> str:
        ids = [self._folder_id(el) for el in request.find(f"{{{MNS}}}FolderIds")]
        return _response("GetFolder", [
            _success("GetFolder", f"<m:Folders>{self._folder(fid)}</m:Folders>") for fid in ids
        ])

    def FindFolder(self, request: ET.Element) -> str:
        parent = self._folder_id(request.find(f"{{{MNS}}}ParentFolderIds")[0])
        constant = request.find(f".//{{{TNS}}}Constant")
        name = constant.get("Value") if constant is not None else None
        found = [fid for fid, (n, p) in self.folders.items()
                 if p == parent and name in (None, n)]
        folders = "".join(self._folder(fid) for fid in found)
        return _response("FindFolder", [_success("FindFolder", (
            f'<m:RootFolder TotalItemsInView="{len(found)}" IncludesLastItemInRange="true">'
            f"<t:Folders>{folders}</t:Folders></m:RootFolder>"))])

    def CreateFolder(self, request: ET.Element) -> str:
        parent = self._folder_id(request.find(f"{{{MNS}}}ParentFolderId")[0])
        name = request.find(f".//{{{TNS}}}DisplayName").text or ""
        self.folders[f"F-{name}"] = (name, parent)
        return _response("CreateFolder", [_success("CreateFolder", (
            f'<m:Folders><t:Folder><t:FolderId Id="F-{name}" ChangeKey="AQAAABYA"/>'
            "</t:Folder></m:Folders>"))])

    def FindItem(self, request: ET.Element) -> str:
        folder = self._folder_id(request.find(f"{{{MNS}}}ParentFolderIds")[0])
        ids = [iid for iid, (f, _, received) in sorted(self.items.items(), key=lambda i: i[1][2])
               if f == folder]
        # The id, and DateTimeReceived when the request asks for it (we always do).
        received = request.find(f".//{{{TNS}}}FieldURI[@FieldURI='item:DateTimeReceived']")
        items = "".join(
            f'<t:Message><t:ItemId Id="{i}" ChangeKey="CQAAABYA"/>'
            + (f"<t:DateTimeReceived>{self.items[i][2]}</t:DateTimeReceived>"
               if received is not None else "")
            + "</t:Message>"
            for i in ids)
        return _response("FindItem", [_success("FindItem", (
            f'<m:RootFolder IndexedPagingOffset="{len(ids)}" TotalItemsInView="{len(ids)}" '
            f'IncludesLastItemInRange="true"><t:Items>{items}</t:Items></m:RootFolder>'))])

    def GetItem(self, request: ET.Element) -> str:
        messages = []
        for el in request.find(f"{{{MNS}}}ItemIds"):
            item = self.items.get(el.get("Id", ""))
            if item is None:
                messages.append(_failure("GetItem", *NOT_FOUND))
                continue
            mime = base64.b64encode(item[1]).decode()
            messages.append(_success("GetItem", (
                f'<m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">{mime}</t:MimeContent>'
                f'<t:ItemId Id="{el.get("Id")}" ChangeKey="CQAAABYA"/></t:Message></m:Items>')))
        return _response("GetItem", messages)

    def MoveItem(self, request: ET.Element) -> str:
        target = self._folder_id(request.find(f"{{{MNS}}}ToFolderId")[0])
        messages = []
        for el in request.find(f"{{{MNS}}}ItemIds"):
            item = self.items.pop(el.get("Id", ""), None)
            if item is None:
                messages.append(_failure("MoveItem", *NOT_FOUND))
                continue
            new_id = f"I-{next(self._ids)}"  # EWS gives a moved item a new id
            self.items[new_id] = (target, item[1], item[2])
            messages.append(_success("MoveItem", (
                f'<m:Items><t:Message><t:ItemId Id="{new_id}" ChangeKey="CQAAABYB"/>'
                "</t:Message></m:Items>")))
        return _response("MoveItem", messages)

    def CreateItem(self, request: ET.Element) -> str:
        mime = base64.b64decode(request.find(f".//{{{TNS}}}MimeContent").text or "")
        self.sent.append((request.get("MessageDisposition", ""), mime))
        return _response("CreateItem", [_success("CreateItem", "<m:Items/>")])

    # -- plumbing ------------------------------------------------------------------------

    def _folder_id(self, element: ET.Element) -> str:
        if element.tag == f"{{{TNS}}}DistinguishedFolderId":
            return f"F-{element.get('Id')}"
        return element.get("Id", "")

    def _folder(self, fid: str) -> str:
        name, parent = self.folders[fid]
        parent_xml = f'<t:ParentFolderId Id="{parent}" ChangeKey="AQAAAA=="/>' if parent else ""
        count = sum(1 for f, _, _ in self.items.values() if f == fid)
        return (f'<t:Folder><t:FolderId Id="{fid}" ChangeKey="AQAAAA=="/>{parent_xml}'
                f"<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>{name}</t:DisplayName>"
                f"<t:TotalCount>{count}</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>"
                "<t:UnreadCount>0</t:UnreadCount></t:Folder>")

    def answer(self, body: bytes) -> tuple[int, bytes]:
        operation = ET.fromstring(body).find(f"{{{SOAP}}}Body")[0]
        name = operation.tag.split("}")[1]
        self.operations.append(name)
        if self.http_status is not None:
            return self.http_status, b"<html><body>Service Unavailable</body></html>"
        if name in self.fail:
            code, text = self.fail.pop(name)
            return 200, ENVELOPE.format(body=_response(name, [_failure(name, code, text)])).encode()
        handler: Callable[[ET.Element], str] = getattr(self, name)
        return 200, ENVELOPE.format(body=handler(operation)).encode()

    def adapter(self) -> type[BaseAdapter]:
        server = self

        class Replay(BaseAdapter):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__()

            def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
                response = requests.Response()
                body = request.body if isinstance(request.body, bytes) else b""
                response.status_code, response._content = server.answer(body)
                response.headers["Content-Type"] = "text/xml; charset=utf-8"
                response.request, response.url = request, request.url or ""
                return response

            def close(self) -> None:
                return None

        return Replay


@pytest.fixture
def ews(monkeypatch) -> Iterator[RecordedEws]:
    server = RecordedEws()
    exchangelib.close_connections()  # exchangelib caches sessions (and their adapters)
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", server.adapter())
    yield server
    exchangelib.close_connections()


MAILBOX = ExchangeMailbox(mailbox="agent@example.test", username="COUNCIL\\svc-mailagent",
                          password="pw", server="mail.council.example")


@functools.cache
def _mime(n: int) -> bytes:
    return email_bytes(sender="iro1@example.test", subject=f"message {n}", body=f"body {n}")


# -- reading and filing ----------------------------------------------------------------------


def test_inbox_read_oldest_first_as_mime_and_filed_beside_it(ews) -> None:
    later = ews.deliver(_mime(2), "2026-12-18T10:05:00Z")
    earlier = ews.deliver(_mime(1), "2026-12-18T10:00:00Z")
    source = EwsSource(MAILBOX.connect, MAILBOX.mailbox)
    try:
        fetched = list(source.fetch_new())
        assert [(f.uid, f.raw) for f in fetched] == [(earlier, _mime(1)), (later, _mime(2))]
        # When Exchange received each: the arrival time deadlines count from.
        assert [f.received_at for f in fetched] == [
            datetime(2026, 12, 18, 10, 0, tzinfo=UTC), datetime(2026, 12, 18, 10, 5, tzinfo=UTC)]
        source.mark_processed(earlier)
        source.quarantine(later)
        source.mark_processed(earlier)  # filing twice is harmless (ErrorItemNotFound)
        assert list(source.fetch_new()) == []
    finally:
        source.close()
    assert ews.in_folder("Processed") == [_mime(1)]
    assert ews.in_folder("Quarantine") == [_mime(2)]
    # The folders were looked up by name once each, and made because they were missing.
    assert ews.operations.count("CreateFolder") == 2
    assert ews.operations.count("FindFolder") == 2


def test_an_existing_processed_folder_is_used(ews) -> None:
    ews.folders["F-existing"] = ("Processed", "F-msgfolderroot")
    item = ews.deliver(_mime(1), "2026-12-18T10:00:00Z")
    source = EwsSource(MAILBOX.connect, MAILBOX.mailbox)
    try:
        source.mark_processed(item)
    finally:
        source.close()
    assert "CreateFolder" not in ews.operations
    assert ews.in_folder("Processed") == [_mime(1)]


def test_a_message_gone_between_listing_and_reading_is_skipped(ews) -> None:
    gone = ews.deliver(_mime(1), "2026-12-18T10:00:00Z")
    ews.deliver(_mime(2), "2026-12-18T10:01:00Z")
    source = EwsSource(MAILBOX.connect, MAILBOX.mailbox)
    original = ews.FindItem

    def list_then_lose(request: ET.Element) -> str:
        answer = original(request)
        del ews.items[gone]  # someone deletes it right after the listing
        return answer

    ews.FindItem = list_then_lose  # type: ignore[method-assign]
    try:
        assert [f.raw for f in source.fetch_new()] == [_mime(2)]
    finally:
        source.close()


@pytest.mark.parametrize("trouble", ["busy", "http503"])
def test_server_trouble_is_a_source_error_and_the_next_round_reconnects(ews, trouble) -> None:
    ews.deliver(_mime(1), "2026-12-18T10:00:00Z")
    source = EwsSource(MAILBOX.connect, MAILBOX.mailbox)
    try:
        list(source.fetch_new())  # connected, version known
        if trouble == "busy":
            ews.fail["FindItem"] = ("ErrorServerBusy", "The server cannot service this request "
                                                       "right now. Try again later.")
        else:
            ews.http_status = 503
        with pytest.raises(SourceError, match="EWS"):
            list(source.fetch_new())
        ews.http_status = None
        assert [f.raw for f in source.fetch_new()] == [_mime(1)]
    finally:
        source.close()


# -- sending ---------------------------------------------------------------------------------

THREADED = email_bytes(sender="IRO Escalations <agent@example.test>", to="tm1@example.test",
                       subject="[ESC-2026-0001] Escalation", body="Please respond.",
                       in_reply_to="<iro-first@example.test>",
                       references="<iro-first@example.test>")


def test_send_creates_the_message_from_our_mime_and_saves_a_copy(ews) -> None:
    message_id = email.message_from_bytes(THREADED)["Message-ID"]
    transport = EwsTransport(MAILBOX.connect)
    try:
        transport.send(MAILBOX.mailbox, ["tm1@example.test", "sm1@example.test"], THREADED,
                       message_id)
    finally:
        transport.close()
    ((disposition, mime),) = ews.sent
    assert disposition == "SendAndSaveCopy"
    sent = email.message_from_bytes(mime, policy=email.policy.default)
    assert sent["Message-ID"] == message_id
    assert sent["In-Reply-To"] == sent["References"] == "<iro-first@example.test>"
    assert sent["Bcc"] == "sm1@example.test"  # an envelope recipient the headers omit
    assert mime.endswith(THREADED)  # otherwise byte for byte as queued


@pytest.mark.parametrize(("code", "failure"), [
    ("ErrorInvalidRecipients", PermanentFailure),
    ("ErrorMessageSizeExceeded", PermanentFailure),
    ("ErrorServerBusy", TemporaryFailure),
    ("ErrorSendAsDenied", TemporaryFailure),  # a permission an administrator can grant
])
def test_send_failures_are_permanent_only_when_the_message_is_at_fault(ews, code, failure):
    ews.fail["CreateItem"] = (code, "refused")
    transport = EwsTransport(MAILBOX.connect, save_to_sent_items=False)
    try:
        with pytest.raises(failure, match=code):
            transport.send(MAILBOX.mailbox, ["tm1@example.test"], THREADED, "<x@y>")
    finally:
        transport.close()


# -- the whole agent on EWS, wired from the config ------------------------------------------


def test_an_escalation_read_and_answered_through_ews(ews, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MA_TEST_EWS_PASSWORD", "pw")
    connection = {"server": "mail.council.example", "username": "COUNCIL\\svc-mailagent",
                  "password": {"env": "MA_TEST_EWS_PASSWORD"}}
    settings = make_settings(tmp_path, source={"kind": "ews", **connection},
                             transport={"kind": "ews", **connection})
    escalation = email_bytes(sender="Irene Reed <iro1@example.test>",
                             subject="[ESCALATE] Placement plan not started",
                             body=ESCALATION_BODY)
    ews.deliver(escalation, "2026-12-18T09:00:00Z")
    agent = build_agent(settings, clock=FixedClock(london(2026, 12, 18, 10)))
    try:
        report = run_once(agent)
    finally:
        agent.close()
    assert (report.fetched, report.processed) == (1, 1)
    assert ews.in_folder("inbox") == [] and ews.in_folder("Processed") == [escalation]
    assert report.delivery.sent == len(ews.sent) >= 1
    iro_message_id = email.message_from_bytes(escalation)["Message-ID"]
    for _, mime in ews.sent:
        assert email.message_from_bytes(mime)["In-Reply-To"] == iro_message_id
