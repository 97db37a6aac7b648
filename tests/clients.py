"""Emails as people's mail clients write them, for the agent to read in tests.

Outlook (desktop and Microsoft 365 on the web) and Gmail: a new email, and a reply to one
of the agent's emails with the client's subject prefix, threading headers, quoted history
in both text and HTML, and Outlook's Thread-Index. Also the machine mail the agent meets:
an Exchange out-of-office and a delivery failure report. Every builder takes the instant
the person sent it, so the Date header agrees with the test's clock.
"""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, getaddresses, make_msgid
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MAILBOX = "agent@example.test"


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


# -- Outlook ----------------------------------------------------------------------------


def outlook_new(sender: str, subject: str, body: str, *, at: datetime,
                to: str = MAILBOX, cc: str | None = None) -> bytes:
    """A new email from Outlook for Microsoft 365 (desktop): Word's HTML and a Thread-Index."""
    msg = _base(sender, to, cc, subject, at, _outlook_id(sender, subject, at))
    msg["Thread-Topic"] = subject
    msg["Thread-Index"] = _thread_index(None, sender + subject, at)
    msg["Content-Language"] = "en-GB"
    msg["X-MS-Has-Attach"] = ""
    msg.set_content(body.replace("\n", "\r\n"))
    msg.add_alternative(_word_html(body, quoted=""), subtype="html")
    return msg.as_bytes()


def outlook_reply(original: bytes, sender: str, body: str, *, at: datetime,
                  web: bool = False, reply_all: bool = True) -> bytes:
    """Reply (All) from Outlook: "RE:", the "From: ... Sent: ..." block, Thread-Index.

    `web` writes it as Outlook on the web does (divRplyFwdMsg); otherwise as the desktop
    client's Word engine does (a bordered header block and no id to find it by).
    """
    orig = parse(original)
    subject = str(orig["Subject"])
    to, cc = _reply_addresses(orig, sender, reply_all)
    msg = _base(sender, to, cc, f"RE: {subject}", at, _outlook_id(sender, subject, at))
    _thread(msg, orig)
    msg["Thread-Topic"] = _strip_prefixes(subject)
    msg["Thread-Index"] = _thread_index(orig.get("Thread-Index"), sender + subject, at)
    msg["Content-Language"] = "en-GB"
    header_lines = [
        ("From", str(orig["From"])),
        ("Sent", _outlook_date(orig)),
        ("To", "; ".join(_names(orig, "To"))),
        *([("Cc", "; ".join(_names(orig, "Cc")))] if orig["Cc"] else []),
        ("Subject", subject),
    ]
    text_quote = "\n".join(f"{k}: {v}" for k, v in header_lines)
    text = f"{body}\n\n________________________________\n{text_quote}\n\n{_text_of(orig)}"
    msg.set_content(text.replace("\n", "\r\n"))
    quoted_headers = "<br>".join(f"<b>{k}:</b> {html.escape(v)}" for k, v in header_lines)
    original_html = _html_of(orig)
    if web:
        quoted = (
            '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" '
            'tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
            f'style="font-size:11pt" color="#000000">{quoted_headers}</font><div>&nbsp;</div>'
            f"</div><div>{original_html}</div>"
        )
        msg.add_alternative(_web_html(body, quoted), subtype="html")
    else:
        quoted = (
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
            f'<p class="MsoNormal">{quoted_headers}</p></div>'
            f'<p class="MsoNormal"><o:p>&nbsp;</o:p></p>{original_html}'
        )
        msg.add_alternative(_word_html(body, quoted), subtype="html")
    return msg.as_bytes()


def _word_html(body: str, quoted: str) -> str:
    paragraphs = "".join(
        f'<p class="MsoNormal">{html.escape(line) or "<o:p>&nbsp;</o:p>"}</p>'
        for line in body.split("\n")
    )
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word"><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;}'
        " --></style></head>"
        '<body lang="EN-GB" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">'
        f'<div class="WordSection1">{paragraphs}<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        f"{quoted}</div></body></html>"
    )


def _web_html(body: str, quoted: str) -> str:
    lines = "".join(
        '<div class="elementToProof" style="font-family:Aptos,sans-serif;font-size:12pt">'
        f"{html.escape(line) or '<br>'}</div>"
        for line in body.split("\n")
    )
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        f'</style></head><body dir="ltr">{lines}{quoted}</body></html>'
    )


def _thread_index(parent: str | None, seed: str, at: datetime) -> str:
    """Outlook's Thread-Index: 22 bytes for a new conversation, plus 5 for each reply."""
    if parent:
        raw = base64.b64decode("".join(parent.split()))
        child = hashlib.sha256(f"{seed}{at.isoformat()}".encode()).digest()[:5]
        return base64.b64encode(raw + child).decode()
    header = hashlib.sha256(f"{seed}{at.isoformat()}".encode()).digest()[:6]
    guid = hashlib.md5(f"conversation {seed}{at.isoformat()}".encode()).digest()
    return base64.b64encode(b"\x01" + header[1:] + guid).decode()


def _outlook_id(sender: str, subject: str, at: datetime) -> str:
    digest = hashlib.sha1(f"{sender}{subject}{at.isoformat()}".encode()).hexdigest()
    return f"<LO2P265MB{digest[:24].upper()}@LO2P265MB.GBRP265.PROD.OUTLOOK.COM>"


def _outlook_date(orig: EmailMessage) -> str:
    sent = orig["Date"].datetime.astimezone(LONDON)
    return f"{sent:%d %B %Y %H:%M}".lstrip("0")


# -- Gmail ------------------------------------------------------------------------------


def gmail_new(sender: str, subject: str, body: str, *, at: datetime, to: str = MAILBOX) -> bytes:
    """A new email from Gmail: a div per line in the HTML part."""
    msg = _base(sender, to, None, subject, at, _gmail_id(sender, subject, at))
    msg.set_content(body)
    msg.add_alternative(f'<div dir="ltr">{_gmail_lines(body)}</div>', subtype="html")
    return msg.as_bytes()


def gmail_reply(original: bytes, sender: str, body: str, *, at: datetime,
                reply_all: bool = True) -> bytes:
    """Reply (all) from Gmail: "Re:", "On ... wrote:" and a gmail_quote blockquote."""
    orig = parse(original)
    subject = str(orig["Subject"])
    to, cc = _reply_addresses(orig, sender, reply_all)
    msg = _base(sender, to, cc, f"Re: {subject}", at, _gmail_id(sender, subject, at))
    _thread(msg, orig)
    sent = orig["Date"].datetime.astimezone(LONDON)
    from_name, from_addr = getaddresses([str(orig["From"])])[0]
    attribution = (
        f"On {sent:%a}, {sent.day} {sent:%b %Y} at {sent:%H:%M}, {from_name} <{from_addr}> wrote:"
    )
    quoted_text = "\n".join(f"> {line}" if line else ">" for line in _text_of(orig).split("\n"))
    msg.set_content(f"{body}\n\n{attribution}\n\n{quoted_text}\n")
    attribution_html = html.escape(attribution).replace(
        html.escape(f"<{from_addr}>"),
        f'&lt;<a href="mailto:{from_addr}">{from_addr}</a>&gt;',
    )
    msg.add_alternative(
        f'<div dir="ltr">{_gmail_lines(body)}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{attribution_html}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        'border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        f"{_html_of(orig)}</blockquote></div>",
        subtype="html",
    )
    return msg.as_bytes()


def _gmail_lines(body: str) -> str:
    return "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in body.split("\n"))


def _gmail_id(sender: str, subject: str, at: datetime) -> str:
    digest = hashlib.sha1(f"{sender}{subject}{at.isoformat()}".encode()).hexdigest()
    return f"<CAF{digest[:30]}+{digest[30:]}@mail.gmail.com>"


# -- machine mail -----------------------------------------------------------------------


def exchange_out_of_office(original: bytes, sender: str, text: str, *, at: datetime) -> bytes:
    """Exchange's automatic reply to one of our emails (it answers even Auto-Submitted
    mail when the sender's rule is set to reply to everyone, so the agent must cope)."""
    orig = parse(original)
    msg = _base(sender, MAILBOX, None, f"Automatic reply: {orig['Subject']}", at,
                _outlook_id(sender, "ooo" + str(orig["Subject"]), at))
    _thread(msg, orig)
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-MS-Exchange-Inbox-Rules-Loop"] = getaddresses([sender])[0][1]
    msg["Thread-Topic"] = _strip_prefixes(str(orig["Subject"]))
    msg.set_content(text)
    msg.add_alternative(_word_html(text, quoted=""), subtype="html")
    return msg.as_bytes()


def delivery_failure(original: bytes, failed: str, *, at: datetime) -> bytes:
    """Postfix's delivery status notification (RFC 3464) for `failed`, with the headers of
    the message that could not be delivered."""
    head = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("ascii", "replace")
    boundary = "B2A8C3D4E5.1767000000/mx.example.test"
    text = f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.test>
To: {MAILBOX}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(at.astimezone(LONDON))}
Message-ID: {make_msgid(domain="mx.example.test")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{failed}>: host mx.example.test said: 550 5.1.1 User unknown

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--{boundary}
Content-Type: text/rfc822-headers

{head}

--{boundary}--
"""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def tmda_confirmation(original: bytes, sender: str, *, at: datetime) -> bytes:
    """TMDA's challenge: "Please confirm your message", from the protected address, with a
    confirmation address to reply to and our email attached; no threading headers, so the
    case is found from the attached email."""
    address = getaddresses([sender])[0][1]
    local, domain = address.split("@")
    msg = _base(sender, MAILBOX, None, "Please confirm your message", at,
                make_msgid(domain=domain))
    msg["Reply-To"] = f"{local}-confirm-1764601690.4321.8f3a2c@{domain}"
    msg["X-Delivery-Agent"] = "TMDA/1.1.12 (Macallan)"
    msg.set_content(
        "This message was created automatically by mail delivery software (TMDA).\n\n"
        f"Your message attached below is being held because the address <{MAILBOX}> has not "
        "been verified.\n\nTo release your message for delivery, please send an empty "
        "message to the address above, or use your mailer's Reply feature.\n")
    msg.add_attachment(parse(original), disposition="inline")
    return msg.as_bytes()


def list_post(original: bytes, sender: str, body: str, *, at: datetime) -> bytes:
    """A reply to our email that reaches us through a mailing list: List-Id, Precedence."""
    msg = parse(gmail_reply(original, sender, body, at=at))
    msg["List-Id"] = "Northshire managers <managers.lists.example.test>"
    msg["Precedence"] = "list"
    return msg.as_bytes()


def plain_autoreply(original: bytes, sender: str, text: str, *, at: datetime) -> bytes:
    """A hosted mailbox's holiday message with no header or subject to say so: only the
    text tells, and it quotes nothing."""
    orig = parse(original)
    msg = _base(sender, MAILBOX, None, f"Re: {orig['Subject']}", at,
                _gmail_id(sender, "auto" + str(orig["Subject"]), at))
    _thread(msg, orig)
    msg.set_content(text)
    return msg.as_bytes()


def read_receipt(original: bytes, sender: str, *, at: datetime) -> bytes:
    """Outlook's read receipt for our email: a multipart/report with a disposition
    notification (RFC 8098)."""
    orig = parse(original)
    address = getaddresses([sender])[0][1]
    report = MIMEMultipart("report", report_type="disposition-notification")
    for name, value in _base(sender, MAILBOX, None, f"Read: {orig['Subject']}", at,
                             _outlook_id(sender, "read" + str(orig["Subject"]), at)).items():
        report[name] = value
    report.attach(MIMEText(f"Your message\n\n  Subject: {orig['Subject']}\n\nwas read."))
    notification = MIMEBase("message", "disposition-notification")
    notification.set_payload(
        f"Final-Recipient: rfc822;{address}\nOriginal-Message-ID: {orig['Message-ID']}\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n")
    report.attach(notification)
    return report.as_bytes()


# -- shared -----------------------------------------------------------------------------


def _base(sender: str, to: str, cc: str | None, subject: str, at: datetime,
          message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at.astimezone(LONDON))
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    return msg


def _thread(msg: EmailMessage, orig: EmailMessage) -> None:
    parent = str(orig["Message-ID"])
    earlier = str(orig.get("References", "")).split()
    msg["In-Reply-To"] = parent
    msg["References"] = " ".join([*earlier, parent])


def _reply_addresses(orig: EmailMessage, sender: str, reply_all: bool) -> tuple[str, str | None]:
    """To the Reply-To (the shared mailbox); with Reply All, CC everyone else on it."""
    me = getaddresses([sender])[0][1].lower()
    reply_to = str(orig.get("Reply-To") or orig["From"])
    if not reply_all:
        return reply_to, None
    first = {a.lower() for _, a in getaddresses([reply_to])}
    others = [
        f"{name} <{addr}>" if name else addr
        for name, addr in getaddresses([str(orig.get("To", "")), str(orig.get("Cc", ""))])
        if addr.lower() not in first | {me, MAILBOX}
    ]
    return reply_to, ", ".join(others) or None


def _names(orig: EmailMessage, header: str) -> list[str]:
    return [f"{n} <{a}>" if n else a for n, a in getaddresses([str(orig.get(header, ""))])]


def _text_of(orig: EmailMessage) -> str:
    part = orig.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n").rstrip("\n") if part else ""


def _html_of(orig: EmailMessage) -> str:
    part = orig.get_body(preferencelist=("html",))
    if part is None:
        return "<div>" + html.escape(_text_of(orig)).replace("\n", "<br>") + "</div>"
    content = part.get_content()
    start, end = content.find("<body"), content.rfind("</body>")
    if start >= 0 and end > start:
        content = content[content.index(">", start) + 1:end]
    return content


def _strip_prefixes(subject: str) -> str:
    while subject[:3].lower() in ("re:", "fw:"):
        subject = subject[3:].strip()
    return subject
