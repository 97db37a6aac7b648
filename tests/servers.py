"""Real mail and database servers for the test suite, as a pytest plugin.

Load it from tests/conftest.py with ``pytest_plugins = ["tests.servers"]``.

* ``mail_servers`` (session): a private Dovecot (IMAP + LMTP, started by scripts/mailservers.sh)
  and an aiosmtpd SMTP server whose handler delivers every accepted recipient to Dovecot by
  LMTP, so mail sent by SMTP lands in real IMAP mailboxes. Every envelope received is recorded.
* ``mailboxes`` (function): the same object, after emptying every test user's mailboxes.
* ``xoauth2_smtp`` (function): a second SMTP server that requires AUTH XOAUTH2 and checks the
  bearer token, delivering to Dovecot the same way.
* ``postgres_url`` (session) and ``postgres_db_url`` (function, a fresh database per test):
  a private PostgreSQL started by scripts/postgres.sh, or MAILAGENT_TEST_POSTGRES_URL.
* ``each_database`` (function): runs the test on SQLite, then on a fresh PostgreSQL database,
  for every agent tests.support builds (a whole module, with `usefixtures`).
* ``database_url`` (function): runs the test twice, on SQLite (None: the agent's own file)
  and on a fresh PostgreSQL database, for what runs on PostgreSQL in production.

Tests using these fixtures are marked ``servers`` / ``postgres`` automatically.
The choices rest on facts measured on Debian 12, each stated where it is used.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email
import email.message
import email.policy
import os
import re
import shlex
import smtplib
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from imapclient import IMAPClient
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
MAILSERVERS_SH = REPO / "scripts" / "mailservers.sh"
POSTGRES_SH = REPO / "scripts" / "postgres.sh"
DOMAIN = "example.test"
XOAUTH2_TOKEN = "test-access-token"  # the bearer token xoauth2_smtp accepts by default
HOST = "127.0.0.1"

SERVER_FIXTURES = {"mail_servers", "mailboxes", "xoauth2_smtp"}
POSTGRES_FIXTURES = {"postgres_url", "postgres_db_url"}


# --------------------------------------------------------------------------------------------
# Running the scripts


def _script_env() -> dict[str, str]:
    """The environment for the scripts: under pytest-xdist each worker gets its own Dovecot.

    The script derives its run directory from the IMAP port, so distinct ports are enough.
    """
    env = dict(os.environ)
    worker = env.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... under pytest-xdist
    if worker and worker.removeprefix("gw").isdigit():
        # Offsets from the configured ports, so two checkouts on other base ports never meet.
        offset = 10 * (int(worker.removeprefix("gw")) + 1)
        env["MAILSERVERS_IMAP_PORT"] = str(int(env.get("MAILSERVERS_IMAP_PORT", 14143)) + offset)
        env["MAILSERVERS_LMTP_PORT"] = str(int(env.get("MAILSERVERS_LMTP_PORT", 14024)) + offset)
        env.pop("MAILSERVERS_OAUTH2_PORT", None)  # the script derives it from the IMAP port
    return env


def _run(script: Path, *args: str, env: Mapping[str, str]) -> str:
    """Run one of our scripts with no stdin, as CI does; on failure, fail with its output."""
    proc = subprocess.run(
        [str(script), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=900,  # a cold `install` runs apt-get
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{script.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


def _parse_exports(text: str) -> dict[str, str]:
    """Parse the `export NAME=VALUE` lines that the scripts' `env` subcommand prints."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def _address(user: str) -> str:
    """'iro1' -> 'iro1@example.test'; full addresses pass through, lower-cased."""
    return (user if "@" in user else f"{user}@{DOMAIN}").lower()


# --------------------------------------------------------------------------------------------
# SMTP -> LMTP bridge


@dataclass(frozen=True)
class Envelope:
    """One message as an SMTP fixture server accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_user: str | None  # the login the client authenticated as, None if it did not

    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class _LmtpBridge:
    """aiosmtpd handler: accept known recipients and hand each one to Dovecot by LMTP."""

    def __init__(self, lmtp_port: int, users: frozenset[str], envelopes: list[Envelope]) -> None:
        self.lmtp_port = lmtp_port
        self.users = users
        self.envelopes = envelopes

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() not in self.users:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        data = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        try:
            await asyncio.to_thread(self._deliver, mail_from, list(envelope.rcpt_tos), data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            return f"{code} {reason.decode(errors='replace')}"
        except (OSError, smtplib.SMTPException) as exc:
            return f"451 4.3.0 Delivery to Dovecot by LMTP failed: {exc}"
        login = session.login_data
        auth_user = login.decode(errors="replace") if isinstance(login, bytes) else None
        # Recorded only after delivery, so a test that sees the envelope also finds the mail.
        self.envelopes.append(Envelope(mail_from, tuple(envelope.rcpt_tos), data, auth_user))
        return "250 2.0.0 OK: delivered"

    def _deliver(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
        with smtplib.LMTP(HOST, self.lmtp_port, timeout=30) as lmtp:
            for rcpt in rcpt_tos:
                # One transaction per recipient: LMTP answers DATA once per recipient, and
                # smtplib's multi-recipient sendmail reads only one answer (measured).
                lmtp.sendmail(mail_from, [rcpt], data)


def _password_authenticator(users: frozenset[str], password: str) -> Any:
    """AUTH PLAIN/LOGIN: any test user with the test password."""

    def authenticate(
        server: SMTP, session: Session, envelope: SmtpEnvelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode(errors="replace").lower() in users
            and auth_data.password == password.encode()
        ):
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False makes aiosmtpd answer 535; otherwise the client sees the connection
        # dropped instead (measured).
        return AuthResult(success=False, handled=False)

    return authenticate


@dataclass(frozen=True)
class XOAuth2Attempt:
    user: str
    token: str
    accepted: bool


class _XOAuth2Bridge(_LmtpBridge):
    """The bridge, plus an AUTH XOAUTH2 mechanism that checks the bearer token."""

    def __init__(self, state: XOAuth2Smtp, lmtp_port: int, users: frozenset[str]) -> None:
        super().__init__(lmtp_port, users, state.envelopes)
        self.state = state

    # aiosmtpd offers every handler method named auth_<MECHANISM> as an AUTH mechanism.
    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:  # no initial response: ask for it with an empty challenge
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)  # challenge_auth answered already
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        # "user=" USER ^A "auth=Bearer " TOKEN ^A ^A
        parts = blob.decode(errors="replace").split("\x01")
        fields = dict(part.split("=", 1) for part in parts if "=" in part)
        user = fields.get("user", "").lower()
        token = fields.get("auth", "").removeprefix("Bearer ")
        accepted = user in self.users and token == self.state.token
        self.state.attempts.append(XOAuth2Attempt(user, token, accepted))
        if accepted:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), token.encode()))
        # Office 365 answers a bad token with a plain 535, without Gmail's 334 JSON challenge.
        return AuthResult(
            success=False, handled=False, message="535 5.7.3 Authentication unsuccessful"
        )


class AnyPortController(Controller):
    """aiosmtpd's Controller on a port the OS picks (port=0), so parallel runs never clash."""

    def _trigger_server(self) -> None:
        # Learn the real port before aiosmtpd connects to itself to check it is up.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _start_smtp(handler: _LmtpBridge, **smtp_kwargs: Any) -> AnyPortController:
    controller = AnyPortController(handler, hostname=HOST, port=0, auth_require_tls=False,
                                   **smtp_kwargs)
    controller.start()
    return controller


# --------------------------------------------------------------------------------------------
# The fixture objects


@dataclass(frozen=True)
class StoredMessage:
    uid: int
    flags: tuple[bytes, ...]
    raw: bytes


@dataclass(frozen=True)
class MailServers:
    """The private Dovecot and the SMTP server in front of it, with helpers for tests.

    Helpers take a user as a full address or a bare name ("iro1" means iro1@example.test).
    """

    imap_host: str
    imap_port: int
    lmtp_host: str
    lmtp_port: int
    smtp_host: str  # plain SMTP, no TLS; AUTH PLAIN/LOGIN optional
    smtp_port: int
    password: str  # every test user's password
    users: tuple[str, ...]  # every test user's address
    maildir_root: Path  # <maildir_root>/<address>/ is a user's Maildir
    run_dir: Path  # Dovecot's config, sockets, state and log (log/dovecot.log)
    envelopes: list[Envelope] = field(default_factory=list, compare=False, repr=False)
    script_env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    # IMAP -----------------------------------------------------------------------------------

    def imap_connect(self, user: str) -> IMAPClient:
        """A logged-in IMAP client (plain text, loopback); use it as a context manager."""
        client = IMAPClient(self.imap_host, self.imap_port, ssl=False, timeout=30)
        client.login(_address(user), self.password)
        return client

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Iterable[bytes | str] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message (creating the folder if needed); returns its UID.

        `msg_time` sets the INTERNALDATE (the arrival time IMAP reports); default now.
        """
        with self.imap_connect(user) as client:
            _ensure_folder(client, folder)
            response = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        return _appended_uids(response)[-1]

    def deliver(self, user: str, raw: bytes, received_at: datetime) -> None:
        """Deliver one message into the user's INBOX as a local delivery agent does (Postfix's
        virtual(8), procmail): written to the Maildir's tmp/, given its arrival time, renamed
        into new/. Dovecot reads a Maildir message's INTERNALDATE from the file's mtime, so it
        reports `received_at` even when that is in the future of the machine's clock, which
        APPEND refuses (Dovecot sets an APPEND date more than a little ahead to now).
        """
        maildir = self.maildir_root / _address(user)
        if not (maildir / "new").is_dir():
            with self.imap_connect(user) as client:  # Dovecot makes the Maildir at login
                client.select_folder("INBOX")
        owner = maildir.stat()
        name = f"{time.time_ns()}.M{uuid.uuid4().hex}.mailagent-tests"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.utime(tmp, (received_at.timestamp(), received_at.timestamp()))
        tmp.rename(maildir / "new" / name)
        # Dovecot finds a file dropped in new/ when it next syncs the folder. A session
        # selecting it syncs it now, which also wakes any session in IDLE, as an LDA would:
        # otherwise a drop within a second of a sync may wait for the next one.
        with self.imap_connect(user) as client:
            client.select_folder("INBOX")

    def append_many(self, user: str, raws: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """MULTIAPPEND in one command (1,000 messages in well under 0.1 s); returns the UIDs."""
        messages = list(raws)
        if not messages:
            return []
        with self.imap_connect(user) as client:
            _ensure_folder(client, folder)
            _typ, data = client.multiappend(folder, messages)
        return _appended_uids(data[-1])

    def fetch_messages(self, user: str, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message in the folder, in UID order, without setting \\Seen."""
        with self.imap_connect(user) as client:
            client.select_folder(folder, readonly=True)
            return _fetch(client)

    def fetch_all(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw bytes of every message in the folder, in UID order."""
        return [m.raw for m in self.fetch_messages(user, folder)]

    def wait_for_mail(
        self, user: str, count: int, folder: str = "INBOX", timeout: float = 10.0
    ) -> list[bytes]:
        """Poll until the folder holds at least `count` messages; return all of them.

        Raises AssertionError, saying what did arrive, on timeout.
        """
        deadline = time.monotonic() + timeout
        with self.imap_connect(user) as client:
            while True:
                if client.folder_exists(folder):
                    # Re-SELECT rather than NOOP: it also works before the folder first exists.
                    found = client.select_folder(folder, readonly=True)[b"EXISTS"]
                    if found >= count:
                        return [m.raw for m in _fetch(client)]
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
            arrived = _fetch(client) if client.folder_exists(folder) else []
        subjects = [_subject(m.raw) for m in arrived]
        raise AssertionError(
            f"{_address(user)}/{folder}: expected {count} message(s) within {timeout} s, "
            f"{len(arrived)} arrived: {subjects}; folders: {self.folder_names(user)}; "
            f"the SMTP server accepted {len(self.envelopes)} envelope(s): "
            f"{[(e.mail_from, e.rcpt_tos, _subject(e.data)) for e in self.envelopes]}"
        )

    def folder_names(self, user: str) -> list[str]:
        with self.imap_connect(user) as client:
            return sorted(name for _flags, _sep, name in client.list_folders())

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.imap_connect(user) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def bump_uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Give the folder a new UIDVALIDITY, keeping its messages (and their UIDs); returns it.

        Uses `doveadm mailbox update --uid-validity`. Dovecot disconnects any session that has
        the folder selected ("IMAP session state is inconsistent, please relogin"), as a real
        server may: clients must reconnect and re-sync.
        """
        new = self.uidvalidity(user, folder) + 1
        update = ["mailbox", "update", "-u", _address(user), "--uid-validity", str(new), folder]
        _run(MAILSERVERS_SH, "doveadm", *update, env=self.script_env)
        assert self.uidvalidity(user, folder) == new
        return new

    # Servers --------------------------------------------------------------------------------

    def restart_dovecot(self) -> None:
        """Stop Dovecot (open IMAP connections drop) and start it again."""
        _run(MAILSERVERS_SH, "stop", env=self.script_env)
        _run(MAILSERVERS_SH, "start", env=self.script_env)

    def send(self, mail_from: str, rcpt_tos: Iterable[str], raw: bytes) -> None:
        """Send a message through the SMTP server (unauthenticated)."""
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(mail_from, [_address(r) for r in rcpt_tos], raw)

    def clean(self) -> None:
        """Empty every test user's mailboxes: delete every non-INBOX folder (and subscription)
        and every INBOX message, through IMAP so Dovecot's indexes stay consistent. Users whose
        Maildir is already empty on disk are skipped, which keeps this ~free between tests."""
        for user in self.users:
            if not _maildir_dirty(self.maildir_root / user):
                continue
            with self.imap_connect(user) as client:
                # Children before parents; a \\Noselect parent that was never created itself
                # vanishes with its last child.
                for flags, _sep, name in sorted(client.list_folders(), reverse=True):
                    if name.upper() != "INBOX" and b"\\Noselect" not in flags:
                        client.delete_folder(name)
                # Dovecot keeps subscriptions of deleted folders.
                for _flags, _sep, name in client.list_sub_folders():
                    client.unsubscribe_folder(name)
                client.select_folder("INBOX")
                uids = client.search("ALL")
                if uids:
                    client.delete_messages(uids)
                    client.expunge()


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)


def _appended_uids(response: bytes) -> list[int]:
    """UIDs from UIDPLUS's '[APPENDUID <uidvalidity> <uid-set>]' response code."""
    match = re.search(rb"\[APPENDUID \d+ ([\d:,]+)\]", response)
    assert match, f"no APPENDUID in {response!r}"
    uids: list[int] = []
    for part in match.group(1).decode().split(","):
        first, _, last = part.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


def _fetch(client: IMAPClient) -> list[StoredMessage]:
    # SEARCH first: imapclient 4.1.0 raised ValueError on fetch('1:*') (measured).
    uids = client.search("ALL")
    if not uids:
        return []
    data = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"])
    return [StoredMessage(uid, tuple(data[uid][b"FLAGS"]), data[uid][b"BODY[]"]) for uid in uids]


def _subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default).get("Subject", ""))


def _maildir_dirty(path: Path) -> bool:
    """True if this Maildir (INBOX with folders as '.Name' subdirectories) may hold anything."""
    try:
        if not path.exists():
            return False
        for sub in ("cur", "new", "tmp"):
            if (path / sub).is_dir() and any((path / sub).iterdir()):
                return True
        if any(p.is_dir() and p.name.startswith(".") for p in path.iterdir()):
            return True
        # The file starts with a "V\t2" header line and a blank line; anything after is a name.
        subscriptions = path / "subscriptions"
        return subscriptions.exists() and bool(subscriptions.read_bytes().split(b"\n\n", 1)[-1])
    except OSError:  # e.g. not readable when not root: clean it through IMAP to be safe
        return True


@dataclass
class XOAuth2Smtp:
    """An SMTP server that requires AUTH XOAUTH2 and delivers to Dovecot like `mail_servers`.

    It accepts a test user with bearer token `token`; anything else gets 535. Assign `token`
    to simulate a rotated token. `attempts` records every XOAUTH2 login, `envelopes` every
    accepted message. Both are cleared, and `token` reset, for each test.
    """

    host: str
    port: int
    token: str = XOAUTH2_TOKEN
    envelopes: list[Envelope] = field(default_factory=list)
    attempts: list[XOAuth2Attempt] = field(default_factory=list)

    def reset(self) -> None:
        self.token = XOAUTH2_TOKEN
        self.envelopes.clear()
        self.attempts.clear()


# --------------------------------------------------------------------------------------------
# Fixtures


@contextlib.contextmanager
def running_mail_servers(
    env: Mapping[str, str] | None = None, *, handler: type[_LmtpBridge] = _LmtpBridge,
    envelopes: list[Envelope] | None = None,
) -> Iterator[MailServers]:
    """Dovecot (started if not running; left running) and an SMTP server in front of it.

    Also what the benchmarks (bench/) run on: they pass a `handler` that accepts without
    delivering, and an `envelopes` list of their own.
    """
    env = _script_env() if env is None else env
    _run(MAILSERVERS_SH, "install", env=env)
    _run(MAILSERVERS_SH, "start", env=env)
    conf = _parse_exports(_run(MAILSERVERS_SH, "env", env=env))
    passwd = Path(conf["MAILSERVERS_PASSWD_FILE"]).read_text().splitlines()
    users = tuple(line.split(":", 1)[0] for line in passwd if line)
    password = conf["MAILSERVERS_PASSWORD"]
    envelopes = [] if envelopes is None else envelopes
    bridge = handler(int(conf["MAILSERVERS_LMTP_PORT"]), frozenset(users), envelopes)
    controller = _start_smtp(
        bridge, authenticator=_password_authenticator(frozenset(users), password)
    )
    try:
        yield MailServers(
            imap_host=conf["MAILSERVERS_HOST"],
            imap_port=int(conf["MAILSERVERS_IMAP_PORT"]),
            lmtp_host=conf["MAILSERVERS_HOST"],
            lmtp_port=int(conf["MAILSERVERS_LMTP_PORT"]),
            smtp_host=HOST,
            smtp_port=controller.port,
            password=password,
            users=users,
            maildir_root=Path(conf["MAILSERVERS_MAILDIR_ROOT"]),
            run_dir=Path(conf["MAILSERVERS_DIR"]),
            envelopes=envelopes,
            script_env=env,
        )
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def mail_servers() -> Iterator[MailServers]:
    """Dovecot (started if not running; left running) and an SMTP server for the session."""
    with running_mail_servers() as servers:
        yield servers


@pytest.fixture
def mailboxes(mail_servers: MailServers) -> MailServers:
    """`mail_servers` with every test user's mailboxes emptied and no envelopes recorded."""
    mail_servers.clean()
    mail_servers.envelopes.clear()
    return mail_servers


@pytest.fixture(scope="session")
def _xoauth2_server(mail_servers: MailServers) -> Iterator[XOAuth2Smtp]:
    state = XOAuth2Smtp(host=HOST, port=0)
    handler = _XOAuth2Bridge(state, mail_servers.lmtp_port, frozenset(mail_servers.users))
    controller = _start_smtp(handler, auth_required=True, auth_exclude_mechanism=["PLAIN", "LOGIN"])
    state.port = controller.port
    try:
        yield state
    finally:
        controller.stop()


@pytest.fixture
def xoauth2_smtp(_xoauth2_server: XOAuth2Smtp) -> XOAuth2Smtp:
    """The XOAUTH2 SMTP server, reset for this test (token back to XOAUTH2_TOKEN)."""
    _xoauth2_server.reset()
    return _xoauth2_server


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL: MAILAGENT_TEST_POSTGRES_URL if set, else database mailagent_test on the
    private PostgreSQL (installed and started if need be; left running)."""
    url = os.environ.get("MAILAGENT_TEST_POSTGRES_URL")
    if url:
        return url
    env = dict(os.environ)
    _run(POSTGRES_SH, "install", env=env)
    _run(POSTGRES_SH, "start", env=env)
    return _parse_exports(_run(POSTGRES_SH, "env", env=env))["MAILAGENT_TEST_POSTGRES_URL"]


def _admin_connect(url: str) -> psycopg.Connection[Any]:
    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port,
        user=u.username,
        password=u.password,
        dbname=u.database,
        autocommit=True,  # CREATE/DROP DATABASE cannot run in a transaction
    )


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database, dropped after the test."""
    name = f"mailagent_t_{uuid.uuid4().hex[:12]}"
    with _admin_connect(postgres_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connect(postgres_url) as conn:
            # FORCE: a test may leave a pooled connection open.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (the agent's own SQLite file), then a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_db_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def each_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test twice: every agent it builds (by tests.support, unless the test names a
    database) on its own SQLite file, then on a fresh PostgreSQL database. For whole modules:
    `pytestmark = pytest.mark.usefixtures("each_database")`."""
    if request.param == "postgresql":
        from tests import support

        monkeypatch.setattr(support, "DEFAULT_DATABASE_URL",
                            str(request.getfixturevalue("postgres_db_url")))
    return str(request.param)


def pytest_configure(config: pytest.Config) -> None:
    # xoauth2_smtp requires AUTH without TLS on purpose (loopback only); aiosmtpd warns per
    # connection.
    config.addinivalue_line(
        "filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the servers they use, so `-m "not servers"` / `-m "not postgres"` work."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & SERVER_FIXTURES:
            item.add_marker(pytest.mark.servers)
        if names & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
