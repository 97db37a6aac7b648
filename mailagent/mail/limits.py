"""What one email may ask of us, checked on its raw bytes before anything parses it.

Parsing is where hostile mail costs memory and time: RFC 2047 encoded words in a long
header (a 130 KB subject of them once took 200 MB to decode), thousands of MIME parts,
multiparts nested thousands deep, a 50 MB attachment decoded in memory. So the sizes are
measured on the bytes first, with byte operations only, and an email over a limit is
quarantined with its reason, unread. `envelope` gives the few header fields needed to tell
its sender (each cut short), which is safe to parse.

The limits are settings (`[limits]`, `mailagent.safety.LimitsSettings`).
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from email.message import Message

from mailagent.safety import LimitsSettings

MIB = 1024 * 1024
# The fields that say who sent an email and who vouches for them: enough to answer them.
ENVELOPE_FIELDS = (
    b"from", b"date", b"message-id", b"authentication-results",
    b"x-ms-exchange-organization-authas",
)
ENVELOPE_FIELD_BYTES = 2048
_MULTIPART = re.compile(rb"(?im)^content-type:\s*multipart/")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def over_limit(raw: bytes, limits: LimitsSettings) -> str | None:
    """Why `raw` is more than one email may be, in words for its sender; None if it is not."""
    if len(raw) > limits.max_message_bytes:
        return f"it is {_size(len(raw))}, and the most that can be read is " \
               f"{_size(limits.max_message_bytes)}"
    head = header_block(raw, limits.max_header_bytes)
    if head is None:
        return f"its header is longer than {_size(limits.max_header_bytes)}"
    longest = max((len(field) for field in _fields(head)), default=0)
    if longest > limits.max_header_field_bytes:
        return f"one of its header fields is {_size(longest)} long, and the most that can " \
               f"be read is {_size(limits.max_header_field_bytes)}"
    # Each multipart declares itself on a line of its own: more of them than parts allowed
    # is too many parts, found without building the tree (the parser recurses per level).
    if len(_MULTIPART.findall(raw)) > limits.max_parts:
        return f"it has more than {limits.max_parts} parts"
    return _structure_problem(raw, limits)


def header_block(raw: bytes, most: int) -> bytes | None:
    """The header block (up to the blank line), or None if it runs past `most` bytes."""
    found = _HEADER_END.search(raw, 0, most + 4)
    if found is not None:
        return raw[: found.start()]
    return raw if len(raw) <= most else None


def envelope(raw: bytes) -> bytes:
    """Only the header fields that say who sent `raw` and who vouches for them, in their
    order, each cut to a safe length: an email that can be parsed whatever `raw` is."""
    head = raw[: 64 * 1024]
    kept = [
        field[:ENVELOPE_FIELD_BYTES]
        for field in _fields(header_block(head, len(head)) or head)
        if field.split(b":", 1)[0].strip().lower() in ENVELOPE_FIELDS
    ]
    return b"\r\n".join(kept) + b"\r\n\r\n"


def _fields(head: bytes) -> list[bytes]:
    """Header fields with their folded continuation lines."""
    fields: list[bytes] = []
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def _structure_problem(raw: bytes, limits: LimitsSettings) -> str | None:
    """Parts, nesting and attachment sizes, read from the parsed tree (compat32, which
    decodes nothing)."""
    try:
        tree = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except RecursionError:  # deeper than the parser can go
        return f"its parts are nested more than {limits.max_depth} deep"
    parts, stack = 0, [(tree, 1)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if depth > limits.max_depth:
            return f"its parts are nested more than {limits.max_depth} deep"
        if parts > limits.max_parts:
            return f"it has more than {limits.max_parts} parts"
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
        elif isinstance(payload, str):
            size = _decoded_size(part, payload)
            if size > limits.max_attachment_bytes:
                return f"an attachment is {_size(size)}, and the most that can be read is " \
                       f"{_size(limits.max_attachment_bytes)}"
    return None


def _decoded_size(part: Message, payload: str) -> int:
    """About how many bytes the part decodes to, without decoding it."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    return len(payload) * 3 // 4 if encoding == "base64" else len(payload)


def _size(count: int) -> str:
    return f"{count / MIB:.0f} MB" if count >= MIB else f"{max(1, count // 1024)} KB"
