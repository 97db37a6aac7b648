"""A challenge-response spam filter asking us to prove that a person sent our email.

Such a filter (cPanel's BoxTrapper, TMDA, Spam Arrest, Boxbe, Mailinblack and many mail
hosts' own) holds our email in a queue and sends back a request: reply, or click a link,
to show the sender is a person. The person we wrote to has not received our email. These
requests often carry the marks of a bounce (a null return path, "created automatically by
mail delivery software") or of an auto-reply, so this rule runs before those.

What decides, any one of:
- BoxTrapper's subject token ``verify#<id>``, which its documentation says must be kept;
- TMDA's X-Delivery-Agent header, or its confirmation address ``name-confirm-...@`` in
  Reply-To or From;
- a sender, Reply-To or return path at a challenge-response service's own domain;
- wording, in English and the main European languages: a subject asking to confirm or
  verify the sender or the email, or an opening saying our email is held until someone
  confirms, or asking to prove that we are a person.
"""

from __future__ import annotations

import re

from mailagent.mail.automated.base import (
    AutomatedKind,
    Hit,
    Mail,
    Rule,
    addresses_in,
    language_of,
    wording,
)

SERVICES = ("spamarrest.com", "boxbe.com", "mailinblack.com")
_BOXTRAPPER = re.compile(r"\bverify#\S+", re.IGNORECASE)
_CONFIRM_ADDRESS = re.compile(r"^[^@\s]+[-+.]confirm[-+.][^@\s]*@", re.IGNORECASE)

_SUBJECT = wording({
    "en": r"please confirm your (?:e-?mail|message|request)|"
          r"(?:please )?verify your (?:e-?mail(?: address)?|message|address)|"
          r"(?:sender|e-?mail|address) verification\b|verification (?:required|request)|"
          r"(?:requires|awaiting|pending) (?:your )?(?:verification|confirmation)|"
          r"\[spam arrest\]",
    "fr": r"confirm(?:ez|er) (?:votre|l'envoi de votre) (?:message|e-?mail|courriel)|"
          r"vérification (?:de l'|d')?expéditeur",
    "de": r"bestätigen sie ihre (?:nachricht|e-?mail)|absender(?:bestätigung|überprüfung|"
          r"-?verifizierung)",
    "es": r"confirme su (?:mensaje|correo)|verificación del remitente",
    "it": r"conferm[ai] il (?:tuo|suo) messaggio|verifica del mittente",
    "nl": r"bevestig uw (?:bericht|e-?mail)|afzenderverificatie",
    "pl": r"potwierdź (?:swoją )?wiadomość|weryfikacja nadawcy",
    "pt": r"confirme a sua mensagem|verificação do remetente",
}, r"(?:{})")

# A held email and an action asked of the sender, or a request to prove we are a person.
_HELD = r"(?:message|e-?mail)s?\b.{{0,100}}?\b(?:{held})\b.{{0,200}}?\b(?:{act})"
_OPENING = wording({
    "en": _HELD.format(held=r"held|pending|quarantined|on hold|waiting|not (?:yet )?"
                       r"(?:been )?delivered|will (?:not )?be delivered",
                       act=r"confirm|verif|prove|authenticat")
          + r"|\b(?:confirm|verify|prove)\b.{0,40}?\byou(?: are|'re)\b.{0,20}?"
            r"(?:human|a (?:real )?person|a real sender|not a (?:robot|spammer|machine|bot))"
          + r"|\bto release your (?:message|e-?mail)\b|\bchallenge[- ]response\b",
    "fr": r"votre (?:message|e-?mail|courriel)\b.{0,100}?\b(?:en attente|bloqué|retenu)"
          r"|\b(?:confirm|vérifi|valid)\w*\b.{0,60}?\b(?:un humain|une personne|un robot)",
    "de": r"ihre (?:nachricht|e-?mail|mail)\b.{0,100}?\b(?:zurückgehalten|angehalten|"
          r"in quarantäne|wartet)|\bdass sie (?:ein )?mensch",
    "es": r"su (?:mensaje|correo)\b.{0,100}?\b(?:retenido|en espera|pendiente)"
          r"|\b(?:confirme|verifique)\b.{0,60}?\b(?:una persona|humano)",
    "it": r"(?:suo|tuo) messaggio\b.{0,100}?\b(?:trattenuto|in attesa|sospeso)"
          r"|\bconferm\w*\b.{0,60}?\b(?:una persona|umano)",
    "nl": r"uw (?:bericht|e-?mail)\b.{0,100}?\b(?:vastgehouden|in de wacht|tegengehouden)"
          r"|\bbevestig\w*\b.{0,60}?\b(?:een mens|een persoon)",
    "pl": r"wiadomość\b.{0,100}?\b(?:wstrzymana|zatrzymana|oczekuje)"
          r"|\bpotwierd\w*\b.{0,60}?\b(?:człowiek|osob)",
    "pt": r"sua mensagem\b.{0,100}?\b(?:retida|em espera|pendente)",
    # every phrase above contains one of _STEMS
}, r"\b(?:{})")


# Every phrase of _OPENING contains one of these.
_STEMS = ("confirm", "verif", "prove", "authenticat", "release", "challenge", "attente",
          "bloqué", "retenu", "humain", "personne", "robot", "zurückgehalten", "angehalten",
          "quarantäne", "wartet", "mensch", "retenido", "en espera", "pendiente",
          "una persona", "humano", "trattenuto", "attesa", "sospeso", "umano",
          "vastgehouden", "wacht", "tegengehouden", "een mens", "persoon", "wstrzymana",
          "zatrzymana", "oczekuje", "człowiek", "osob", "retida", "pendente")
# Such a request says what it is in its first lines.
_OPENING_CHARS = 800


def check(mail: Mail) -> Hit | None:
    kind = AutomatedKind.CONFIRMATION_REQUEST
    if _BOXTRAPPER.search(mail.subject):
        return Hit(kind, "BoxTrapper's verify# subject")
    if "tmda" in mail.header("X-Delivery-Agent").lower():
        return Hit(kind, "TMDA's X-Delivery-Agent header")
    senders = [mail.sender, mail.return_path, *addresses_in(mail.header("Reply-To"))]
    if any(_CONFIRM_ADDRESS.match(address) for address in senders):
        return Hit(kind, "a confirmation address (name-confirm-...@) to reply to")
    service = next((s for s in SERVICES for a in senders if a.endswith("@" + s)
                    or a.endswith("." + s)), None)
    if service is not None:
        return Hit(kind, f"sent by a challenge-response service ({service})")
    if found := _SUBJECT.search(mail.subject):
        return Hit(kind, f"the subject asks to confirm the sender ({language_of(found)})")
    if mail.mentions(_STEMS) and (found := _OPENING.search(mail.opening, 0, _OPENING_CHARS)):
        return Hit(kind, "the text says our email is held until the sender confirms "
                         f"({language_of(found)})")
    return None


RULE = Rule("challenge_response", "a spam filter holding our email until someone confirms "
            "the sender is a person", check)
