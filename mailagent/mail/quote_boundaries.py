"""Where quoted history begins in a reply's text: the lines mail clients write above it.

Two sources, both read once per email:
- mail-parser-reply's quote-header patterns, with every language it ships switched on
  (English, German, Czech, Danish, Spanish, French, Italian, Japanese, Korean, Dutch,
  Polish, Swedish, Chinese and any it adds).
  A header block it finds must have two header lines: its Polish pattern takes one line
  ("Do: ...", "Data: ..."), which ordinary writing also has.
- patterns of our own for what it misses: Outlook header blocks in each language, with a
  "From:" line wrapped over two lines (Outlook for Mac, long display names); "original
  message" and "forwarded message" separators in each language; Yahoo's and Zoho's dashed
  lines; attribution lines ("... wrote:") in each language, French with its non-breaking
  space before the colon, Gmail's two-line form, and the verbless forms of Yandex and
  Russian Gmail ("1 дек. 2026 г., в 15:06, Name <a@b>:").

Each boundary says whether it may cut: an attribution line or header block ends what the
person wrote unless ">" quoted lines follow it, in which case only its own lines go and
the person's words may go on below the quote (bottom-posting, interleaved answers). A
verbless attribution is only ever removed before ">" lines, never cut at.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailparser_reply import EmailMessage
from mailparser_reply.constants import MAIL_LANGUAGES

# The library's own pattern for every quote header of every language it ships, compiled
# once; reading the positions off it directly skips the signature and disclaimer passes
# that `EmailReplyParser.read` makes over each part, which we do not use.
_LIBRARY_HEADERS = EmailMessage(text="", languages=list(MAIL_LANGUAGES)).HEADER_REGEX
# The library's patterns take quadratic time on long lines and long runs of spaces (a
# 4,000 character paragraph starting "On" costs a third of a second), so it reads a copy
# in which those are x'd out, keeping every offset; quote header lines are shorter.
_SLOW_FOR_LIBRARY = re.compile(r"^[^\n]{160,}$|[ \t]{20,}", re.MULTILINE)


@dataclass(frozen=True)
class Boundary:
    start: int  # offset of its first line
    end: int  # offset just past its last line
    cuts: bool  # False: removed before ">" lines, otherwise ignored


_FROM = (r"From|Von|De la|De|Od|Da|Van|Från|Fra|Frå|Lähettäjä|Feladó|Kimden|От|Від|Oddi wrth|"
         r"Expeditor|Remetente|Afzender|Odesílatel|Αποστολέας|Saatja|Siuntėjas|Pošiljatelj")
_OTHER = (r"Sent|Date|To|Subject|Cc|Gesendet|Datum|An|Betreff|Envoyé|À|A|Objet|Enviado|"
          r"Enviada|Fecha|Para|Asunto|Inviato|Data|Oggetto|Verzonden|Aan|Onderwerp|Skickat|"
          r"Till|Ämne|Sendt|Til|Emne|Wysłano|Do|Temat|DW|Trimis|Către|Catre|Subiect|Assunto|"
          r"Odesláno|Komu|Předmět|Lähetetty|Vastaanottaja|Aihe|Elküldve|Címzett|Tárgy|"
          r"Gönderildi|Kime|Konu|Отправлено|Кому|Тема|Дата|Надіслано|Anfonwyd|At|Pwnc|"
          r"Dyddiad|Kopie|Kopi|Kopia|Bcc")
_ORIGINAL = (r"Original Message|Ursprüngliche Nachricht|Originalnachricht|Message d'origine|"
             r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original|"
             r"Wiadomość oryginalna|Oryginalna wiadomość|Ursprungligt meddelande|"
             r"Oprindelig meddelelse|Opprinnelig melding|Alkuperäinen viesti|Původní zpráva|"
             r"Pôvodná správa|Eredeti üzenet|Mesaj original|Mesajul original|"
             r"Исходное сообщение|Оригінальне повідомлення|Αρχικό μήνυμα|Özgün İleti|"
             r"Orijinal Mesaj|Neges wreiddiol")
_FORWARDED = (r"Forwarded message|Weitergeleitete Nachricht|Message transféré|"
              r"Mensaje reenviado|Messaggio inoltrato|Doorgestuurd bericht|"
              r"Mensagem encaminhada|Wiadomość przekazana dalej|Vidarebefordrat meddelande|"
              r"Videresendt meddelelse|Videresendt melding|Välitetty viesti|"
              r"Přeposlaná zpráva|Továbbított üzenet|Mesaj redirecționat|"
              r"Пересылаемое сообщение|Переслане повідомлення")
_APPLE_FORWARD = (r"Begin forwarded message|Anfang der weitergeleiteten (?:Nachricht|E-Mail)|"
                  r"Début du message réexpédié|Inicio del mensaje reenviado|"
                  r"Inizio messaggio inoltrato|Begin doorgestuurd bericht|"
                  r"Início da mensagem reencaminhada|Vidarebefordrat brev")
_SEPARATORS = re.compile(
    "|".join((
        # an Outlook header block: From, maybe one wrapped line, then another header
        rf"^[>* ]*+(?:{_FROM})[ \t\xa0]*\*?[:：][^\n]*\n(?:[^\n]{{0,120}}\n)?"
        rf"[>* ]*+(?:{_OTHER})[ \t\xa0]*\*?[:：]",
        rf"^[> ]*+-{{2,}}[ \t]*(?:{_ORIGINAL}|{_FORWARDED})[ \t]*-{{2,}}[ \t]*$",
        rf"^[> ]*+={{3,}}[ \t]*(?:{_ORIGINAL}|{_FORWARDED})[ \t]*={{3,}}[ \t]*$",  # Zoho
        rf"^[> ]*+(?:{_APPLE_FORWARD})[ \t\xa0]*:[ \t]*$",
        # Zoho's reply line: "---- On Tue, 01 Dec 2026 ... <a@b> wrote ----"
        r"^[> ]*+-{3,}[ \t]*\S[^\n]{0,250}?\b(?:wrote|a écrit|schrieb|escribió|ha scritto|"
        r"escreveu|schreef|skrev|napisał)[ \t]*-{3,}[ \t]*$",
    )),
    re.IGNORECASE | re.MULTILINE,
)
_VERBS = (r"wrote|schrieb|a[ \xa0]+écrit|escribió|escribio|ha scritto|escreveu|schreef|skrev|"
          r"kirjoitti|napisał\(a\)|napisała|napisał|napsal\(a\)|napsala|napsal|napísal|"
          r"napisao|napisala|napisal|a scris|írta|yazdı|έγραψε|написал\(а\)|написала|"
          r"написал|написа|пишет|пише|написав|ysgrifennodd")
# "... wrote:" and its translations, at the end of a line (the colon may follow a name,
# a date or a non-breaking space).
_ATTRIBUTION_END = re.compile(
    rf"\b(?:{_VERBS})(?:[ \t\xa0]+[^\n]{{0,80}}?)?[ \t\xa0\u202f]*[:：][ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_WHO_OR_WHEN = re.compile(r"@|<[^<>\n]+>|\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b")
# A line ending in a colon that names an address or a time: "1 дек. 2026 г., в 15:06,
# Name <a@b>:" (Yandex, Russian Gmail) or "IRO Escalations wrote:" without a date.
_LOOSE_ATTRIBUTION = re.compile(r"^[^\n>][^\n]{0,250}[:：][ \t]*$", re.MULTILINE)
_OPENERS = re.compile(r"^(?:On|Am|Le|El|Il|Em|Op|Den|Dne|Dnia|W dniu|Ar|La|În|Στις|At)\b",
                      re.IGNORECASE)
_LABEL = re.compile(r"[>* ]*+[^\W\d_][^:：\d\n]{0,24}[:：]")
_ENDS_AFTER_WHO = re.compile(rf"(?:@|>|\d|{_VERBS}|写道|작성하였습니다)[^\n]{{0,60}}[:：][ \t]*$",
                             re.IGNORECASE)
_HEADER_LINE = re.compile(r"^[>* ]*[^\W\d][\w .'-]{0,30}?[ \t\xa0]*\*?[:：]", re.MULTILINE)


def boundaries(text: str) -> Iterator[Boundary]:
    """Every quote boundary in normalised `text`, in order of position, found lazily: a
    reader that stops at the first boundary that cuts spares the rest of the text."""
    ours = [Boundary(m.start(), _line_end(text, m.end()), True)
            for m in _SEPARATORS.finditer(text)]
    ours += _attributions(text)
    return heapq.merge(sorted(ours, key=_order), _library_boundaries(text), key=_order)


def _order(boundary: Boundary) -> tuple[int, bool]:
    return boundary.start, not boundary.cuts


def _attributions(text: str) -> list[Boundary]:
    found = []
    for match in _ATTRIBUTION_END.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        start = _wrapped_start(text, start)
        if _WHO_OR_WHEN.search(text, start, match.end()):
            found.append(Boundary(start, match.end(), True))
    for match in _LOOSE_ATTRIBUTION.finditer(text):
        if _WHO_OR_WHEN.search(match[0]) or _ATTRIBUTION_END.search(match[0]):
            found.append(Boundary(_wrapped_start(text, match.start()), match.end(), False))
    return found


def _wrapped_start(text: str, start: int) -> int:
    """The start of an attribution that a client wrapped over two lines: Gmail breaks it
    inside or after the address ("... <\\niro@x> wrote:", "... <iro@x>\\nnapisał(a):")."""
    if start == 0:
        return start
    previous = text.rfind("\n", 0, start - 1) + 1
    line = text[previous:start - 1].rstrip()
    if not line or len(line) > 200:
        return start
    if _OPENERS.match(line) or line.endswith(("<", ",")):
        return previous
    colon = text.find(":", start)
    short = colon >= 0 and len(text[start:colon].split()) <= 2  # "napisał(a):", "wrote:"
    if _WHO_OR_WHEN.search(line) and (short or line.endswith((">", ")"))):
        return previous
    return start


def _library_boundaries(text: str) -> Iterator[Boundary]:
    """The library's quote headers, read only where one could be: its patterns cost a lot
    per character, and only a line with a colon can start or end a quote header."""
    shielded = _SLOW_FOR_LIBRARY.sub(lambda m: "x" * len(m[0]), text)
    for start, end in _header_windows(shielded):
        for match in _LIBRARY_HEADERS.finditer(shielded, start, end):
            header = match[0].strip()
            if not header:
                continue
            at = match.start() + match[0].index(header[0])
            if _HEADER_LINE.match(header) and len(_HEADER_LINE.findall(header)) < 2:
                continue  # one "Name: value" line is writing, not a header block
            yield Boundary(at, _line_end(text, match.end()), True)


def _header_windows(text: str) -> Iterator[tuple[int, int]]:
    """Spans of lines around each line that could start or end a quote header, in order:
    one that is not already quoted (">") and starts with a short label and a colon
    ("From:", "Von:", "*Sent:*") or ends in a colon after an address, a date or a
    "wrote". Each span takes the line before (an attribution wrapped over two lines) and
    the six after (the rest of a header block)."""
    lines = text.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    window: tuple[int, int] | None = None
    for i, line in enumerate(lines):
        if (":" not in line and "：" not in line) or line.startswith(">"):
            continue
        if not (_LABEL.match(line) or _ENDS_AFTER_WHO.search(line)):
            continue
        first, last = max(0, i - 1), min(len(lines) - 1, i + 6)
        span = (starts[first], starts[last] + len(lines[last]))
        if window is not None and span[0] <= window[1] + 1:
            window = (window[0], span[1])
            continue
        if window is not None:
            yield window
        window = span
    if window is not None:
        yield window


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end
