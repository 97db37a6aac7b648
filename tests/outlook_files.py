"""Outlook's own files, made for tests from their published formats: an Outlook item
(.msg, [MS-OXMSG]: an OLE compound file of MAPI property streams) and TNEF
(winmail.dat, [MS-OXTNEF]: attributes, each with a checksum, one of them the MAPI
properties). Written by extract-msg's OLE writer and by hand; never copied from elsewhere.
"""

from __future__ import annotations

import io
import struct

from compressed_rtf import compress
from extract_msg.ole_writer import OleWriter

# -- .msg ---------------------------------------------------------------------------------


def outlook_item(*, subject: str, body: str, sender: str, sender_name: str,
                 transport_headers: str | None = None, message_class: str = "IPM.Note") -> bytes:
    """A saved Outlook item: its class, subject, body and sender as Unicode property
    streams (PT_UNICODE, 0x001F), and the transport headers Outlook keeps for an email it
    received (PR_TRANSPORT_MESSAGE_HEADERS, 0x007D)."""
    writer = OleWriter()
    header = bytearray(32)  # reserved, next recipient and attachment ids, their counts
    writer.addEntry("__properties_version1.0", bytes(header))
    writer.addEntry("__nameid_version1.0", storage=True)
    for stream in ("00020102", "00030102", "00040102"):
        writer.addEntry(f"__nameid_version1.0/__substg1.0_{stream}", b"")
    strings = {"001A": message_class, "0037": subject, "1000": body, "0C1F": sender,
               "0C1A": sender_name, "5D01": sender}
    if transport_headers is not None:
        strings["007D"] = transport_headers
    for tag, value in strings.items():
        writer.addEntry(f"__substg1.0_{tag}001F", value.encode("utf-16-le"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- TNEF -------------------------------------------------------------------------------

_SIGNATURE = 0x223E9F78
_MESSAGE, _ATTACHMENT = 0x01, 0x02
_BYTE, _STRING, _DWORD = 0x0006, 0x0007, 0x0008
_PT_LONG, _PT_BINARY, _PT_UNICODE = 0x0003, 0x0102, 0x001F


def _attribute(level: int, attr_id: int, attr_type: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, attr_id, attr_type, len(data)) + data + struct.pack(
        "<H", checksum)


def _mapi(properties: list[tuple[int, int, bytes]]) -> bytes:
    out = struct.pack("<I", len(properties))
    for prop_type, prop_id, value in properties:
        out += struct.pack("<HH", prop_type, prop_id)
        if prop_type in (_PT_BINARY, _PT_UNICODE):
            padded = value + b"\x00" * (-len(value) % 4)
            out += struct.pack("<II", 1, len(value)) + padded
        else:
            out += value
    return out


def winmail_dat(*, rtf: str | None = None, body: str | None = None,
                attachments: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A winmail.dat as Exchange writes Outlook's rich-text email: the version, the code
    page, the message class, the MAPI properties holding the text (PR_RTF_COMPRESSED,
    0x1009, as Outlook sends it; or PR_BODY, 0x1000) and each attachment."""
    out = struct.pack("<IH", _SIGNATURE, 0x0001)
    out += _attribute(_MESSAGE, 0x9006, _DWORD, struct.pack("<I", 0x00010000))
    out += _attribute(_MESSAGE, 0x9007, _BYTE, struct.pack("<II", 1252, 0))
    out += _attribute(_MESSAGE, 0x8008, _STRING, b"IPM.Microsoft Mail.Note\x00")
    properties = [(_PT_LONG, 0x3FDE, struct.pack("<I", 65001))]  # PR_INTERNET_CPID: UTF-8
    if rtf is not None:
        properties.append((_PT_BINARY, 0x1009, compress(rtf.encode("latin-1"), compressed=True)))
    if body is not None:
        properties.append((_PT_UNICODE, 0x1000, (body + "\x00").encode("utf-16-le")))
    out += _attribute(_MESSAGE, 0x9003, _BYTE, _mapi(properties))
    for name, data in attachments:
        out += _attribute(_ATTACHMENT, 0x9002, _BYTE, b"\x01\x00" + b"\xff" * 12)
        out += _attribute(_ATTACHMENT, 0x8010, 0x0001, name.encode("latin-1") + b"\x00")
        out += _attribute(_ATTACHMENT, 0x800F, _BYTE, data)
        out += _attribute(_ATTACHMENT, 0x9005, _BYTE, _mapi(
            [(_PT_UNICODE, 0x3707, (name + "\x00").encode("utf-16-le"))]))
    return out
