"""Machine-sent mail is recognised by named rules, each saying why; bounces say what failed.

The cases are written from what real systems send (RFC 3834, 3464, 6522, 8098, 2369,
2919; Microsoft's and vendors' documented headers; the wording of autoresponders and
challenge-response filters), one table per rule, with the people's emails that must not
be taken for machine mail beside them.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pytest

import mailagent.mail.automated as automated
from mailagent.mail.automated import RULES, AutomatedKind, bounce_details, detect_automated
from mailagent.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parent / "corpus"
HUMAN_REPLY = {
    "From": "Aisha Khan <aisha.khan@northshire.example.test>",
    "To": "iro-escalations@northshire.example.test",
    "Subject": "RE: [ESC-2026-0042] Stage 1: Team Manager",
    "Message-ID": "<a1@northshire.example.test>",
    "In-Reply-To": "<ours@northshire.example.test>",
    # Outlook and our own outbox set this on ordinary mail: it asks others not to
    # auto-reply; it does not make the message automatic
    "X-Auto-Response-Suppress": "All",
}
BODY = "Thank you, booked for Monday.\n"
QUOTE = ("\n\nFrom: IRO Escalations <iro-escalations@northshire.example.test>\n"
         "Sent: 01 December 2026 15:06\nTo: Aisha Khan\nSubject: [ESC-2026-0042] Stage 1\n\n"
         "Dear Aisha,\n[ma:ESC-2026-0042]\n")
AUTO = AutomatedKind.AUTOREPLY
BULK = AutomatedKind.BULK
BOUNCE = AutomatedKind.BOUNCE
CONFIRM = AutomatedKind.CONFIRMATION_REQUEST


def email(headers: dict[str, str], body: str = BODY) -> bytes:
    headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
    head = "".join(f"{name}: {value}\n" for name, value in headers.items())
    return (head + "\n" + body).encode("utf-8")


def detect(body: str = BODY, **changes: str | None) -> tuple[AutomatedKind, str] | None:
    headers = {**HUMAN_REPLY, **{k.replace("_", "-"): v for k, v in changes.items()}}
    kept = {k: v for k, v in headers.items() if v is not None}
    found = detect_automated(parse_message(email(kept, body)))
    return (found.kind, found.rule) if found else None


def test_a_person_replying_is_not_automated() -> None:
    assert detect() is None
    assert detect(BODY + QUOTE) is None


# The rule table ---------------------------------------------------------------------


def test_every_rule_module_is_in_the_table_once_with_a_name_and_description() -> None:
    helpers = {"base", "bounces"}
    modules = [m.name for m in pkgutil.iter_modules(automated.__path__) if m.name not in helpers]
    in_table = [importlib.import_module(f"mailagent.mail.automated.{m}").RULE for m in modules]
    assert sorted(r.name for r in in_table) == sorted(r.name for r in RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    assert all(rule.description for rule in RULES)


def test_the_order_puts_definite_signs_first_and_weak_ones_last() -> None:
    names = [rule.name for rule in RULES]
    assert names.index("challenge_response") < names.index("mailer_daemon")
    assert names.index("challenge_response") < names.index("vendor_autoreply")
    assert names.index("mailing_list") < names.index("out_of_office_subject")
    assert names.index("auto_replied") < names.index("precedence")
    assert names.index("out_of_office_body") < names.index("auto_generated")
    assert names[-1] == "null_return_path"


# Headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "kind", "rule"),
    [
        # RFC 3834
        ({"Auto_Submitted": "auto-replied"}, AUTO, "auto_replied"),
        ({"Auto_Submitted": "auto-replied (zimbra; vacation)"}, AUTO, "auto_replied"),
        ({"Auto_Submitted": "Auto-Replied; owner-email=aisha.khan@example.test"}, AUTO,
         "auto_replied"),
        ({"Auto_Submitted": "auto-generated"}, BULK, "auto_generated"),
        ({"Auto_Submitted": "auto-notified"}, BULK, "auto_generated"),
        ({"Auto_Submitted": "auto-replied", "Subject": "Undeliverable: x"}, BOUNCE,
         "bounce_text"),
        # Gmail's holiday reply: auto-replied and Precedence: bulk together
        ({"Auto_Submitted": "auto-replied", "Precedence": "bulk", "X_Autoreply": "yes"}, AUTO,
         "auto_replied"),
        # Exchange's out-of-office: auto-generated, named by its mailbox-rule header
        ({"Auto_Submitted": "auto-generated",
          "X_MS_Exchange_Inbox_Rules_Loop": "aisha.khan@northshire.example.test"}, AUTO,
         "microsoft_autoreply"),
        # ... and one whose gateway stripped the X-MS- headers still names itself
        ({"Auto_Submitted": "auto-generated", "Subject": "Automatic reply: [ESC-2026-0042] x"},
         AUTO, "out_of_office_subject"),
        ({"X_MS_Exchange_Message_Is_Ndr": ""}, BOUNCE, "microsoft_ndr"),
        # vendors' headers
        ({"X_Autoreply": "yes"}, AUTO, "vendor_autoreply"),
        ({"X_Autorespond": "Out of office"}, AUTO, "vendor_autoreply"),
        ({"X_Autoresponder": "1"}, AUTO, "vendor_autoreply"),
        ({"X_AutoReply_From": "aisha.khan@example.test"}, AUTO, "vendor_autoreply"),
        ({"X_Mail_Autoreply": "yes"}, AUTO, "vendor_autoreply"),
        ({"X_Autogenerated": "Reply"}, AUTO, "vendor_autoreply"),
        ({"X_FC_MachineGenerated": "true"}, AUTO, "vendor_autoreply"),
        ({"X_POST_MessageClass": "9; Autoresponder"}, AUTO, "vendor_autoreply"),
        ({"Delivered_To": "Autoresponder"}, AUTO, "vendor_autoreply"),
        ({"Precedence": "auto_reply"}, AUTO, "vendor_autoreply"),
        ({"X_Precedence": "auto_reply"}, AUTO, "vendor_autoreply"),
        # bulk and lists
        ({"Precedence": "bulk"}, BULK, "precedence"),
        ({"Precedence": "junk"}, BULK, "precedence"),
        ({"Precedence": "list"}, BULK, "mailing_list"),
        ({"List_Id": "<staff.northshire.example.test>"}, BULK, "mailing_list"),
        ({"List_Unsubscribe": "<mailto:leave@lists.example.test>"}, BULK, "mailing_list"),
        ({"Precedence": "bulk", "Subject": "Out of Office: RE: x"}, AUTO,
         "out_of_office_subject"),
        # return paths and senders
        ({"Return_Path": "<>"}, BULK, "null_return_path"),
        ({"Return_Path": "<>", "From": "MAILER-DAEMON@mx.example.test"}, BOUNCE,
         "mailer_daemon"),
        ({"Return_Path": "<MAILER-DAEMON>"}, BOUNCE, "mailer_daemon"),
        ({"From": "postmaster@example.test"}, BOUNCE, "mailer_daemon"),
        ({"From": "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"}, BOUNCE,
         "mailer_daemon"),
    ],
)
def test_header_signals(changes: dict[str, str], kind: AutomatedKind, rule: str) -> None:
    assert detect(**changes) == (kind, rule)


@pytest.mark.parametrize(
    "changes",
    [
        {"Auto_Submitted": "no"},
        {"X_Autoreply": "no"},
        {"X_Autogenerated": "Forward"},  # a person's email, forwarded by a rule
        {"Precedence": "first-class"},
        {"Return_Path": "<aisha.khan@northshire.example.test>"},
        {"Delivered_To": "aisha.khan@northshire.example.test"},
    ],
)
def test_headers_that_do_not_make_mail_automatic(changes: dict[str, str]) -> None:
    assert detect(**changes) is None


def test_list_mail_is_never_an_out_of_office() -> None:
    """A List-Id or Precedence: list mail from a stage's addressee is bulk, whatever it says."""
    for changes in ({"List_Id": "<team.example.test>"}, {"Precedence": "list"}):
        assert detect(**changes, Subject="Out of Office: RE: x") == (BULK, "mailing_list")
        assert detect("I am out of the office until Monday 7 December.\n", **changes) == (
            BULK, "mailing_list")


# Subjects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: RE: [ESC-2026-0042] x",
        "Auto: [ESC-2026-0042] x",  # Sieve vacation, RFC 5230
        "AutoReply: [ESC-2026-0042] x",
        "Auto Response: [ESC-2026-0042] x",
        "Out of Office: RE: [ESC-2026-0042] x",
        "Out of Office AutoReply: [ESC-2026-0042] x",
        "[EXTERNAL] Out of the office until Monday",
        "OOO - back Monday",
        "On annual leave until 7 December",
        "Ateb awtomatig: RE: x",  # Welsh
        "Allan o'r swyddfa: RE: x",
        "Allan o’r swyddfa",
        "Allan o'r swyddfa / Out of office: [ESC-2026-0042] x",
        "Automatische Antwort: AW: x",  # German
        "Abwesenheitsnotiz: [ESC-2026-0042] x",
        "Réponse automatique : RE: x",  # French, with the space before the colon
        "Réponse automatique\u00a0: RE: x",
        "Absent du bureau jusqu'au 7 décembre",
        "Respuesta automática: RE: x",  # Spanish
        "Fuera de la oficina",
        "Risposta automatica: R: x",  # Italian
        "Resposta automática: RE: x",  # Portuguese
        "Automatisch antwoord: RE: x",  # Dutch
        "Afwezig: RE: x",
        "Odpowiedź automatyczna: ODP: x",  # Polish
        "Automatyczna odpowiedź: RE: x",
        "Poza biurem do 7 grudnia",
        "Răspuns automat: RE: x",  # Romanian
        "Raspuns automat: RE: x",
        "În afara biroului",
        "Automatiskt svar: SV: x",  # Swedish
        "Automatisk svar: SV: x",  # Danish, Norwegian
        "Automaattinen vastaus: VS: x",  # Finnish
        "Automatická odpověď: RE: x",  # Czech
        "Automatikus válasz: x",  # Hungarian
        "Αυτόματη απάντηση: x",  # Greek
        "Автоматический ответ: x",  # Russian
        "Automatski odgovor: x",  # Croatian
        "Otomatik yanıt: x",  # Turkish
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    assert detect(Subject=subject) == (AUTO, "out_of_office_subject")


@pytest.mark.parametrize(
    "subject",
    [
        "RE: out of office cover for the review",  # a person writing about being away
        "RE: Automatic replies are annoying",
        "Re: [ESC-2026-0042] undeliverable promises",
        "Absent - child 580913 missed school",
        "Leave arrangements for the panel",
        "Read the minutes before Friday",
        "Awaydays: agenda",
    ],
)
def test_subjects_that_only_mention_absence_are_people(subject: str) -> None:
    assert detect(Subject=subject) is None


# Bodies: the out-of-office with no header and no subject ----------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Thank you for your email. I am currently out of the office until Monday 7 December "
        "with limited access to email.\n\nFor urgent matters please contact the duty team "
        "manager on 01632 960123.\n\nAisha Khan",
        "I'm on annual leave until 14/12/2026. In my absence please contact Sean Mills.",
        "Hello,\n\nI am away from the office and will respond to your email on my return on "
        "Tuesday.",
        "I do not work on Fridays. I will reply to your email on Monday.",
        "This mailbox is no longer monitored. Please write to childrens.services@example.test",
        # Welsh
        "Diolch am eich e-bost. Rwyf allan o'r swyddfa tan ddydd Llun 7 Rhagfyr.",
        "Rydw i ar wyliau hyd at 14 Rhagfyr. Os yw'n fater brys, cysylltwch â'r tîm.",
        # German, French, Spanish, Italian, Portuguese, Dutch
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 7. Dezember nicht im Büro. In "
        "dringenden Fällen wenden Sie sich bitte an meine Vertretung.",
        "Bonjour, je suis absente du bureau jusqu'au 7 décembre. En cas d'urgence, "
        "contactez le secrétariat.",
        "Gracias por su mensaje. Estoy fuera de la oficina hasta el 7 de diciembre.",
        "Me encuentro de vacaciones hasta el lunes 7 de diciembre.",
        "Estou ausente até 7 de dezembro.",
        "I'm off sick until Wednesday. Please contact the duty manager.",
        "I am not in the office on Fridays; I will reply on Monday.",
        "Sono fuori ufficio fino al 7 dicembre con accesso limitato alla posta.",
        "Obrigado pelo seu email. Estou de férias até 7 de dezembro.",
        "Ik ben afwezig tot en met 7 december. Voor dringende zaken: bel het secretariaat.",
        # Polish, Romanian
        "Dzień dobry, jestem na urlopie do dnia 7 grudnia. W pilnych sprawach proszę o "
        "kontakt z sekretariatem.",
        "Bună ziua, sunt în concediu până la 7 decembrie. Pentru urgențe contactați "
        "secretariatul.",
        # Swedish, Danish, Finnish, Czech
        "Jag är på semester till och med 7 december.",
        "Jeg er på ferie til og med 7. december.",
        "Olen lomalla 7.12. asti.",
        "Jsem mimo kancelář do 7. 12. 2026, návrat v pondělí.",
    ],
)
def test_out_of_office_known_only_by_its_text(body: str) -> None:
    """No RFC 3834 header, no telling subject: the text alone says it (issue 13)."""
    assert detect(body, Subject="RE: [ESC-2026-0042] Stage 1: Team Manager") == (
        AUTO, "out_of_office_body")


@pytest.mark.parametrize(
    "body",
    [
        # no return date or contact: a person saying why they answer briefly
        "I'm on leave tomorrow so Jo will attend the meeting.",
        # the absence statement is not the opening
        "The search has started and the social worker has visited twice. " * 8
        + "I am out of the office until Monday.",
        # quoting our email, as a person pressing Reply does
        "I am out of the office until Monday but have asked Jo to start the search." + QUOTE,
        "Rwyf allan o'r swyddfa tan ddydd Llun, ond mae'r chwilio wedi dechrau.\n\n"
        "On Tue, 1 Dec 2026 at 15:06, IRO Escalations <iro@example.test> wrote:\n> Dear Aisha",
        # long: a person's full answer
        "I am on annual leave until Monday, but here is the full update. "
        + "The placement search has started and the panel meets on Thursday. " * 60,
    ],
)
def test_people_who_mention_being_away_are_people(body: str) -> None:
    assert detect(body) is None


def test_a_reason_names_the_signal_never_the_words() -> None:
    body = "Rwyf allan o'r swyddfa tan ddydd Llun 7 Rhagfyr. Ffoniwch 01632 960123."
    found = detect_automated(parse_message(email(HUMAN_REPLY, body)))
    assert found is not None and found.rule == "out_of_office_body"
    assert "Welsh" in found.reason
    assert "Rhagfyr" not in found.reason and "01632" not in found.reason


# Challenge-response -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "body"),
    [
        # cPanel BoxTrapper: its verify# token in the subject, cPanel's autoresponder headers
        ({"Subject": "Your email requires verification verify#b4c9e2a1d7f3",
          "Precedence": "auto_reply", "X_Precedence": "auto_reply", "X_Autorespond": "yes"},
         BODY),
        # TMDA: its header, a confirmation address, and a bounce's opening line
        ({"Subject": "Please confirm your message", "X_Delivery_Agent": "TMDA/1.1.12",
          "Return_Path": "<>"},
         "This message was created automatically by mail delivery software (TMDA).\n"),
        ({"Subject": "Re: [ESC-2026-0042] x",
          "Reply_To": "aisha.khan-confirm-1764601690.1234.a1b2c3@northshire.example.test"},
         BODY),
        # a hosted service's own domain
        ({"From": "Aisha Khan via Spam Arrest <aisha.khan@spamarrest.com>",
          "Subject": "Re: [ESC-2026-0042] x"}, BODY),
        # wording only, no header at all: the subject ...
        ({"Subject": "Sender verification required: [ESC-2026-0042] x"}, BODY),
        ({"Subject": "Vérification de l'expéditeur : [ESC-2026-0042]"}, BODY),
        # ... or the text
        ({"Subject": "Re: [ESC-2026-0042] Stage 1: Team Manager"},
         "Hello,\n\nYour message to aisha.khan@northshire.example.test has been held. To "
         "have it delivered, please confirm that you are a person and not a robot by "
         "clicking the link below.\n"),
        ({"Subject": "Re: [ESC-2026-0042] Stage 1", "Auto_Submitted": "auto-replied"},
         "Our spam protection needs you to prove you're human before your email reaches "
         "the recipient.\n"),
        ({"Subject": "AW: [ESC-2026-0042] Stage 1", "Return_Path": "<>"},
         "Ihre Nachricht wurde zurückgehalten. Bitte bestätigen Sie, dass Sie ein Mensch "
         "sind.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Bonjour, votre message est en attente. Merci de confirmer que vous êtes bien un "
         "humain en cliquant sur le lien.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Su mensaje ha sido retenido. Confirme que es una persona para entregarlo.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Il tuo messaggio è in attesa: conferma di essere una persona.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Uw bericht is vastgehouden. Bevestig dat u een mens bent.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Twoja wiadomość została wstrzymana. Potwierdź, że jesteś człowiekiem.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "A sua mensagem está retida até confirmar o envio.\n"),
        ({"Subject": "RE: [ESC-2026-0042] Stage 1"},
         "Your email will not be delivered until you authenticate as the sender.\n"),
    ],
)
def test_challenge_response_requests(changes: dict[str, str], body: str) -> None:
    """Its own kind, before the bounce and auto-reply signs such requests also carry."""
    assert detect(body, **changes) == (CONFIRM, "challenge_response")


@pytest.mark.parametrize(
    "body",
    [
        "Please confirm the placement panel date with the social worker.",
        "Can you confirm you are the allocated team manager for this child?",
        "The email from the school was held up in the post room until Monday.",
    ],
)
def test_people_asking_for_confirmation_are_people(body: str) -> None:
    assert detect(body) is None


# Bounces and reports ----------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Undeliverable: [ESC-2026-0042] x",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "failure notice",
        "Unzustellbar: [ESC-2026-0042] x",
        "Non remis : [ESC-2026-0042] x",
        "No se puede entregar: x",
        "Niedostarczalne: x",
        "Nelivrabil: x",
        "Heb ei ddosbarthu: x",
    ],
)
def test_failure_notices_without_a_report(subject: str) -> None:
    assert detect(Subject=subject) == (BOUNCE, "bounce_text")


def test_a_failure_notice_known_by_its_opening() -> None:
    body = ("Hi. This is the qmail-send program at mx.oldhost.example.test.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n")
    assert detect(body, Subject="Re: x") == (BOUNCE, "bounce_text")


def test_a_delay_warning_is_not_a_bounce() -> None:
    assert detect(Subject="Delivery Status Notification (Delay)") == (BULK, "bounce_text")


def report(report_type: str, status: str = "") -> bytes:
    return email(
        {**HUMAN_REPLY,
         "Content-Type": f'multipart/report; report-type={report_type}; boundary="b"'},
        "--b\nContent-Type: text/plain\n\nreport\n"
        + (f"--b\nContent-Type: message/delivery-status\n\n{status}\n" if status else "")
        + "--b--\n",
    )


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (report("delivery-status"), BOUNCE),
        (report("delivery-status", "Reporting-MTA: dns; mx.example.test\n\n"
                "Final-Recipient: rfc822; tm1@example.test\nAction: failed\nStatus: 5.1.1\n"),
         BOUNCE),
        # a delay warning and a delivery receipt tell nobody anything has failed
        (report("delivery-status", "Reporting-MTA: dns; mx.example.test\n\n"
                "Final-Recipient: rfc822; tm1@example.test\nAction: delayed\nStatus: 4.4.7\n"),
         BULK),
        (report("delivery-status", "Reporting-MTA: dns; mx.example.test\n\n"
                "Final-Recipient: rfc822; tm1@example.test\nAction: delivered\n"
                "Status: 2.0.0\n"), BULK),
        (report("disposition-notification"), AutomatedKind.READ_RECEIPT),
        (report("feedback-report"), AutomatedKind.FEEDBACK_REPORT),
    ],
)
def test_multipart_reports(raw: bytes, kind: AutomatedKind) -> None:
    found = detect_automated(parse_message(raw))
    assert found is not None and (found.kind, found.rule) == (kind, "delivery_report")


@pytest.mark.parametrize("subject", ["Read: [ESC-2026-0042] x", "Not read: x", "Lu : x",
                                     "Gelesen: x", "Przeczytano: x"])
def test_read_receipts_by_subject(subject: str) -> None:
    assert detect(Subject=subject) == (AutomatedKind.READ_RECEIPT, "read_receipt_subject")


@pytest.mark.parametrize("eml", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_corpus_automated_flags(eml: Path) -> None:
    expected = json.loads(eml.with_name(eml.stem + ".expected.json").read_text("utf-8"))
    found = detect_automated(parse_message(eml.read_bytes()))
    assert (found is not None) is expected["automated"]
    if found is not None:
        assert (found.kind.value, found.rule) == (expected["kind"], expected["rule"])


# Bounce details ---------------------------------------------------------------------

OURS_STAGE2 = (
    "<LO4P265MB62070A1B2C3D4E5F60718293A4B5C6D7@LO4P265MB6207.GBRP265.PROD.OUTLOOK.COM>",
    "<176467210533.4021.1127364554637281920@northshire.example.test>",
)


@pytest.mark.parametrize(
    ("name", "ids", "recipients"),
    [
        # Exchange: the whole original is attached; the manager who did get it is not listed
        ("bounce-exchange-ndr", OURS_STAGE2, ("gareth.pryce@northshire.example.test",)),
        # Postfix: only the original's headers come back
        (
            "bounce-postfix",
            (
                "<LO4P265MB6207AABBCCDDEEFF0011223344556677@LO4P265MB6207.GBRP265.PROD.OUTLOOK.COM>",
                "<176475329012.4021.6677889900112233445@northshire.example.test>",
            ),
            ("bethan.hughes@health.example.test",),
        ),
        # qmail: no report at all, the original pasted below a line of text
        ("bounce-qmail-plain", OURS_STAGE2, ("olu.adebayo@oldhost.example.test",)),
    ],
)
def test_bounce_details(name: str, ids: tuple[str, ...], recipients: tuple[str, ...]) -> None:
    details = bounce_details(parse_message((CORPUS / f"{name}.eml").read_bytes()))
    assert details.original_message_ids == ids
    assert details.failed_recipients == recipients
    assert details.original_subject is not None
    assert details.original_subject.startswith("[ESC-2026-0042] Stage ")


def test_a_damaged_bounce_gives_what_it_can() -> None:
    raw = (CORPUS / "bounce-exchange-ndr.eml").read_bytes()[:2500]
    details = bounce_details(parse_message(raw))
    assert details.original_message_ids == ()


def test_x_failed_recipients_is_read_when_there_is_no_report() -> None:
    raw = email({
        "From": "Mail Delivery System <mailer-daemon@mx.example.test>",
        "Subject": "Mail delivery failed: returning message to sender",
        "X-Failed-Recipients": "olu.adebayo@oldhost.example.test",
    }, "This message was created automatically by mail delivery software.\n")
    details = bounce_details(parse_message(raw))
    assert details.failed_recipients == ("olu.adebayo@oldhost.example.test",)
