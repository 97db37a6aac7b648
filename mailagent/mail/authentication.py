"""Whether the receiving mail server vouches for an email's sender: its verdict, read only
from the servers the council trusts.

Anyone can write `From: an IRO`; what cannot be forged is what the council's own receiving
server found when the mail arrived (SPF, DKIM, DMARC), which it records at the top of the
message in an `Authentication-Results` header (RFC 8601) naming itself by its
`authserv-id`. A sender can add such headers too, so only the topmost is read, and only
if a server configured as trusted wrote it; everything below it arrived with the mail and
is ignored.

Microsoft 365 writes its header without an authserv-id ("spf=pass ...; dmarc=pass ...;
compauth=pass reason=100") and marks mail sent inside the organisation with
`X-MS-Exchange-Organization-AuthAs: Internal`; Exchange removes such headers from mail
arriving from outside, so with `microsoft_365 = true` both are believed (the topmost).

The header values are parsed with `authres` (Scott Kitterman's RFC 8601 parser);
Microsoft's form is first put into RFC shape. Nothing here looks at the directory: the
verdict is about the address in From, and `cases.authorise` decides what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import authres
import authres.dmarc

from mailagent.config import AuthenticationSettings
from mailagent.mail.parse import InboundMessage

Result = Literal["pass", "fail", "none"]
MICROSOFT = "microsoft-365"  # how Microsoft's header is named once put into RFC shape
AR_HEADER = "authentication-results"
AUTH_AS_HEADER = "x-ms-exchange-organization-authas"
MAX_VALUE_CHARS = 4000  # a real verdict is a few hundred characters

_CONTEXT = authres.FeatureContext(authres.dmarc)
_RESINFO = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_.-]*\s*=")
_PASS = {"pass", "bestguesspass"}


@dataclass(frozen=True)
class Verdict:
    """What the trusted server said about the sender: pass, fail or none, and why (the
    methods and the server, never the message's text)."""

    result: Result
    reason: str


def sender_verdict(msg: InboundMessage, settings: AuthenticationSettings) -> Verdict:
    """The trusted verdict on `msg`'s From address; never raises."""
    domain = (msg.from_addr or "").rpartition("@")[2].lower()
    if settings.microsoft_365 and _internal(msg):
        return Verdict("pass", "Exchange: sent inside the organisation (AuthAs Internal)")
    found = trusted_results(msg, settings)
    if found is None:
        return Verdict("none", "no Authentication-Results from a trusted server")
    server, results = found
    return _judge(results, domain, server)


def trusted_results(
    msg: InboundMessage, settings: AuthenticationSettings
) -> tuple[str, list[tuple[str, str, dict[str, str]]]] | None:
    """The topmost Authentication-Results header, if a trusted server wrote it, as
    (server, [(method, result, properties)]).

    Only the topmost is read: the last server to handle the mail writes its verdict there,
    and anything below it may have arrived with the mail, written by anyone, even with the
    council's own authserv-id. (A server that writes one header per method writes its
    last, normally DMARC's, on top.)
    """
    for name, raw in msg.headers.items:  # top first
        if name.lower() != AR_HEADER:
            continue
        value = _unfold(raw)[:MAX_VALUE_CHARS]
        parsed = _parse(value)
        trusted = {server.lower() for server in settings.trusted_authserv_ids}
        if parsed is not None and parsed[0].lower() in trusted:
            return parsed
        if settings.microsoft_365 and _RESINFO.match(value):
            return _parse(_microsoft_shape(value))
        return None
    return None


def _internal(msg: InboundMessage) -> bool:
    for name, raw in msg.headers.items:
        if name.lower() == AUTH_AS_HEADER:
            return _unfold(raw).strip().lower() == "internal"  # the topmost only
    return False


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _parse(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]] | None:
    try:
        header = _CONTEXT.parse_value(value)
    except Exception:  # authres raises its own errors, and a few of Python's on odd input
        return None
    results = [
        (str(r.method).lower(), str(r.result).lower(),
         {f"{p.type}.{p.name}".lower(): str(p.value or "").lower() for p in r.properties})
        for r in header.results
        if getattr(r, "method", None)
    ]
    return str(header.authserv_id or ""), results


def _microsoft_shape(value: str) -> str:
    """Microsoft's "spf=pass ...; council.example; dkim=..." as RFC 8601: a name for the
    server first, and the stray domain names it puts between results left out."""
    parts = [part.strip() for part in value.split(";")]
    return "; ".join([MICROSOFT, *(p for p in parts if _RESINFO.match(p))])


def _judge(results: list[tuple[str, str, dict[str, str]]], domain: str, server: str) -> Verdict:
    by_method: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for method, result, props in results:
        by_method.setdefault(method, []).append((result, props))
    where = f"({server})"
    # DMARC, and Microsoft's composite verdict, already weigh SPF and DKIM against From.
    for method, key in (("dmarc", "header.from"), ("compauth", None)):
        for result, props in by_method.get(method, []):
            if key is not None and props.get(key) != domain:
                continue  # about another From address
            if result in _PASS:
                return Verdict("pass", f"{method}={result} {where}")
            if result == "fail":
                return Verdict("fail", f"{method}={result} {where}")
    aligned = {
        "dkim": lambda p: _aligned(p.get("header.d") or p.get("header.i", "").lstrip("@"), domain),
        "spf": lambda p: _aligned(p.get("smtp.mailfrom", "").rpartition("@")[2], domain),
    }
    failed = []
    for method, is_aligned in aligned.items():
        for result, props in by_method.get(method, []):
            if result == "pass" and is_aligned(props):
                return Verdict("pass", f"{method}=pass, aligned with From {where}")
            if result in ("fail", "permerror"):
                failed.append(f"{method}={result}")
    if failed:
        return Verdict("fail", f"{', '.join(failed)} {where}")
    return Verdict("none", f"no pass or fail for the From domain {where}")


def _aligned(found: str, domain: str) -> bool:
    """Relaxed alignment (RFC 7489): the same domain, or one within the other."""
    found = found.lower().rpartition("@")[2]
    return bool(found and domain) and (
        found == domain or found.endswith("." + domain) or domain.endswith("." + found)
    )
