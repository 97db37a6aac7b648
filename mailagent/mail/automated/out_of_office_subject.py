"""An automatic reply known by its subject, for servers that send no header saying so.

Two kinds of opening, after any gateway banner such as [EXTERNAL]:
- the name of an automatic reply, whatever follows: Outlook and Exchange put it before the
  subject they answer, in the mailbox's language ("Automatic reply:", "Ateb awtomatig:",
  "Automatische Antwort:", "Réponse automatique :", "Odpowiedź automatyczna:",
  "Răspuns automat:" ...), and Sieve's vacation extension writes "Auto:" (RFC 5230);
- a statement of absence that stands alone, or before a colon, a dash or "until": "Out of
  Office:", "Allan o'r swyddfa", "Abwesenheitsnotiz:", "Poza biurem", "În afara biroului"...
A subject that only mentions absence further on ("RE: out of office cover") is a person's.
"""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule, language_of, wording

_NAMES = wording({
    "en": r"automatic reply|auto[- ]?reply|auto[- ]?response|automated (?:reply|response)|"
          r"auto\s*:|autoresponder|vacation reply|holiday (?:auto-?)?reply",
    "cy": r"ateb awtomatig|ymateb awtomatig|neges awtomatig",
    "de": r"automatische (?:antwort|rückantwort)|abwesenheitsnotiz|abwesenheitsmeldung",
    "fr": r"réponse automatique|repondeur automatique|répondeur automatique",
    "es": r"respuesta automática|respuesta automatica",
    "it": r"risposta automatica",
    "pt": r"resposta automática|resposta automatica",
    "nl": r"automatisch antwoord|afwezigheidsbericht",
    "pl": r"odpowiedź automatyczna|automatyczna odpowiedź|autoodpowiedź|"
          r"odpowiedz automatyczna|automatyczna odpowiedz",
    "ro": r"răspuns automat|raspuns automat|răspuns automatic",
    "sv": r"automatiskt svar|frånvaromeddelande",
    "da": r"automatisk svar|autosvar|fraværsmeddelelse",
    "no": r"automatisk svar|fraværsmelding",
    "fi": r"automaattinen vastaus|lomavastaaja",
    "cs": r"automatická odpověď",
    "sk": r"automatická odpoveď",
    "hu": r"automatikus válasz",
    "el": r"αυτόματη απάντηση",
    "ru": r"автоматический ответ|автоответ",
    "uk": r"автоматична відповідь",
    "bg": r"автоматичен отговор",
    "hr": r"automatski odgovor",
    "sl": r"samodejni odgovor",
    "lt": r"automatinis atsakymas",
    "lv": r"automātiskā atbilde",
    "et": r"automaatvastus",
    "tr": r"otomatik (?:yanıt|cevap)",
    "ja": r"自動応答|自動返信",
    "zh": r"自动回复|自動回覆",
}, r"^(?:{})")

_UNTIL = (r"until|till|back|returning|tan|hyd|bis|jusqu|hasta|fino|até|tot|do|până|pana|"
          r"til|asti")
_ABSENCE = wording({
    "en": r"out of (?:the )?office(?: auto-?reply| reply| alert| notice| notification)?|"
          r"ooo|away from (?:the |my )?office|on (?:annual )?leave|"
          r"on holiday|on vacation|absence(?: notice| notification)?|away|annual leave|"
          r"not in the office",
    "cy": r"allan o'r swyddfa|i ffwrdd o'r swyddfa|ar wyliau|ar absenoldeb|"
          r"absennol o'r swyddfa",
    "de": r"nicht im büro|abwesend|außer haus|ausser haus|im urlaub|urlaub",
    "fr": r"absente? du bureau|absence du bureau|message d'absence|en congés?|"
          r"hors du bureau",
    "es": r"fuera de la oficina|ausente|de vacaciones",
    "it": r"fuori (?:ufficio|sede)|assente|in ferie",
    "pt": r"fora do escritório|ausência(?: temporária)?|ausente|de férias",
    "nl": r"afwezig|niet op kantoor|niet aanwezig|met vakantie",
    "pl": r"poza biurem|nieobecn\w*|na urlopie|urlop",
    "ro": r"[îi]n afara biroului|absent de la birou|[îi]n concediu|concediu",
    "sv": r"inte på kontoret|frånvarande|på semester|ledig",
    "da": r"ikke på kontoret|fraværende|på ferie",
    "no": r"ikke på kontoret|fraværende|på ferie|fravær",
    "fi": r"poissa toimistolta|lomalla|poissa",
    "cs": r"mimo kancelář|nepřítomen|nepřítomna|dovolená",
    "hu": r"házon kívül|szabadságon",
    "el": r"εκτός γραφείου",
    "ru": r"вне офиса|в отпуске|отсутствую",
    "uk": r"поза офісом|у відпустці",
}, r"^(?:{})(?=\s*(?:[:：\-–—(,/|]|$)|\s+(?:" + _UNTIL + r")\b)")


def check(mail: Mail) -> Hit | None:
    if found := _NAMES.match(mail.subject):
        return Hit(AutomatedKind.AUTOREPLY,
                   f"the subject names an automatic reply ({language_of(found)})")
    if found := _ABSENCE.match(mail.subject):
        return Hit(AutomatedKind.AUTOREPLY,
                   f"the subject says the person is away ({language_of(found)})")
    return None


RULE = Rule("out_of_office_subject", "an out-of-office or other automatic reply by its "
            "subject, in English, Welsh and the main European languages", check)
