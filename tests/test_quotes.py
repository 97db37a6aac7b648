"""The new text of a reply, without quoted history and phone signatures."""

from __future__ import annotations

import pytest

from mailagent.mail.quotes import (
    BELOW,
    WHOLE,
    ReplySplit,
    extract_reply_text,
    find_html_quote_start,
    split_reply,
)

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


def test_a_reply_that_is_all_history_is_kept_whole_and_marked_and_says_so() -> None:
    """An empty result from a non-empty email is never accepted silently."""
    text = "From: IRO Escalations\nSent: Tuesday\nTo: Aisha\nSubject: x\n\n" + HISTORY
    split = split_reply(text, None)
    assert split.text == ""  # no words of the sender's: no fields or commands are read
    assert split.for_record == (
        "> From: IRO Escalations\n> Sent: Tuesday\n> To: Aisha\n> Subject: x\n>\n"
        "> Dear Aisha,\n>\n> The issue: contact has not happened.\n> [ma:ESC-2026-0042]")
    assert split.notes == (WHOLE,)


def test_a_reply_typed_inside_the_quote_is_kept_whole() -> None:
    text = "On Tue, 1 Dec 2026 at 15:06, IRO <iro@example.test> wrote:\n> " + (
        HISTORY.strip().replace("\n", "\n> "))
    split = split_reply(text, None)
    assert (split.text, split.quoted, split.notes) == ("", True, (WHOLE,))
    assert split.whole.startswith("On Tue, 1 Dec 2026 at 15:06, IRO <iro@example.test> wrote:")
    assert split.whole.endswith("> [ma:ESC-2026-0042]")


def test_nothing_in_nothing_out() -> None:
    assert split_reply("", None) == split_reply("  \n ", None) == ReplySplit("", False)


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


# Round two: every language, older clients, webmail separators -------------------------

QUOTED = "> " + HISTORY.strip().replace("\n", "\n> ")
OUTLOOK_BLOCK = ("{from_}: IRO Escalations <iro@example.test>\n{sent}: 01/12/2026 15:06\n"
                 "{to}: Aisha Khan\n{subject}: [ESC-2026-0042] x\n\n" + HISTORY)


@pytest.mark.parametrize(
    "header",
    [
        # the reply library's languages, all switched on
        "Am 01.12.2026 um 15:06 schrieb IRO Escalations <iro@example.test>:",
        "Dne 1. 12. 2026 v 15:06 IRO Escalations <iro@example.test> napsal(a):",
        "Il giorno mar 1 dic 2026 alle ore 15:06 IRO <iro@example.test> ha scritto:",
        "El mar, 1 dic 2026 a las 15:06, IRO (<iro@example.test>) escribió:",
        "Dnia 1 grudnia 2026 15:06 IRO <iro@example.test> napisał(a):",
        "2026年12月1日(火) 15:06 IRO <iro@example.test>:",
        # French, with the non-breaking spaces French typography puts before a colon
        "Le mar. 1 déc. 2026 à 15:06, IRO <iro@example.test> a écrit\u00a0:",
        "Le mar. 1 déc. 2026 à 15:06, IRO <iro@example.test> a écrit\u202f:",
        "Le 01/12/2026 à 15:06, IRO Escalations a écrit :",
        # German Thunderbird, the verb before the date
        "IRO Escalations schrieb am 01.12.2026 um 15:06:",
        # Scandinavian
        "Den tis 1 dec. 2026 kl 15:06 skrev IRO <iro@example.test>:",
        "Den tir. 1. dec. 2026 kl. 15.06 skrev IRO <iro@example.test>:",
        "tir. 1. des. 2026 kl. 15:06 skrev IRO <iro@example.test>:",
        "ti 1.12.2026 klo 15.06 IRO (iro@example.test) kirjoitti:",
        # Slavic
        "wt., 1 gru 2026 o 15:06 IRO <iro@example.test> napisał(a):",
        "út 1. 12. 2026 v 15:06 odesílatel IRO <iro@example.test> napsal:",
        "01.12.2026 15:06, IRO Escalations пишет:",
        "01.12.2026 15:06, IRO Escalations пише:",
        # Dutch Gmail, Romanian, Hungarian, Turkish, Welsh
        "Op di 1 dec 2026 om 15:06 schreef IRO <iro@example.test>:",
        "mar., 1 dec. 2026, 15:06 IRO <iro@example.test> a scris:",
        "IRO <iro@example.test> ezt írta (időpont: 2026. dec. 1., K, 15:06):",
        "IRO <iro@example.test>, 1 Ara 2026 Sal, 15:06 tarihinde şunu yazdı:",
        "Ar Maw, 1 Rhag 2026 am 15:06 IRO <iro@example.test> ysgrifennodd:",
        # older desktop clients: Eudora, The Bat!
        "At 15:06 01/12/2026, IRO Escalations wrote:",
        "Tuesday, December 1, 2026, 3:06:42 PM, you wrote:",
    ],
)
def test_attribution_lines_in_every_language(header: str) -> None:
    for history in (QUOTED, HISTORY):  # before ">" quoted lines, or before plain ones
        split = split_reply(f"Agreed, thank you.\n\n{header}\n{history}", None)
        assert (split.text, split.quoted) == ("Agreed, thank you.", True), history


def test_verbless_attributions_go_only_before_quoted_lines() -> None:
    """Yandex and Russian Gmail write no verb: a date, a name, an address and a colon."""
    for header in ('01.12.2026, 15:06, "IRO Escalations" <iro@example.test>:',
                   "вт, 1 дек. 2026 г. в 15:06, IRO <iro@example.test>:"):
        assert extract_reply_text(f"Согласен.\n\n{header}\n{QUOTED}", None) == "Согласен."
    text = "Please ring Jo at 15:30:\nthe panel wants an answer today."
    assert extract_reply_text(text, None) == text


@pytest.mark.parametrize(
    "separator",
    [
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
        "-----Mensagem original-----",
        "-----Wiadomość oryginalna-----",
        "-----Mesaj original-----",
        "-----Ursprungligt meddelande-----",
        "-----Oprindelig meddelelse-----",
        "-----Opprinnelig melding-----",
        "-----Alkuperäinen viesti-----",
        "-----Původní zpráva-----",
        "-----Исходное сообщение-----",
        "-----Neges wreiddiol-----",
        "----- Original Message -----",  # Outlook Express, older Yahoo
        "---------- Weitergeleitete Nachricht ---------",
        "---------- Wiadomość przekazana dalej ---------",
        "-------- Message transféré --------",
        "============ Forwarded message ============",  # Zoho
        "---- On Tue, 01 Dec 2026 15:06:42 +0000 IRO Escalations <iro@example.test> wrote ----",
        "Anfang der weitergeleiteten Nachricht:",  # Apple Mail in German
    ],
)
def test_separators_in_every_language(separator: str) -> None:
    split = split_reply(f"Agreed.\n\n{separator}\nFrom: IRO\n\n{HISTORY}", None)
    assert (split.text, split.quoted) == ("Agreed.", True)


@pytest.mark.parametrize(
    ("words", "language"),
    [
        (("From", "Sent", "To", "Subject"), "English"),
        (("Von", "Gesendet", "An", "Betreff"), "German"),
        (("De ", "Envoyé ", "À ", "Objet "), "French, space before the colon"),
        (("De", "Enviado el", "Para", "Asunto"), "Spanish"),
        (("Da", "Inviato", "A", "Oggetto"), "Italian"),
        (("Van", "Verzonden", "Aan", "Onderwerp"), "Dutch"),
        (("Od", "Wysłano", "Do", "Temat"), "Polish"),
        (("De la", "Trimis", "Către", "Subiect"), "Romanian"),
        (("Från", "Skickat", "Till", "Ämne"), "Swedish"),
        (("Fra", "Sendt", "Til", "Emne"), "Danish, Norwegian"),
        (("Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe"), "Finnish"),
        (("Od", "Odesláno", "Komu", "Předmět"), "Czech"),
        (("От", "Отправлено", "Кому", "Тема"), "Russian"),
        (("Oddi wrth", "Anfonwyd", "At", "Pwnc"), "Welsh"),
        (("From", "Date", "To", "Subject"), "Outlook for Mac"),
    ],
)
def test_outlook_header_blocks_in_every_language(words: tuple[str, ...], language: str) -> None:
    from_, sent, to, subject = words
    block = OUTLOOK_BLOCK.format(from_=from_, sent=sent, to=to, subject=subject)
    for rule in ("", "________________________________\n"):
        split = split_reply(f"Agreed.\n\n{rule}{block}", None)
        assert (split.text, split.quoted) == ("Agreed.", True), language


@pytest.mark.parametrize(
    "block",
    [
        # Outlook for Mac wraps a long From line; the header names the date "Date"
        'From: "Escalations, IRO (Children\'s Services, Northshire County Council)"\n'
        "<iro-escalations@northshire.example.test>\nDate: Tuesday, 1 December 2026 at "
        "15:06\nTo: Aisha Khan <aisha.khan@northshire.example.test>\nSubject: x\n",
        "From: IRO Escalations <iro-escalations@northshire.example.\ntest>\nSent: 01 December "
        "2026 15:06\nTo: Aisha Khan\nSubject: x\n",
        # Lotus Notes: a tab after each colon
        "From:\tIRO Escalations <iro@example.test>\nTo:\tAisha Khan\nDate:\t01/12/2026 15:06\n"
        "Subject:\t[ESC-2026-0042] x\n",
        # Windows Live Mail and Outlook Express start with the date
        "Date: Tue, 1 Dec 2026 15:06:42 +0000\nFrom: iro@example.test\nTo: Aisha\nSubject: x\n",
        # bold markers left by the plain-text conversion of Outlook's HTML
        "*From:* IRO Escalations\n*Sent:* 01 December 2026 15:06\n*To:* Aisha\n",
    ],
)
def test_no_line_of_the_header_block_is_left_in(block: str) -> None:
    assert extract_reply_text(f"Agreed.\n\n{block}\n{HISTORY}", None) == "Agreed."


@pytest.mark.parametrize(
    ("text", "new"),
    [
        # Gmail wraps a long attribution after the address
        ("Dzięki.\n\nwt., 1 gru 2026 o 15:06 IRO Escalations <iro@example.test>\nnapisał(a):\n"
         + QUOTED, "Dzięki."),
        ("Thanks.\n\nOn Tue, 1 Dec 2026 at 15:06, IRO Escalations <\niro@example.test> wrote:\n"
         + QUOTED, "Thanks."),
        # ... but a short line of the person's own above a short attribution stays
        ("Thanks.\nIRO wrote:\n" + QUOTED, "Thanks."),
        ("Understood, thank you.\nSiân wrote:\n" + QUOTED, "Understood, thank you."),
    ],
)
def test_wrapped_attributions(text: str, new: str) -> None:
    assert extract_reply_text(text, None) == new


def test_the_rule_above_a_header_block_is_part_of_the_history() -> None:
    text = "\n\n________________________________\n" + OUTLOOK_BLOCK.format(
        from_="From", sent="Sent", to="To", subject="Subject")
    assert split_reply(text, None).whole.startswith("> ________________________________\n"
                                                    "> From: IRO Escalations")


def test_yahoo_quotes_without_angle_brackets() -> None:
    text = ("Yes, that is right.\n\n    On Tuesday, 1 December 2026, 15:06:42 GMT, IRO "
            "Escalations <iro@example.test> wrote:\n\n    Dear Aisha,\n    The issue: x\n")
    assert extract_reply_text(text, None) == "Yes, that is right."


@pytest.mark.parametrize(
    "text",
    [
        "Please send the plan.\nDo: Friday at the latest\nThanks",  # Polish "Do:" is "To:"
        "Data: the figures are attached\nand the chronology follows.",
        "Here is what the social worker wrote:\nThe child is settled at school.",
        "From: the school, a report is expected\nSo we wait.",
        "Od: jutra szukamy rodziny\nDziękuję",
    ],
)
def test_lines_that_only_look_like_quote_headers_are_kept(text: str) -> None:
    split = split_reply(text, None)
    assert (split.text, split.quoted) == (text, False)


def test_a_bottom_posted_reply_keeps_the_person_s_words() -> None:
    text = ("On Tue, 1 Dec 2026 at 15:06, IRO Escalations <iro@example.test> wrote:\n"
            f"{QUOTED}\n\nContact is booked for Saturday.\n\nAisha")
    split = split_reply(text, None)
    assert (split.text, split.quoted) == ("Contact is booked for Saturday.\n\nAisha", True)
    assert split.notes == (BELOW,)


def test_an_interleaved_reply_keeps_each_answer() -> None:
    text = ("Hi Siân,\n\nOn 01/12/2026 15:06, IRO Escalations wrote:\n"
            "> When will contact resume?\n\nOn Saturday.\n\n"
            "> Who will supervise it?\n\nThe family support worker.\n\nAisha")
    split = split_reply(text, None)
    assert split.text == "Hi Siân,\n\nOn Saturday.\n\nThe family support worker.\n\nAisha"
    assert split.notes == (BELOW,)


def test_our_email_going_on_unquoted_below_its_first_lines_is_history() -> None:
    text = f"Done.\n\nOn Tue, 1 Dec 2026, IRO <iro@example.test> wrote:\n> {HISTORY}"
    assert split_reply(text, None) == ReplySplit("Done.", True)


BLOCKQUOTE = '<blockquote style="border-left:1px solid #0857A6;margin:10px;padding:0 0 0 10px;">'


@pytest.mark.parametrize(
    ("html", "new"),
    [
        # Mail.ru and Yandex: a plain blockquote after an attribution line
        ("<div>Согласен.</div><div>Вторник, 1 декабря 2026, 15:06 +00:00 от IRO "
         "&lt;iro@example.test&gt;:<br></div>" + BLOCKQUOTE + HISTORY + "</blockquote>",
         "Согласен."),
        ("<div>Agreed.</div><div><br></div><div>01.12.2026, 15:06, &quot;IRO&quot; "
         "&lt;iro@example.test&gt;:</div><blockquote>" + HISTORY + "</blockquote>", "Agreed."),
        # a plain blockquote holding our case marker
        ("<p>Agreed.</p><blockquote>" + HISTORY + "</blockquote>", "Agreed."),
        # Yahoo, Zoho, Proton
        ('<div>Agreed.</div><div class="yahoo_quoted"><div>On Tuesday, IRO wrote:</div>'
         + HISTORY + "</div>", "Agreed."),
        ('<div>Agreed.<br></div><div class="zmail_extra"><div id="Zm-_Id_-Sgn1"><div> ---- '
         "On Tue, 01 Dec 2026 IRO wrote ----<br></div></div><blockquote>" + HISTORY
         + "</blockquote></div>", "Agreed."),
        # Outlook for Mac and Outlook desktop: a bordered header block, and what follows
        ('<div>Agreed.</div><div id="MAC_OUTLOOK_ATTRIBUTION_BLOCK"><b>From: </b>IRO</div>'
         "<div>" + HISTORY + "</div>", "Agreed."),
        ('<p class=MsoNormal>Agreed.</p><div style="border:none;border-top:solid #E1E1E1 '
         '1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class=MsoNormal><b>From:</b> IRO</p></div>'
         "<p class=MsoNormal>" + HISTORY + "</p>", "Agreed."),
        # Thunderbird, written below the quote and between its parts
        ('<div class="moz-cite-prefix">On 01/12/2026 15:06, IRO wrote:<br></div>'
         '<blockquote type="cite">' + HISTORY + "</blockquote><p>My answer is here.</p>",
         "My answer is here."),
        ('<p>Hi,</p><div class="moz-cite-prefix">On 01/12/2026 15:06, IRO wrote:<br></div>'
         '<blockquote type="cite">When will contact resume?</blockquote><p>On Saturday.</p>'
         '<blockquote type="cite">Who supervises?</blockquote><p>The support worker.</p>',
         "Hi,\n\nOn Saturday.\n\nThe support worker."),
        # Apple Mail, written below the quote; its attribution is text, not marked
        ("<div>On 3 Dec 2026, at 09:00, IRO &lt;iro@example.test&gt; wrote:</div>"
         '<blockquote type="cite">' + HISTORY + "</blockquote><div>Booked for Monday.</div>",
         "Booked for Monday."),
    ],
)
def test_html_quotes_of_every_style(html: str, new: str) -> None:
    split = split_reply("plain text that would say something else", html)
    assert (split.text, split.quoted) == (new, True)


def test_a_plain_blockquote_of_the_person_s_own_is_not_history() -> None:
    html = ("<p>Agreed, with one condition:</p>"
            "<blockquote>the social worker visits first</blockquote>")
    assert find_html_quote_start(html) is None
    assert split_reply("Agreed, with one condition:\nthe social worker visits first", html) == (
        ReplySplit("Agreed, with one condition:\nthe social worker visits first", False))


def test_an_html_email_that_is_all_history_is_kept_whole() -> None:
    html = ('<div class="gmail_quote">On Tue, IRO wrote:<blockquote>' + HISTORY
            + "</blockquote></div>")
    split = split_reply("ignored", html)
    assert (split.text, split.quoted, split.notes) == ("", True, (WHOLE,))
    assert split.whole.startswith("> On Tue, IRO wrote:\n> Dear Aisha,")
    assert all(line.startswith(">") for line in split.whole.split("\n"))
