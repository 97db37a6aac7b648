"""Writes the corpus's Outlook files from `tests.outlook_files`; test_outlook checks that
the committed files are exactly what this makes, so they can always be made again.

Run: .venv/bin/python -m tests.make_outlook_corpus
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.outlook_files import outlook_item, winmail_dat

CORPUS = Path(__file__).resolve().parent / "corpus"
OURS = "<176458452301.4021.9981726354418273645@northshire.example.test>"
SUBJECT = ("[ESC-2026-0042] Stage 1: Team Manager: Formal escalation for child 654321, "
           "response by 4 Dec")

# The manager's reply, received in Outlook and saved from it as a .msg file.
RECEIVED_HEADERS = (
    "Received: from LO2P265MB5614.GBRP265.PROD.OUTLOOK.COM by LO4P265MB6207.GBRP265.PROD."
    "OUTLOOK.COM with HTTPS; Wed, 2 Dec 2026 09:41:07 +0000\r\n"
    "From: Aisha Khan <aisha.khan@northshire.example.test>\r\n"
    "To: IRO Escalations <iro-escalations@northshire.example.test>\r\n"
    f"Subject: RE: {SUBJECT}\r\n"
    "Date: Wed, 2 Dec 2026 09:41:05 +0000\r\n"
    "Message-ID: <LO2P265MB5614A1B2C3D4E5F6A7B8C9D0E1F2A3B4@LO2P265MB5614.GBRP265.PROD."
    "OUTLOOK.COM>\r\n"
    f"In-Reply-To: {OURS}\r\nReferences: {OURS}\r\n"
    "Content-Type: multipart/alternative; boundary=\"_000_\"\r\nMIME-Version: 1.0\r\n\r\n"
)
REPLY_BODY = (
    "#resolved\r\nOutcome: Sibling contact resumed on Saturday.\r\n\r\nAisha\r\n\r\n"
    f"From: IRO Escalations <iro-escalations@northshire.example.test>\r\nSent: 01 December "
    f"2026 15:06\r\nTo: Aisha Khan\r\nSubject: {SUBJECT}\r\n\r\nDear Aisha Khan,\r\n"
    "[ma:ESC-2026-0042]\r\n"
)

RICH_TEXT = (
    r"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss\fcharset0 Calibri;}}"
    r"{\*\htmltag19 <html>}{\*\htmltag34 <body>}"
    r"{\*\htmltag64 <p class=MsoNormal>}\htmlrtf {\htmlrtf0 Hi Si\'e2n,"
    r"{\*\htmltag72 </p>}\htmlrtf }\htmlrtf0 "
    r"{\*\htmltag64 <p class=MsoNormal>}\htmlrtf {\htmlrtf0 The contact plan is attached: "
    r"sibling contact every other Saturday from 12 December.{\*\htmltag72 </p>}\htmlrtf }"
    r"\htmlrtf0 {\*\htmltag64 <p class=MsoNormal>}\htmlrtf {\htmlrtf0 Gareth"
    r"{\*\htmltag72 </p>}\htmlrtf }\htmlrtf0 "
    r"{\*\htmltag42 </body>}{\*\htmltag27 </html>}}"
)


def dropped_item() -> bytes:
    return outlook_item(subject=f"RE: {SUBJECT}", body=REPLY_BODY,
                        sender="aisha.khan@northshire.example.test", sender_name="Aisha Khan",
                        transport_headers=RECEIVED_HEADERS)


def rich_text_email() -> bytes:
    tnef = winmail_dat(rtf=RICH_TEXT, attachments=(("Contact plan.pdf", b"%PDF-1.4\n%..."),))
    encoded = base64.encodebytes(tnef).decode("ascii").replace("\n", "\r\n")
    return (
        "From: Gareth Pryce <gareth.pryce@northshire.example.test>\r\n"
        "To: IRO Escalations <iro-escalations@northshire.example.test>\r\n"
        f"Subject: RE: {SUBJECT}\r\n"
        "Date: Wed, 2 Dec 2026 10:15:00 +0000\r\n"
        "Message-ID: <EXCH2016.5521.richtext@northshire.example.test>\r\n"
        f"In-Reply-To: {OURS}\r\n"
        "MIME-Version: 1.0\r\n"
        "X-MS-TNEF-Correlator: <EXCH2016.5521.richtext@northshire.example.test>\r\n"
        'Content-Type: multipart/mixed;\r\n\tboundary="----=_NextPart_000_0077_01DB4562"\r\n'
        "\r\nThis is a multi-part message in MIME format.\r\n\r\n"
        "------=_NextPart_000_0077_01DB4562\r\n"
        'Content-Type: application/ms-tnef;\r\n\tname="winmail.dat"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment;\r\n\tfilename="winmail.dat"\r\n\r\n'
        f"{encoded}\r\n------=_NextPart_000_0077_01DB4562--\r\n"
    ).encode("ascii")


FILES = {
    "outlook-item-dropped.msg": dropped_item,
    "outlook-rich-text-winmail.eml": rich_text_email,
}

if __name__ == "__main__":
    for name, make in FILES.items():
        (CORPUS / name).write_bytes(make())
        print("wrote", name)
