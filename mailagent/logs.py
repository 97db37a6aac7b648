"""Logging set-up: plain or JSON lines carrying case references and Message-IDs.

Log calls pass identifiers only (case reference, inbound/outbound row ids, Message-ID);
never a child's name, an email body or a subject, which may carry personal data. Three
guards back that up:

* `log_context(...)` puts identifiers on every line logged inside it (the Message-ID of the
  message being handled, say), so a call need not repeat them;
* the JSON formatter writes only the standard fields and the identifiers in CONTEXT_KEYS,
  so an `extra={"subject": ...}` slipped in by mistake never reaches the log;
* the mail libraries' own loggers stay at WARNING even when ours is at DEBUG, because their
  debug output is the protocol itself: whole messages, SOAP bodies, bearer tokens.

Libraries' housekeeping lines ("Context impl SQLiteImpl.") stay out too: a quiet pass logs
nothing, so cron mails only on trouble, and what matters (a migration) mailagent logs itself.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email.parser import BytesHeaderParser
from typing import Any

from pythonjsonlogger.json import JsonFormatter

HEAD_BYTES = 64 * 1024  # where a Message-ID is looked for
CONTEXT_KEYS = ("case_ref", "inbound_id", "outbound_id", "message_id", "source")
PROTOCOL_LOGGERS = (
    "imapclient", "exchangelib", "msal", "httpx", "httpcore", "urllib3", "requests_ntlm",
    "aiosmtpd", "mail.log",
)
HOUSEKEEPING_LOGGERS = ("alembic",)
_STANDARD_FIELDS = ("asctime", "timestamp", "levelname", "name", "message", "exc_info",
                    "stack_info")

# An immutable default: each log_context() sets a new tuple of pairs.
_context: ContextVar[tuple[tuple[str, object], ...]] = ContextVar(
    "mailagent_log_context", default=()
)


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Every line logged inside carries these identifiers (None values are left out)."""
    unknown = set(ids) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"not a log identifier: {', '.join(sorted(unknown))}")
    merged = {**dict(_context.get()), **{k: v for k, v in ids.items() if v is not None}}
    token = _context.set(tuple(merged.items()))
    try:
        yield
    finally:
        _context.reset(token)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID of raw mail, for log lines and the inbound record: only the start of
    the header block is parsed, so a huge email costs no more than a small one."""
    head = re.split(rb"\r?\n\r?\n", raw[:HEAD_BYTES], maxsplit=1)[0]
    value = str(BytesHeaderParser().parsebytes(head).get("Message-ID") or "").strip()
    return value[:998] or None


class _ContextFilter(logging.Filter):
    """Copies the current `log_context` identifiers onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class _ContextFormatter(logging.Formatter):
    """Plain text with whichever context identifiers the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}"
            for key in CONTEXT_KEYS
            if getattr(record, key, None) is not None
        )
        return f"{line} {context}" if context else line


class _IdentifiersOnlyJson(JsonFormatter):
    """One JSON object per line, holding the standard fields and known identifiers only."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        gathered: dict[str, Any] = {}
        super().add_fields(gathered, record, message_dict)
        allowed = (*_STANDARD_FIELDS, *CONTEXT_KEYS)
        log_data.update({k: v for k, v in gathered.items() if k in allowed and v is not None})


def configure_logging(level: str = "INFO", *, json_format: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(
            _IdentifiersOnlyJson("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=True)
        )
    else:
        handler.setFormatter(_ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in (*PROTOCOL_LOGGERS, *HOUSEKEEPING_LOGGERS):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
