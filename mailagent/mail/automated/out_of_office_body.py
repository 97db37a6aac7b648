"""An out-of-office known only by its text: no header, no subject to say what it is.

Some servers and hosted mailboxes send the holiday message as a plain email with the
subject it answers. It is told from a person's short answer ("I'm on leave tomorrow, so
Jo will attend") by three things together:
- it opens with a statement of absence, within its first sentences ("I am out of the
  office", "Rwyf allan o'r swyddfa", "Ich bin bis ... nicht im Büro", "Jestem poza biurem",
  "Sunt în concediu" ...), in English, Welsh or a main European language;
- it says when the person is back or whom to contact ("until", "tan", "bis", "jusqu'au",
  "do dnia", "până la", "urgent", a date ...);
- it quotes nothing and is short: automatic replies do not quote the email they answer,
  while a person pressing Reply does, our case marker with it.
An automatic reply that quotes our email is left to the other rules; a person who writes
nothing but an absence notice, without quoting us, is taken for one, and the stage's
deputy is brought in, which is what such a notice asks for.
"""

from __future__ import annotations

import re

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule, language_of, wording
from mailagent.mail.quotes import split_reply
from mailagent.mail.references import ANY_MARKER_RE

STATEMENT_WITHIN = 400  # characters from the start of the text
MAX_LENGTH = 2500  # characters: longer text is a person writing, or a newsletter

_SOME = r"(?:\S+ ){0,6}?"  # "bis zum 7. Dezember" between the verb and the absence
_STATEMENT = wording({
    "en": r"\bI(?: am|'m| will be|'ll be| shall be)(?: currently| now| presently)? "
          r"(?:out of (?:the |my )?office|away from (?:the |my )?(?:office|desk|work)|"
          r"on (?:annual |parental |maternity |paternity |adoption |sick |study )?leave|"
          r"on holiday|on vacation|away (?:until|from|on|and|with|at)|off (?:work|sick)|"
          r"not (?:in the office|working|at work)|(?:currently )?unavailable (?:until|from))"
          r"|\bI(?: do not|don't) work on (?:mon|tues|wednes|thurs|fri)days"
          r"|\bmy working (?:days|pattern|hours) (?:are|is)\b"
          r"|\bthis (?:e-?mail )?(?:mailbox|address|account) is (?:no longer|not) "
          r"(?:monitored|in use|checked|active)"
          r"|\bI (?:have (?:now )?left|no longer work (?:for|at|in|with)) ",
    "cy": r"\b(?:rwyf|rydw|dw|rwy)(?: i)? (?:allan o'r swyddfa|i ffwrdd|ar (?:wyliau|"
          r"absenoldeb|gwyliau)|ddim yn y swyddfa)|\bbyddaf (?:allan o'r swyddfa|i ffwrdd|"
          r"ar wyliau|ar absenoldeb)|\b(?:nid wyf|dydw i ddim) yn y swyddfa",
    "de": rf"\bich bin {_SOME}(?:nicht im (?:büro|haus|dienst)|au(?:ß|ss)er haus|abwesend|"
          rf"im urlaub|in elternzeit)|\b(?:ich befinde mich|bin ich) {_SOME}(?:im urlaub|"
          r"au(?:ß|ss)er haus|nicht im büro|abwesend)",
    "fr": rf"\bje (?:suis|serai) {_SOME}(?:absente?|en congés?|en vacances|hors du bureau|"
          r"en déplacement)|\bje ne (?:suis|serai) pas (?:au bureau|disponible)",
    "es": rf"\b(?:estoy|estaré|me encuentro) {_SOME}(?:fuera de la oficina|de vacaciones|"
          r"ausente|de baja)",
    "it": rf"\b(?:sono|sarò) {_SOME}(?:fuori (?:ufficio|sede)|in ferie|assente|in vacanza)",
    "pt": rf"\b(?:estou|estarei) {_SOME}(?:fora do escritório|de férias|ausente)",
    "nl": rf"\bik ben {_SOME}(?:afwezig|niet (?:op kantoor|aanwezig)|met vakantie|"
          r"op vakantie)",
    "pl": rf"\b(?:jestem|będę) {_SOME}(?:poza biurem|na urlopie|nieobecn[ya]|niedostępn[ya])"
          r"|\bprzebywam na urlopie",
    "ro": rf"\b(?:sunt|voi fi) {_SOME}(?:[îi]n afara biroului|[îi]n concediu)"
          r"|\bnu (?:sunt|mă aflu|ma aflu) (?:\S+ ){0,2}?la birou",
    "sv": rf"\bjag är {_SOME}(?:inte på kontoret|på semester|ledig|tjänstledig|"
          r"föräldraledig|frånvarande)",
    "da": rf"\bjeg er {_SOME}(?:ikke på kontoret|på ferie|fraværende|ikke til stede)",
    "fi": rf"\bolen {_SOME}(?:lomalla|poissa)",
    "cs": rf"\bjsem {_SOME}(?:mimo kancelář|na dovolené|nepřítomn[ýá])",
    "hu": r"\b(?:házon kívül|szabadságon) vagyok",
    "el": r"είμαι (?:εκτός γραφείου|σε άδεια)",
    "ru": rf"\bя {_SOME}(?:в отпуске|вне офиса|отсутствую)",
    "uk": rf"\bя {_SOME}(?:у відпустці|поза офісом|відсутн)",
    "tr": r"ofis dışındayım|izindeyim",
})
# When the person is back, or whom to ask meanwhile.
_DETAIL = re.compile(
    r"\b(?:until|till|return(?:ing)?|back (?:on|in|at|from)|in my absence|urgent|"
    r"limited (?:access|availability)|will (?:reply|respond|get back|deal with)|"
    r"please (?:contact|e-?mail|call|phone|ring|write)|alternatively|"
    r"tan|hyd|dychwel|brys|cysylltwch|"  # Welsh
    r"bis|zurück|dringend|vertretung|wenden sie sich|"  # German
    r"jusqu|retour|urgen\w*|contacter|en mon absence|"  # French
    r"hasta|regreso|urgente|contacte|en mi ausencia|"  # Spanish
    r"fino|rientro|ritorno|contattare|"  # Italian
    r"até|regresso|retorno|"  # Portuguese
    r"tot(?: en met)?|terug|spoed|"  # Dutch
    r"do dnia|powrot\w*|powrocie|pilnych|pilne|"  # Polish
    r"până|pana|revin|[îi]ntoarcere|"  # Romanian
    r"till och med|tillbaka|brådskande|kontakta|til og med|tilbage|tilbake|haster|"  # Nordic
    r"asti|palaan|kiireellisissä|návrat|naléhav\w*|vissza|sürgős|"  # fi, cs, hu
    r"έως|επιστροφ\w*|επείγ\w*|до \d|вернусь|повернусь|срочн\w*|терміново|kadar|acil)\b"
    r"|\b\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b",
    re.IGNORECASE,
)


# Every statement of _STATEMENT contains one of these.
_STEMS = (
    "office", "away", "leave", "holiday", "vacation", "off ", "not in", "not working",
    "not at", "unavailable", "work on", "working", "mailbox", "address", "account", "left",
    "no longer", "swyddfa", "ffwrdd", "wyliau", "absenoldeb", "büro", "haus", "dienst",
    "abwesend", "urlaub", "elternzeit", "absent", "congé", "vacances", "bureau",
    "déplacement", "disponible", "oficina", "vacacion", "ausente", "baja", "ufficio", "sede",
    "ferie",
    "assente", "vacanza", "escritório", "férias", "afwezig", "kantoor", "aanwezig",
    "vakantie", "biur", "urlop", "nieobecn", "niedostępn", "birou", "concediu", "kontoret",
    "semester", "ledig", "frånvarande", "ferie", "fraværende", "stede", "loma", "poissa",
    "kancelář", "dovolen", "nepřítomn", "kívül", "szabadság", "γραφείου", "άδεια",
    "отпуск", "офиса", "отсутств", "відпуст", "офісом", "відсутн", "dışında", "izinde",
)


def check(mail: Mail) -> Hit | None:
    if not mail.mentions(_STEMS):
        return None
    found = _STATEMENT.search(mail.opening, 0, STATEMENT_WITHIN + 200)
    if found is None or found.start() > STATEMENT_WITHIN:
        return None
    msg = mail.msg
    if len(msg.text.strip()) > MAX_LENGTH or not _DETAIL.search(mail.opening):
        return None
    quoted = ANY_MARKER_RE.search(msg.text) or ANY_MARKER_RE.search(msg.html or "")
    if quoted or split_reply(msg.text, msg.html).quoted:
        return None
    return Hit(AutomatedKind.AUTOREPLY,
               f"the text opens with an absence statement ({language_of(found)}), says when "
               "the person is back or whom to contact, and quotes nothing")


RULE = Rule("out_of_office_body", "an out-of-office known only by its text: an absence "
            "statement, a return date or contact, nothing quoted", check)
