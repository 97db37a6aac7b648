"""TLS as configured or not at all: SMTP against real TLS servers with a CA the suite makes.

Each server is aiosmtpd with the suite's LMTP bridge behind it, so a message it accepts
lands in the real Dovecot. The CA and certificates come from `trustme`, made fresh for the
session; the agent trusts the CA only through the config's `ca_file`, as a council with its
own CA would.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailagent.app import build_transport
from mailagent.transports.base import TemporaryFailure
from tests.servers import HOST, MailServers, _LmtpBridge, _start_smtp
from tests.support import email_bytes, make_settings

PASSWORD_ENV = "MAILAGENT_TEST_SMTP_PASSWORD"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "council-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@dataclass
class TlsServer:
    """An SMTP server in front of Dovecot that records every login attempt it sees."""

    port: int
    logins: list[str] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)


@pytest.fixture
def tls_server(mail_servers: MailServers, ca: trustme.CA) -> Iterator[Any]:
    """start(mode): an SMTP server offering STARTTLS ("starttls"), implicit TLS ("ssl"),
    STARTTLS with a certificate for another host ("wrong-host"), or no TLS at all
    ("plain")."""
    controllers = []

    def start(mode: str) -> TlsServer:
        server = TlsServer(port=0)
        handler = _LmtpBridge(mail_servers.lmtp_port, frozenset(mail_servers.users),
                              server.envelopes)

        def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                         data: Any) -> AuthResult:
            assert isinstance(data, LoginPassword)
            server.logins.append(data.login.decode())
            ok = data.password == mail_servers.password.encode()
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {"authenticator": authenticate}
        if mode == "ssl":
            options["ssl_context"] = _server_context(ca, HOST)
        elif mode == "starttls":
            options["tls_context"] = _server_context(ca, HOST)
        elif mode == "wrong-host":
            options["tls_context"] = _server_context(ca, "mail.elsewhere.test")
        controller = _start_smtp(handler, **options)
        controllers.append(controller)
        server.port = controller.port
        return server

    yield start
    for controller in controllers:
        controller.stop()


def _send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servers: MailServers, port: int,
          security: str, ca_file: Path | None) -> None:
    monkeypatch.setenv(PASSWORD_ENV, servers.password)
    transport: dict[str, Any] = {
        "kind": "smtp", "host": HOST, "port": port, "security": security, "auth": "password",
        "username": "agent@example.test", "password": {"env": PASSWORD_ENV},
    }
    if ca_file is not None:
        transport["ca_file"] = str(ca_file)
    settings = make_settings(tmp_path, transport=transport)
    raw = email_bytes(sender="agent@example.test", to="iro1@example.test", subject="TLS check",
                      body="Sent over TLS.")
    build_transport(settings).send("agent@example.test", ["iro1@example.test"], raw, "<x@t>")


def test_starttls_with_a_verified_certificate_delivers(
    tls_server: Any, mailboxes: MailServers, ca_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_server("starttls")
    _send(tmp_path, monkeypatch, mailboxes, server.port, "starttls", ca_file)
    assert server.logins == ["agent@example.test"]
    assert b"Sent over TLS." in mailboxes.wait_for_mail("iro1", 1)[0]


def test_implicit_tls_with_a_verified_certificate_delivers(
    tls_server: Any, mailboxes: MailServers, ca_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_server("ssl")
    _send(tmp_path, monkeypatch, mailboxes, server.port, "ssl", ca_file)
    assert len(server.envelopes) == 1
    assert b"Sent over TLS." in mailboxes.wait_for_mail("iro1", 1)[0]


def test_a_server_without_starttls_is_refused_before_login_or_sending(
    tls_server: Any, mailboxes: MailServers, ca_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_server("plain")
    with pytest.raises(TemporaryFailure, match="does not offer STARTTLS"):
        _send(tmp_path, monkeypatch, mailboxes, server.port, "starttls", ca_file)
    assert server.logins == [] and server.envelopes == []


@pytest.mark.parametrize("mode, trusted", [("starttls", False), ("wrong-host", True)])
def test_a_certificate_that_cannot_be_verified_is_refused(
    mode: str, trusted: bool, tls_server: Any, mailboxes: MailServers, ca_file: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not trusted: the suite's CA is not among the system's. Wrong host: a good certificate
    # for another name.
    server = tls_server(mode)
    with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        _send(tmp_path, monkeypatch, mailboxes, server.port, "starttls",
              ca_file if trusted else None)
    assert server.logins == [] and server.envelopes == []
