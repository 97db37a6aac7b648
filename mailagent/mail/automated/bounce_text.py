"""A bounce without a delivery status report: the subject a mail server gives a failure
notice (Exchange's "Undeliverable:" in each of its languages, Postfix's, Exim's, qmail's),
or the sentence it opens with. A warning that delivery is only delayed is a notice (bulk):
the final failure, if it comes, is the bounce."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule, language_of, wording

_DELAYED = wording({
    "en": r"delayed mail|delivery (?:status notification \(delay\)|delayed)|"
          r"warning: (?:could not send message|message .{0,40} delayed)",
}, r"^(?:{})")
_SUBJECT = wording({
    "en": r"undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
          r"returned mail|delivery failure|failure notice|mail delivery failure|"
          r"delivery has failed|message not delivered|non-?delivery|nondeliverable|"
          r"mail system error|delivery notification: delivery has failed",
    "cy": r"heb ei ddosbarthu|methwyd danfon|methu (?:â )?danfon",
    "de": r"unzustellbar|nicht zustellbar|unzustellbare nachricht",
    "fr": r"non remis|non distribuable|échec de (?:la )?remise",
    "es": r"no se puede entregar|mensaje no entregado",
    "it": r"non recapitabile|impossibile recapitare",
    "pt": r"não (?:é possível entregar|entregue)",
    "nl": r"onbestelbaar|kan niet worden bezorgd",
    "pl": r"niedostarczalne|nie można dostarczyć|wiadomość niedostarczona",
    "ro": r"nelivrabil|nu se poate livra|mesaj nelivrat",
    "sv": r"olevererbart|kunde inte levereras",
    "da": r"ikke-leverbar|kunne ikke leveres",
    "no": r"kan ikke leveres|ikke levert",
    "fi": r"ei voi(?:tu)? toimittaa",
    "cs": r"nedoručitelné",
    "hu": r"kézbesíthetetlen",
    "ru": r"недоставляемое сообщение|не доставлено",
}, r"^(?:{})")
# The first sentence of each common server's text-only failure notice.
_OPENING = wording({
    "en": r"this is the mail system at host|i'm sorry to have to inform you that your "
          r"message could not be delivered|a message that you sent could not be delivered|"
          r"this is the qmail-send program|the following addresses? had permanent fatal "
          r"errors|delivery has failed to these recipients|your message (?:couldn't|could "
          r"not|wasn't|was not) (?:be )?delivered|delivery to the following recipients? "
          r"failed|this message was created automatically by mail delivery software",
}, r"(?:{})")


def check(mail: Mail) -> Hit | None:
    if _DELAYED.match(mail.subject):
        return Hit(AutomatedKind.BULK, "the subject of a delivery delay warning")
    if found := _SUBJECT.match(mail.subject):
        return Hit(AutomatedKind.BOUNCE,
                   f"the subject of a delivery failure ({language_of(found)})")
    if _OPENING.search(mail.opening[:500]):
        return Hit(AutomatedKind.BOUNCE, "the opening of a mail server's failure notice")
    return None


RULE = Rule("bounce_text", "a mail server's failure notice without a delivery report: "
            "its subject or opening sentence", check)
