"""XOAUTH2 against real servers: Dovecot IMAP and the XOAUTH2 SMTP test server, with tokens
from the agent's own msal wiring ([oauth] in the config), msal itself faked.

Dovecot checks a bearer token by asking an introspection endpoint (its oauth2 passdb, set up
by scripts/mailservers.sh); here that endpoint is a small HTTP server on loopback which
decides which tokens are valid, as Entra ID would. No Microsoft tenant is reached: what is
exercised is our side (token provider, SASL XOAUTH2, re-login with a fresh token after the
server drops the session) against Dovecot's real XOAUTH2 implementation.

Also here, because they need an idling session: IDLE is renewed before servers drop it.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mailagent.app import build_source, build_transport
from mailagent.clock import FixedClock
from mailagent.microsoft import oauth
from mailagent.sources.base import SourceError
from mailagent.sources.imap import ImapSource
from mailagent.store.db import create_db_engine, transaction, upgrade
from mailagent.store.delivery import deliver_due
from mailagent.store.outbox import OutgoingEmail, Sender, queue_email
from tests.servers import MAILSERVERS_SH, _parse_exports, _run
from tests.support import email_bytes, make_settings
from tests.test_oauth import FakeMsal

pytestmark = pytest.mark.servers

AGENT = "agent@example.test"


@dataclass
class Introspection:
    """The token endpoint Dovecot asks: `valid` maps each accepted token to its user."""

    valid: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)  # every bearer token Dovecot asked about


@pytest.fixture
def introspection(mail_servers) -> Iterator[Introspection]:
    conf = _parse_exports(_run(MAILSERVERS_SH, "env", env=mail_servers.script_env))
    state = Introspection()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # introspection_mode = auth: GET with the bearer token
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            state.seen.append(token)
            user = state.valid.get(token)
            body = json.dumps({"active": True, "username": user} if user else {"active": False})
            self.send_response(200 if user else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", int(conf["MAILSERVERS_OAUTH2_PORT"])), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_msal(monkeypatch) -> list[FakeMsal]:
    """msal's app replaced: tokens token-1, token-2, ... in the order they are asked for."""
    FakeMsal.made.clear()
    monkeypatch.setattr(oauth.msal, "ConfidentialClientApplication", FakeMsal)
    monkeypatch.setenv("MA_TEST_OAUTH_SECRET", "s3cret")
    return FakeMsal.made


OAUTH = {"tenant_id": "tenant-1", "client_id": "client-1",
         "client_secret": {"env": "MA_TEST_OAUTH_SECRET"}}


def _xoauth2_source(mailboxes, tmp_path: Path) -> ImapSource:
    settings = make_settings(
        tmp_path,
        source={"kind": "imap", "host": mailboxes.imap_host, "port": mailboxes.imap_port,
                "ssl": False, "username": AGENT, "auth": "xoauth2"},
        oauth=OAUTH,
    )
    source = build_source(settings)
    assert isinstance(source, ImapSource)
    return source


def _mail(n: int) -> bytes:
    return email_bytes(sender="iro1@example.test", subject=f"message {n}", body=f"body {n}")


def test_imap_xoauth2_login_with_a_token_from_the_oauth_config(
    mailboxes, introspection, fake_msal, tmp_path
) -> None:
    introspection.valid["token-1"] = AGENT
    mailboxes.append("agent", _mail(1))
    source = _xoauth2_source(mailboxes, tmp_path)
    try:
        (fetched,) = list(source.fetch_new())
        assert b"message 1" in fetched.raw
    finally:
        source.close()
    assert introspection.seen == ["token-1"]
    (app,) = fake_msal
    assert app.requests == [["https://outlook.office365.com/.default"]]
    assert app.authority == "https://login.microsoftonline.com/tenant-1"


def test_imap_session_dropped_with_an_expired_token_comes_back_with_a_fresh_one(
    mailboxes, introspection, fake_msal, tmp_path
) -> None:
    introspection.valid["token-1"] = AGENT
    source = _xoauth2_source(mailboxes, tmp_path)
    try:
        assert list(source.fetch_new()) == []
        assert source.wait_for_mail(0.1) is False  # idling now
        # The token expires early (revoked, or a clock ahead of ours) and the server ends
        # the session, as Exchange Online does when a token lapses.
        del introspection.valid["token-1"]
        introspection.valid["token-2"] = AGENT
        _kick(mailboxes, AGENT)
        with pytest.raises(SourceError):
            source.wait_for_mail(5)
        mailboxes.append("agent", _mail(2))
        # Our cached token-1 is refused at login: it is dropped and token-2 fetched.
        (fetched,) = list(source.fetch_new())
        assert b"message 2" in fetched.raw
    finally:
        source.close()
    (app,) = fake_msal
    assert len(app.requests) == 2 and app.removed == 1
    assert introspection.seen == ["token-1", "token-1", "token-2"]


def _kick(mailboxes, user: str) -> None:
    """Disconnect the user's IMAP sessions (doveadm kick: '* BYE ... administrative')."""
    subprocess.run([str(MAILSERVERS_SH), "doveadm", "kick", user], env=dict(mailboxes.script_env),
                   capture_output=True, check=False, timeout=30, stdin=subprocess.DEVNULL)


def test_idle_is_renewed_before_the_server_would_end_it(mailboxes) -> None:
    # Renewal every 0.3 s stands in for every 25 minutes (servers end IDLE at 29-30).
    source = ImapSource(mailboxes.imap_host, mailboxes.imap_port, AGENT,
                        password=mailboxes.password, ssl=False, idle_renew_seconds=0.3)
    idles: list[float] = []
    try:
        assert list(source.fetch_new()) == []
        client = source._connected()
        original = client.idle

        def counting_idle() -> Any:
            idles.append(datetime.now(UTC).timestamp())
            return original()

        client.idle = counting_idle  # type: ignore[method-assign]
        for _ in range(8):
            assert source.wait_for_mail(0.1) is False
        assert len(idles) >= 2  # a fresh IDLE after each 0.3 s, not one for ever
        threading.Timer(0.1, lambda: mailboxes.append("agent", _mail(3))).start()
        assert source.wait_for_mail(5) is True  # a renewed IDLE still hears new mail
    finally:
        source.close()


def test_smtp_xoauth2_through_the_configured_transport(
    xoauth2_smtp, mailboxes, fake_msal, tmp_path
) -> None:
    settings = make_settings(
        tmp_path,
        transport={"kind": "smtp", "host": xoauth2_smtp.host, "port": xoauth2_smtp.port,
                   "security": "none", "auth": "xoauth2", "username": AGENT},
        oauth=OAUTH,
    )
    xoauth2_smtp.token = "token-1"  # the first token our fake msal hands out
    transport = build_transport(settings)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'out.sqlite'}")
    upgrade(engine)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    sender = Sender(AGENT, "IRO Escalations")
    with transaction(engine) as session:
        queue_email(session, OutgoingEmail(to=["tm1@example.test"], subject="[ESC-1] x",
                                           text="hello"),
                    sender=sender, purpose="test", dedupe_key="k", now=now)
    assert deliver_due(engine, transport, FixedClock(now), sender).sent == 1
    assert [(a.user, a.token, a.accepted) for a in xoauth2_smtp.attempts] == [
        (AGENT, "token-1", True)
    ]
    assert len(mailboxes.wait_for_mail("tm1", 1)) == 1
    (app,) = fake_msal
    assert app.requests == [["https://outlook.office365.com/.default"]]
    assert app.credential == "s3cret"
