"""MIME helpers for transports that take recipients from the headers (Graph, EWS)."""

from __future__ import annotations

import re
from email.utils import getaddresses

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ADDRESS_HEADERS = ("to", "cc", "bcc")


def with_bcc_for_unnamed(raw: bytes, recipients: list[str]) -> bytes:
    """`raw` with a Bcc header for every envelope recipient its To, Cc and Bcc do not name.

    The bytes are otherwise untouched (no re-serialising), so signatures, folding and our
    Message-ID stay exactly as queued.
    """
    match = _HEADER_END.search(raw)
    head = raw[: match.start()] if match else raw
    named = {address.lower() for _, address in getaddresses(_header_values(head))}
    missing = [r for r in recipients if r.lower() not in named]
    if not missing:
        return raw
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    bcc = b"Bcc: " + ", ".join(missing).encode("ascii", "replace") + newline
    return bcc + raw


def _header_values(head: bytes) -> list[str]:
    """The values of the To, Cc and Bcc headers, unfolded."""
    text = head.decode("ascii", "replace")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", text)
    values = []
    for line in unfolded.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in _ADDRESS_HEADERS:
            values.append(value.strip())
    return values
