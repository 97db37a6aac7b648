"""Logging set-up: plain or JSON lines carrying case references and Message-IDs.

Log calls pass identifiers only (case reference, inbound/outbound row ids, Message-ID);
never a child's name, an email body or a subject, which may carry personal data.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

CONTEXT_KEYS = ("case_ref", "inbound_id", "outbound_id", "message_id", "source")


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


def configure_logging(level: str = "INFO", *, json_format: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=True)
        )
    else:
        handler.setFormatter(_ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
