"""Sending by SMTP (smtplib): STARTTLS or implicit TLS, password or XOAUTH2.

TLS is as configured or not at all: with `security = "starttls"` a server that does not
offer STARTTLS is refused before anything is sent or any password or token is given, and
the server's certificate is always verified (against the system's CAs, or a council's own
CA file).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from typing import Literal

from mailagent.transports.base import PermanentFailure, TemporaryFailure

Security = Literal["starttls", "ssl", "none"]


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        token_provider: Callable[[], str] | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self._username, self._password = username, password
        self._token_provider = token_provider
        self._timeout = timeout
        self._context = ssl_context or ssl.create_default_context()

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        """Hand the message over. Only the server's answers about this message (to its
        recipients, RCPT, and to its content, DATA) can refuse it for good; a refusal before
        that (the greeting, EHLO, our login, our sender address) is about us or the server,
        so it is temporary whatever its code, and the email waits until it is put right."""
        try:
            with self._connect() as smtp:
                refused = smtp.sendmail(sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _failure(exc.recipients) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # A refused login is ours to fix (an expired or revoked token, a changed
            # password), not the message's: retry it later, with a fresh token.
            invalidate = getattr(self._token_provider, "invalidate", None)
            if invalidate is not None:
                invalidate()
            reason = f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise TemporaryFailure(reason) from exc
        except smtplib.SMTPDataError as exc:
            reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(reason) from exc
            raise TemporaryFailure(reason, this_message=True) from exc
        except smtplib.SMTPSenderRefused as exc:
            reason = f"sender refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            if exc.smtp_code == 552:  # RFC 1870: the message is larger than the server takes
                raise PermanentFailure(reason) from exc
            raise TemporaryFailure(reason) from exc
        except smtplib.SMTPResponseException as exc:  # the greeting, EHLO, STARTTLS, 421
            raise TemporaryFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            # Some recipients accepted, some refused: the message is out; say who missed it.
            raise PartialDelivery(refused)

    def close(self) -> None:
        return None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TemporaryFailure(
                        f"{self.host}:{self.port} does not offer STARTTLS; nothing was sent "
                        "and no credentials were given without TLS"
                    )
                smtp.starttls(context=self._context)
                smtp.ehlo()
            self._authenticate(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _authenticate(self, smtp: smtplib.SMTP) -> None:
        if self._token_provider is not None and self._username:
            token = self._token_provider()
            smtp.auth(
                "XOAUTH2",
                lambda challenge=None: f"user={self._username}\x01auth=Bearer {token}\x01\x01",
                initial_response_ok=True,
            )
        elif self._username and self._password is not None:
            smtp.login(self._username, self._password)


class PartialDelivery(PermanentFailure):
    """Accepted for some recipients only. `refused` (5xx) will not get it by retrying;
    `deferred` (4xx) may, later."""

    def __init__(self, refused: dict[str, tuple[int, bytes]]) -> None:
        answers = {addr: (code, _text(msg)) for addr, (code, msg) in refused.items()}
        self.refused = {a: answer for a, answer in answers.items() if answer[0] >= 500}
        self.deferred = {a: answer for a, answer in answers.items() if answer[0] < 500}
        super().__init__(
            "not accepted for: " + ", ".join(f"{a} ({c} {m})" for a, (c, m) in answers.items())
        )


def _failure(refused: dict[str, tuple[int, bytes]]) -> Exception:
    codes = [code for code, _ in refused.values()]
    text = ", ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in refused.items())
    if all(500 <= code < 600 for code in codes):
        return PermanentFailure(f"all recipients refused: {text}")
    return TemporaryFailure(f"recipients refused: {text}", this_message=True)


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else message
