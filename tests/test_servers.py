"""The test servers are real: SMTP -> LMTP -> Dovecot -> IMAP, XOAUTH2 checks, PostgreSQL."""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage

import pytest
import sqlalchemy

from tests.servers import XOAUTH2_TOKEN, MailServers, XOAuth2Smtp


def _message(subject: str, to: str = "iro1@example.test") -> bytes:
    msg = EmailMessage()
    msg["From"] = "outsider@example.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@example.test>"
    msg.set_content(f"Body of {subject}.\n")
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as IMAP hands it back


def _xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


@pytest.mark.servers
def test_smtp_delivers_to_every_recipient(mailboxes: MailServers) -> None:
    raw = _message("two recipients", to="iro1@example.test, tm1@example.test")
    mailboxes.send("outsider@example.test", ["iro1@example.test", "tm1"], raw)

    for user in ("iro1", "tm1"):
        (got,) = mailboxes.wait_for_mail(user, 1)
        assert b"Subject: two recipients" in got
        assert b"Body of two recipients." in got
    assert mailboxes.fetch_all("iro2") == []
    (envelope,) = mailboxes.envelopes
    assert envelope.mail_from == "outsider@example.test"
    assert envelope.rcpt_tos == ("iro1@example.test", "tm1@example.test")
    assert envelope.auth_user is None
    assert envelope.message()["Subject"] == "two recipients"


@pytest.mark.servers
def test_smtp_rejects_unknown_recipient(mailboxes: MailServers) -> None:
    with smtplib.SMTP(mailboxes.smtp_host, mailboxes.smtp_port) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("agent@example.test", ["nobody@example.test"], _message("lost"))
        assert refused.value.recipients["nobody@example.test"][0] == 550
        # A mix: the known recipient still gets it.
        rejected = smtp.sendmail(
            "agent@example.test", ["nobody@example.test", "sm1@example.test"], _message("mixed")
        )
    assert rejected["nobody@example.test"][0] == 550
    assert len(mailboxes.wait_for_mail("sm1", 1)) == 1


@pytest.mark.servers
def test_smtp_auth_is_optional_and_checked(mailboxes: MailServers) -> None:
    with smtplib.SMTP(mailboxes.smtp_host, mailboxes.smtp_port) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
            smtp.login("agent@example.test", "wrong")
        assert failed.value.smtp_code == 535
        smtp.login("agent@example.test", mailboxes.password)
        smtp.sendmail("agent@example.test", ["hos1@example.test"], _message("authenticated"))
    assert mailboxes.envelopes[-1].auth_user == "agent@example.test"
    mailboxes.wait_for_mail("hos1", 1)


@pytest.mark.servers
def test_append_then_fetch(mailboxes: MailServers) -> None:
    first, second = _message("first"), _message("second")
    uid1 = mailboxes.append("iro2", first)
    uid2 = mailboxes.append("iro2", second)
    assert uid2 > uid1
    assert mailboxes.fetch_all("iro2") == [first, second]
    # Fetching does not mark the messages read.
    assert all(b"\\Seen" not in m.flags for m in mailboxes.fetch_messages("iro2"))

    uids = mailboxes.append_many("iro2", [_message(f"bulk {i}") for i in range(50)], "Archive/2026")
    assert len(uids) == 50
    assert "Archive/2026" in mailboxes.folder_names("iro2")
    assert len(mailboxes.fetch_all("iro2", "Archive/2026")) == 50


@pytest.mark.servers
def test_wait_for_mail_times_out_saying_what_arrived(mailboxes: MailServers) -> None:
    mailboxes.append("sw1", _message("only one"))
    with pytest.raises(AssertionError, match=r"expected 2 message\(s\).*1 arrived.*only one"):
        mailboxes.wait_for_mail("sw1", 2, timeout=0.2)


@pytest.mark.servers
def test_xoauth2_accepts_the_right_token(mailboxes: MailServers, xoauth2_smtp: XOAuth2Smtp) -> None:
    assert xoauth2_smtp.token == XOAUTH2_TOKEN
    with smtplib.SMTP(xoauth2_smtp.host, xoauth2_smtp.port) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["XOAUTH2"]
        code, _ = smtp.auth(
            "XOAUTH2", lambda _challenge=None: _xoauth2("agent@example.test", XOAUTH2_TOKEN)
        )
        assert code == 235
        smtp.sendmail("agent@example.test", ["ad1@example.test"], _message("by xoauth2"))
    assert len(mailboxes.wait_for_mail("ad1", 1)) == 1
    assert xoauth2_smtp.envelopes[-1].auth_user == "agent@example.test"
    assert [a.accepted for a in xoauth2_smtp.attempts] == [True]


@pytest.mark.servers
def test_xoauth2_refuses_a_wrong_token(xoauth2_smtp: XOAuth2Smtp) -> None:
    xoauth2_smtp.token = "rotated-token"
    with smtplib.SMTP(xoauth2_smtp.host, xoauth2_smtp.port) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
            smtp.sendmail("agent@example.test", ["ad1@example.test"], _message("no auth"))
        assert unauthenticated.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
            smtp.auth(
                "XOAUTH2", lambda _challenge=None: _xoauth2("agent@example.test", XOAUTH2_TOKEN)
            )
        assert failed.value.smtp_code == 535
        # The same connection may try again, with the right token.
        code, _ = smtp.auth(
            "XOAUTH2", lambda _challenge=None: _xoauth2("agent@example.test", "rotated-token")
        )
        assert code == 235
    assert [(a.token, a.accepted) for a in xoauth2_smtp.attempts] == [
        (XOAUTH2_TOKEN, False),
        ("rotated-token", True),
    ]
    assert xoauth2_smtp.envelopes == []


@pytest.mark.servers
def test_clean_empties_every_mailbox(mailboxes: MailServers) -> None:
    mailboxes.append("tm2", _message("in inbox"))
    mailboxes.append("tm2", _message("filed"), folder="Escalations/Done")
    with mailboxes.imap_connect("tm2") as client:
        client.subscribe_folder("Escalations/Done")
    mailboxes.send("outsider@example.test", ["manager"], _message("sent"))
    mailboxes.wait_for_mail("manager", 1)

    mailboxes.clean()

    for user in ("tm2", "manager"):
        assert mailboxes.folder_names(user) == ["INBOX"]
        assert mailboxes.fetch_all(user) == []
    with mailboxes.imap_connect("tm2") as client:
        assert client.list_sub_folders() == []


@pytest.mark.servers
def test_bump_uidvalidity_changes_it_and_keeps_the_messages(mailboxes: MailServers) -> None:
    mailboxes.append("iro1", _message("before the bump"))
    mailboxes.append("iro1", _message("filed"), folder="Processed")
    before = {f: mailboxes.uidvalidity("iro1", f) for f in ("INBOX", "Processed")}

    for folder in ("INBOX", "Processed"):
        assert mailboxes.bump_uidvalidity("iro1", folder) != before[folder]
        assert mailboxes.uidvalidity("iro1", folder) != before[folder]
    assert len(mailboxes.fetch_all("iro1")) == 1
    assert len(mailboxes.fetch_all("iro1", "Processed")) == 1


@pytest.mark.servers
def test_restart_dovecot_drops_connections_and_comes_back(mailboxes: MailServers) -> None:
    mailboxes.append("sm2", _message("survives a restart"))
    client = mailboxes.imap_connect("sm2")
    client.select_folder("INBOX")

    mailboxes.restart_dovecot()

    with pytest.raises((OSError, client.AbortError)):
        client.noop()
    assert len(mailboxes.fetch_all("sm2")) == 1


@pytest.mark.postgres
def test_postgres_url_connects(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_db_url_is_a_fresh_database(postgres_url: str, postgres_db_url: str) -> None:
    assert postgres_db_url != postgres_url
    engine = sqlalchemy.create_engine(postgres_db_url)
    try:
        with engine.begin() as conn:
            assert sqlalchemy.inspect(conn).get_table_names() == []
            conn.execute(sqlalchemy.text("create table t (x int)"))
            name = conn.execute(sqlalchemy.text("select current_database()")).scalar()
            assert name == postgres_db_url.rsplit("/", 1)[1]
    finally:
        engine.dispose()
