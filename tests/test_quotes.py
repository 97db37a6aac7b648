"""The new text of a reply, without quoted history and phone signatures."""

from __future__ import annotations

import pytest

from mailagent.mail.quotes import extract_reply_text, find_html_quote_start, split_reply

HISTORY = "Dear Aisha,\n\nThe issue: contact has not happened.\n[ma:ESC-2026-0042]\n"


@pytest.mark.parametrize(
    ("text", "new"),
    [
        # Outlook desktop and web: a From/Sent/To/Subject block, with or without a rule
        (
            "Agreed.\n\nFrom: IRO Escalations <iro@example.test>\nSent: 01 December 2026 "
            "15:06\nTo: Aisha Khan <aisha@example.test>\nSubject: [ESC-2026-0042] x\n\n" + HISTORY,
            "Agreed.",
        ),
        (
            "Agreed.\n\n________________________________\nFrom: IRO Escalations\n"
            "Sent: Tuesday, December 1, 2026 3:06 PM\nTo: Aisha\nSubject: x\n\n" + HISTORY,
            "Agreed.",
        ),
        # older Outlook and Thunderbird separators
        ("Fine.\n\n-----Original Message-----\nFrom: a\nSent: b\n\n" + HISTORY, "Fine."),
        ("Fine.\n\n-------- Original Message --------\nSubject: x\n" + HISTORY, "Fine."),
        # Gmail, the attribution wrapped over two lines
        (
            "Done.\n\nOn Tue, 1 Dec 2026 at 15:06, IRO Escalations <\n"
            "iro@example.test> wrote:\n\n> " + HISTORY,
            "Done.",
        ),
        # Apple Mail and iPhone
        (
            "Will do.\n\nSent from my iPhone\n\n> On 1 Dec 2026, at 15:06, IRO Escalations "
            "<iro@example.test> wrote:\n>\n> " + HISTORY,
            "Will do.",
        ),
        # Thunderbird
        ("Content.\n\nOn 01/12/2026 15:06, IRO Escalations wrote:\n> " + HISTORY, "Content."),
        # Welsh: Gmail's attribution and Outlook's header block
        (
            "Diolch.\n\nAr Maw, 1 Rhag 2026 am 15:06 IRO Escalations <iro@example.test> "
            "ysgrifennodd:\n> " + HISTORY,
            "Diolch.",
        ),
        (
            "Diolch.\n\nOddi wrth: IRO Escalations <iro@example.test>\nAnfonwyd: 02 Rhagfyr "
            "2026 15:06\nAt: Rhys\nPwnc: x\n\n" + HISTORY,
            "Diolch.",
        ),
        # Polish Outlook
        (
            "Dzień dobry.\n\nOd: IRO Escalations\nWysłano: środa, 2 grudnia 2026 15:06\n"
            "Do: Łukasz\nTemat: x\n\n" + HISTORY,
            "Dzień dobry.",
        ),
        # forwarded messages
        ("FYI.\n\n---------- Forwarded message ---------\nFrom: a\n" + HISTORY, "FYI."),
        ("FYI.\n\nBegin forwarded message:\n\nFrom: a\n" + HISTORY, "FYI."),
        # bottom-posting and interleaved ">" quotes
        ("> " + HISTORY.replace("\n", "\n> ") + "\nMy answer is below the quote.", (
            "My answer is below the quote.")),
    ],
)
def test_quoted_history_is_removed(text: str, new: str) -> None:
    split = split_reply(text, None)
    assert split.text == new
    assert split.quoted


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android",
        "Sent from Outlook for iOS",
        "Sent from Mail for Windows",
        "Anfonwyd o fy iPhone",
    ],
)
def test_phone_signatures_are_removed(signature: str) -> None:
    assert extract_reply_text(f"Yes, booked for Monday.\n\n{signature}\n", None) == (
        "Yes, booked for Monday."
    )


def test_a_sentence_that_starts_like_a_signature_is_kept() -> None:
    text = "Sent from my office to the panel: the referral, this morning."
    assert extract_reply_text(text, None) == text


def test_text_without_history_is_unchanged_and_not_quoted() -> None:
    text = "Child: 123456\nPlan: LAC\nIssue: The plan has drifted.\n\nKind regards\nSiân"
    split = split_reply(text, None)
    assert split.text == text
    assert not split.quoted


def test_a_reply_that_is_all_history_has_no_new_text() -> None:
    text = "From: IRO Escalations\nSent: Tuesday\nTo: Aisha\nSubject: x\n\n" + HISTORY
    assert split_reply(text, None).text == ""


def test_commands_and_fields_in_the_history_are_not_new_text() -> None:
    text = "#resolved\n\nOn Tue, 1 Dec 2026, Siân wrote:\n> #note old\n> Child: 999999\n"
    assert extract_reply_text(text, None) == "#resolved"


OUTLOOK_WEB = (
    '<div>Agreed.</div><div id="appendonsend"></div><hr tabindex="-1">'
    '<div id="divRplyFwdMsg"><b>From:</b> IRO</div><div>' + HISTORY + "</div>"
)


@pytest.mark.parametrize(
    ("html", "new"),
    [
        (OUTLOOK_WEB, "Agreed."),
        # Outlook re-quoting a quoted email prefixes every id with x_
        ('<p>Agreed.</p><div id="x_divRplyFwdMsg">From: IRO</div>' + HISTORY, "Agreed."),
        ('<p>Agreed.</p><hr id="stopSpelling">' + HISTORY, "Agreed."),
        ('<div>Agreed.</div><div id="mail-editor-reference-message-container">x</div>', "Agreed."),
        (
            '<div dir="ltr">Agreed.</div><div class="gmail_quote"><div class="gmail_attr">'
            "On Tue wrote:</div><blockquote>" + HISTORY + "</blockquote></div>",
            "Agreed.",
        ),
        (
            "Agreed.<div><br><blockquote type=\"cite\"><div>On 3 Dec 2026, at 09:00, IRO "
            "wrote:</div>" + HISTORY + "</blockquote></div>",
            "Agreed.",
        ),
        # Apple Mail puts the attribution before the blockquote; the text rules remove it
        (
            "<div>Agreed.</div><div>On 3 Dec 2026, at 09:00, IRO &lt;iro@example.test&gt; "
            'wrote:</div><blockquote type="cite">' + HISTORY + "</blockquote>",
            "Agreed.",
        ),
        (
            '<p>Agreed.</p><div class="moz-cite-prefix">On 04/12/2026 09:40, IRO wrote:<br>'
            '</div><blockquote type="cite">' + HISTORY + "</blockquote>",
            "Agreed.",
        ),
    ],
)
def test_html_quote_boundaries_are_found(html: str, new: str) -> None:
    split = split_reply("plain text that would say something else", html)
    assert split.text == new
    assert split.quoted


def test_html_without_a_boundary_falls_back_to_the_text() -> None:
    html = "<div>Agreed.</div><blockquote>an indented paragraph of my own</blockquote>"
    assert find_html_quote_start(html) is None
    assert extract_reply_text("Agreed, plain.", html) == "Agreed, plain."


def test_the_html_offset_points_at_the_quote_element() -> None:
    html = '<div>\nAgreed.\n</div>\n<div id="divRplyFwdMsg">From: IRO</div>'
    start = find_html_quote_start(html)
    assert start is not None
    assert html[start:].startswith('<div id="divRplyFwdMsg">')


@pytest.mark.parametrize("html", ["<div", "<<>>", "</x y='", "<![CDATA[", "\x00<p>"])
def test_broken_html_does_not_raise(html: str) -> None:
    split_reply("fallback", html)


def test_a_line_about_sending_from_somewhere_else_is_kept() -> None:
    text = "Done.\n\nSent from my team to the panel on Monday"
    assert extract_reply_text(text, None) == text
