"""Microsoft Graph source and transport, at the HTTP layer.

No Microsoft 365 tenant can be reached from here, so these tests replay recorded Graph
responses (shaped as Graph v1.0 answers them: @odata links, @removed entries, error bodies,
Retry-After) with respx, which stands in for httpx's network transport. They check what we
ask Graph and what we do with its answers; they cannot prove a live tenant agrees.
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from sqlmodel import Session, select

from mailagent.app import build_agent
from mailagent.clock import FixedClock
from mailagent.microsoft import oauth
from mailagent.microsoft.graph import GraphClient
from mailagent.runners.pipeline import run_once
from mailagent.sources.base import MemoryCursors, SourceError
from mailagent.sources.graph import GraphSource
from mailagent.store.cursors import DatabaseCursors
from mailagent.store.models import Outbound
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.graph import GraphTransport
from tests.support import ESCALATION_BODY, email_bytes, london, make_settings
from tests.test_oauth import FakeMsal

GRAPH = "https://graph.microsoft.com/v1.0"
MAILBOX = "agent@example.test"
BOX = f"{GRAPH}/users/agent@example.test"
INITIAL = f"{BOX}/mailFolders/inbox/messages/delta"
NEXT = f"{INITIAL}?$skiptoken=page2"
DELTA_1 = f"{INITIAL}?$deltatoken=round1"
DELTA_2 = f"{INITIAL}?$deltatoken=round2"
CONTEXT = f"{GRAPH}/$metadata#Collection(message)"
# The first round's own query (a route without it would also match the links' queries).
FIRST_ROUND = {"$select": "receivedDateTime"}


def _page(items: list[dict], **link: str) -> httpx.Response:
    key = {"next": "@odata.nextLink", "delta": "@odata.deltaLink"}
    body = {"@odata.context": CONTEXT, "value": items}
    body.update({key[k]: v for k, v in link.items()})
    return httpx.Response(200, json=body)


def _item(message_id: str, received: str) -> dict:
    return {"@odata.etag": 'W/"CQAAABYAAAB"', "id": message_id, "receivedDateTime": received}


def _removed(message_id: str) -> dict:
    return {"id": message_id, "@removed": {"reason": "deleted"}}


@functools.cache  # each call makes a new Message-ID: one message, one set of bytes
def _mime(n: int) -> bytes:
    return email_bytes(sender="iro1@example.test", subject=f"message {n}", body=f"body {n}")


def _error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers,
                          json={"error": {"code": code, "message": message}})


class Tokens:
    """A token provider that counts invalidations."""

    def __init__(self) -> None:
        self.issued, self.invalidated = 0, 0

    def __call__(self) -> str:
        self.issued += 1
        return f"token-{self.invalidated + 1}"

    def invalidate(self) -> None:
        self.invalidated += 1


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GraphClient:
    return GraphClient(Tokens(), sleep=sleeps.append)


def _values(router: respx.MockRouter, *numbers: int) -> None:
    for n in numbers:
        router.get(f"{BOX}/messages/m{n}/$value").mock(
            return_value=httpx.Response(200, content=_mime(n),
                                        headers={"Content-Type": "text/plain"}))


# -- reading: delta paging, the stored link, 410 ---------------------------------------------


def test_delta_pages_are_followed_and_the_link_kept_only_after_the_round(graph, client) -> None:
    graph.get(INITIAL, params=FIRST_ROUND).mock(return_value=_page(
        [_item("m2", "2026-12-18T10:05:00Z"), _item("m1", "2026-12-18T10:00:00Z")], next=NEXT))
    graph.get(NEXT).mock(return_value=_page([_item("m3", "2026-12-18T10:10:00Z")],
                                            delta=DELTA_1))
    _values(graph, 1, 2, 3)
    cursors = MemoryCursors()
    source = GraphSource(client, MAILBOX, cursors)
    messages = source.fetch_new()
    first = next(messages)
    assert (first.uid, first.raw) == ("m1", _mime(1))  # oldest first, across pages
    # receivedDateTime: when Exchange received it, which deadlines count from.
    assert first.received_at == datetime(2026, 12, 18, 10, 0, tzinfo=UTC)
    assert cursors.load(source.name) is None  # not before the round is done
    assert [m.uid for m in messages] == ["m2", "m3"]
    assert cursors.load(source.name) == DELTA_1
    initial = graph.calls[0].request
    assert initial.url.params["$select"] == "receivedDateTime"
    assert initial.headers["Prefer"] == "odata.maxpagesize=50"
    assert initial.headers["Authorization"] == "Bearer token-1"

    # The next round asks the stored link: only what changed (our own moves show as removed).
    graph.get(DELTA_1).mock(return_value=_page(
        [_removed("m1"), _removed("m2"), _removed("m3"), _item("m4", "2026-12-18T11:00:00Z")],
        delta=DELTA_2))
    _values(graph, 4)
    assert [m.uid for m in source.fetch_new()] == ["m4"]
    assert cursors.load(source.name) == DELTA_2


def test_a_round_cut_short_is_repeated(graph, client) -> None:
    graph.get(INITIAL, params=FIRST_ROUND).mock(return_value=_page(
        [_item("m1", "2026-12-18T10:00:00Z"), _item("m2", "2026-12-18T10:01:00Z")],
        delta=DELTA_1))
    _values(graph, 1, 2)
    cursors = MemoryCursors()
    source = GraphSource(client, MAILBOX, cursors)
    messages = source.fetch_new()
    next(messages)
    messages.close()  # SIGTERM after the first message
    assert cursors.load(source.name) is None
    assert [m.uid for m in source.fetch_new()] == ["m1", "m2"]  # m1 again: the record dedupes


def test_an_expired_delta_link_410_means_listing_the_folder_afresh(graph, client, caplog) -> None:
    cursors = MemoryCursors()
    source = GraphSource(client, MAILBOX, cursors)
    cursors.save(source.name, DELTA_1)
    graph.get(DELTA_1).mock(return_value=_error(
        410, "SyncStateNotFound", "The sync state generation is not found."))
    graph.get(INITIAL, params=FIRST_ROUND).mock(
        return_value=_page([_item("m1", "2026-12-18T10:00:00Z")], delta=DELTA_2))
    _values(graph, 1)
    assert [m.uid for m in source.fetch_new()] == ["m1"]
    assert cursors.load(source.name) == DELTA_2
    assert "410" in caplog.text


def test_a_message_gone_between_delta_and_read_is_skipped(graph, client) -> None:
    graph.get(INITIAL, params=FIRST_ROUND).mock(return_value=_page(
        [_item("m1", "2026-12-18T10:00:00Z"), _item("m2", "2026-12-18T10:01:00Z")],
        delta=DELTA_1))
    graph.get(f"{BOX}/messages/m1/$value").mock(return_value=_error(
        404, "ErrorItemNotFound", "The specified object was not found in the store."))
    _values(graph, 2)
    assert [m.uid for m in GraphSource(client, MAILBOX, MemoryCursors()).fetch_new()] == ["m2"]


# -- throttling and tokens -------------------------------------------------------------------


def test_429_waits_for_retry_after_then_carries_on(graph, client, sleeps) -> None:
    graph.get(INITIAL, params=FIRST_ROUND).mock(side_effect=[
        _error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
               **{"Retry-After": "7"}),
        _page([], delta=DELTA_1),
    ])
    assert list(GraphSource(client, MAILBOX, MemoryCursors()).fetch_new()) == []
    assert sleeps == [7.0]


def test_a_long_retry_after_is_left_to_the_daemons_backoff(graph, client, sleeps) -> None:
    graph.get(INITIAL, params=FIRST_ROUND).mock(return_value=_error(
        429, "ApplicationThrottled", "Too many requests", **{"Retry-After": "900"}))
    with pytest.raises(SourceError, match="429 ApplicationThrottled"):
        list(GraphSource(client, MAILBOX, MemoryCursors()).fetch_new())
    assert sleeps == []


def test_401_fetches_a_fresh_token_once(graph) -> None:
    tokens = Tokens()
    client = GraphClient(tokens, sleep=lambda _: None)
    graph.get(INITIAL, params=FIRST_ROUND).mock(side_effect=[
        _error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is "
               "expired."),
        _page([], delta=DELTA_1),
    ])
    list(GraphSource(client, MAILBOX, MemoryCursors()).fetch_new())
    assert tokens.invalidated == 1
    assert [c.request.headers["Authorization"] for c in graph.calls] == [
        "Bearer token-1", "Bearer token-2"]


# -- filing ----------------------------------------------------------------------------------


def test_filing_moves_to_a_folder_found_or_made_once(graph, client) -> None:
    folders = graph.get(f"{BOX}/mailFolders").mock(side_effect=[
        httpx.Response(200, json={"value": []}),
        httpx.Response(200, json={"value": [{"id": "AQMkQuarantine", "displayName":
                                             "Quarantine"}]}),
    ])
    create = graph.post(f"{BOX}/mailFolders").mock(return_value=httpx.Response(
        201, json={"id": "AQMkProcessed", "displayName": "Processed"}))
    moves = {n: graph.post(f"{BOX}/messages/m{n}/move").mock(
        return_value=httpx.Response(201, json={"id": f"moved-{n}"})) for n in (1, 2, 3)}
    graph.post(f"{BOX}/messages/m9/move").mock(return_value=_error(
        404, "ErrorItemNotFound", "The specified object was not found in the store."))
    source = GraphSource(client, MAILBOX, MemoryCursors())
    source.mark_processed("m1")
    source.mark_processed("m2")
    source.quarantine("m3")
    source.mark_processed("m9")  # already filed: nothing to do
    assert folders.calls[0].request.url.params["$filter"] == "displayName eq 'Processed'"
    assert create.call_count == 1  # Processed was made once, then remembered
    assert create.calls[0].request.content == b'{"displayName":"Processed"}'
    bodies = [moves[n].calls[0].request.content for n in (1, 2, 3)]
    assert bodies == [b'{"destinationId":"AQMkProcessed"}'] * 2 + [
        b'{"destinationId":"AQMkQuarantine"}']


# -- sending ---------------------------------------------------------------------------------

THREADED = email_bytes(sender="IRO Escalations <agent@example.test>", to="tm1@example.test",
                       subject="[ESC-2026-0001] Escalation", body="Please respond.",
                       in_reply_to="<iro-first@example.test>",
                       references="<iro-first@example.test>")


def _sent_mime(route: respx.Route) -> email.message.EmailMessage:
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "text/plain"
    return email.message_from_bytes(base64.b64decode(request.content),
                                    policy=email.policy.default)


def test_sendmail_posts_our_mime_with_threading_headers_and_bcc_for_unnamed(graph, client):
    send = graph.post(f"{BOX}/sendMail").mock(return_value=httpx.Response(202))
    message_id = email.message_from_bytes(THREADED)["Message-ID"]
    GraphTransport(client, MAILBOX).send(MAILBOX, ["tm1@example.test", "sm1@example.test"],
                                         THREADED, message_id)
    sent = _sent_mime(send)
    assert sent["Message-ID"] == message_id
    assert sent["In-Reply-To"] == "<iro-first@example.test>"
    assert sent["References"] == "<iro-first@example.test>"
    assert sent["Bcc"] == "sm1@example.test"  # an envelope recipient the headers omit
    assert base64.b64decode(send.calls.last.request.content).endswith(THREADED)


def test_sendmail_throttled_then_accepted(graph, client, sleeps) -> None:
    send = graph.post(f"{BOX}/sendMail").mock(side_effect=[
        _error(429, "ErrorExceededMessageLimit", "Message rate limit exceeded",
               **{"Retry-After": "2"}),
        httpx.Response(202),
    ])
    GraphTransport(client, MAILBOX).send(MAILBOX, ["tm1@example.test"], THREADED, "<x@y>")
    assert send.call_count == 2 and sleeps == [2.0]


@pytest.mark.parametrize(("status", "code", "failure"), [
    (400, "ErrorInvalidRecipients", PermanentFailure),
    (413, "ErrorMessageSizeExceeded", PermanentFailure),
    (403, "ErrorAccessDenied", TemporaryFailure),  # a permission an admin can still grant
    (503, "ServiceUnavailable", TemporaryFailure),
])
def test_sendmail_failures_are_permanent_only_when_the_message_is_at_fault(
    graph, client, status, code, failure
) -> None:
    graph.post(f"{BOX}/sendMail").mock(return_value=_error(status, code, "refused"))
    with pytest.raises(failure, match=code):
        GraphTransport(client, MAILBOX).send(MAILBOX, ["tm1@example.test"], THREADED, "<x@y>")


# -- the whole agent on Graph, wired from the config ----------------------------------------


def test_an_escalation_read_and_answered_through_graph(graph, tmp_path, monkeypatch) -> None:
    FakeMsal.made.clear()
    monkeypatch.setattr(oauth.msal, "ConfidentialClientApplication", FakeMsal)
    monkeypatch.setenv("MA_TEST_OAUTH_SECRET", "s3cret")
    settings = make_settings(
        tmp_path, source={"kind": "graph"}, transport={"kind": "graph"},
        oauth={"tenant_id": "t", "client_id": "c", "client_secret": {"env":
                                                                     "MA_TEST_OAUTH_SECRET"}},
    )
    escalation = email_bytes(sender="Irene Reed <iro1@example.test>",
                             subject="[ESCALATE] Placement plan not started",
                             body=ESCALATION_BODY)
    iro_message_id = email.message_from_bytes(escalation)["Message-ID"]
    graph.get(INITIAL, params=FIRST_ROUND).mock(
        return_value=_page([_item("e1", "2026-12-18T09:00:00Z")], delta=DELTA_1))
    graph.get(f"{BOX}/messages/e1/$value").mock(return_value=httpx.Response(200,
                                                                            content=escalation))
    graph.get(f"{BOX}/mailFolders").mock(return_value=httpx.Response(
        200, json={"value": [{"id": "AQMkProcessed", "displayName": "Processed"}]}))
    move = graph.post(f"{BOX}/messages/e1/move").mock(return_value=httpx.Response(201, json={}))
    send = graph.post(f"{BOX}/sendMail").mock(return_value=httpx.Response(202))

    agent = build_agent(settings, clock=FixedClock(london(2026, 12, 18, 10)))
    try:
        report = run_once(agent)
        assert (report.fetched, report.processed) == (1, 1)
        assert move.call_count == 1
        assert report.delivery.sent == send.call_count >= 1
        sent = [email.message_from_bytes(base64.b64decode(c.request.content),
                                         policy=email.policy.default) for c in send.calls]
        with Session(agent.engine) as session:
            ours = {row.message_id for row in session.exec(select(Outbound))}
        assert {m["Message-ID"] for m in sent} == ours  # our Message-IDs, not Exchange's
        assert all(m["In-Reply-To"] == iro_message_id for m in sent)  # threaded under the IRO
        assert all(c.request.headers["Authorization"] == "Bearer token-1" for c in graph.calls)
        # The delta link waits in the database for the next run.
        assert DatabaseCursors(agent.engine).load(agent.source.name) == DELTA_1
    finally:
        agent.close()
    (app,) = FakeMsal.made
    assert app.requests == [["https://graph.microsoft.com/.default"]]  # one token, cached


def test_no_token_is_a_temporary_failure_not_a_crash(graph) -> None:
    def no_token() -> str:
        raise oauth.OAuthError("no access token: invalid_client: AADSTS7000215")

    client = GraphClient(no_token, sleep=lambda _: None)
    with pytest.raises(SourceError, match="NoAccessToken"):
        list(GraphSource(client, MAILBOX, MemoryCursors()).fetch_new())
    with pytest.raises(TemporaryFailure, match="invalid_client"):
        GraphTransport(client, MAILBOX).send(MAILBOX, ["tm1@example.test"], THREADED, "<x@y>")
    assert graph.calls.call_count == 0
