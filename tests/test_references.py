"""Case references in subjects and the body marker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailagent.mail.references import (
    References,
    format_marker,
    has_forward_prefix,
    has_reply_prefix,
    strip_subject,
)

REF_PREFIXES = ("ESC", "PC", "GP", "CA")
REFS = References(REF_PREFIXES)
find_marker = REFS.find_marker
find_subject_ref = REFS.find_in_subject


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("RE: Placement drift", "Placement drift"),
        ("Re: RE: re: Placement drift", "Placement drift"),
        ("Re[2]: Placement drift", "Placement drift"),
        ("RE(3): Placement drift", "Placement drift"),
        ("AW: WG: Placement drift", "Placement drift"),
        ("SV: VS: Antw: TR: Fwd: FW: Placement drift", "Placement drift"),
        ("ATB: YML: Placement drift", "Placement drift"),  # Welsh Outlook
        ("Odp: PD: Placement drift", "Placement drift"),  # Polish
        ("RE:Placement drift", "Placement drift"),
        ("[EXTERNAL] RE: Placement drift", "Placement drift"),
        ("RE: [EXTERNAL] Placement drift", "Placement drift"),
        ("**EXTERNAL** Re: Placement drift", "Placement drift"),
        ("[External] [EXT] RE: **CAUTION** FW: Placement drift", "Placement drift"),
        ("EXT: Re: Placement drift", "Placement drift"),
        ("Resolution of placement drift", "Resolution of placement drift"),
        ("Reply needed: placement drift", "Reply needed: placement drift"),
        ("Automatic reply: RE: x", "Automatic reply: RE: x"),
        ("", ""),
    ],
)
def test_strip_subject_removes_prefixes_and_banners(subject: str, stripped: str) -> None:
    assert strip_subject(subject) == stripped


@pytest.mark.parametrize(
    ("subject", "reply", "forward"),
    [
        ("RE: x", True, False),
        ("Re[2]: x", True, False),
        ("AW: x", True, False),
        ("SV: x", True, False),
        ("Antw: x", True, False),
        ("ATB: x", True, False),
        ("[EXTERNAL] Re: x", True, False),
        ("FW: x", False, True),
        ("Fwd: x", False, True),
        ("WG: x", False, True),
        ("TR: x", False, True),
        ("RE: FW: x", True, False),  # the first prefix says what the client did last
        ("FW: RE: x", False, True),
        ("Regarding x", False, False),
        ("x", False, False),
        (None, False, False),
    ],
)
def test_reply_and_forward_prefixes(subject: str | None, reply: bool, forward: bool) -> None:
    assert has_reply_prefix(subject) is reply
    assert has_forward_prefix(subject) is forward


@pytest.mark.parametrize(
    ("subject", "ref"),
    [
        ("RE: [ESC-2026-0042] Stage 1: Team Manager", "ESC-2026-0042"),
        ("Re: [esc-2026-0042] lower case", "ESC-2026-0042"),
        ("Update on PC-2026-0007 please", "PC-2026-0007"),
        ("GP-2026-12345 five digits", "GP-2026-12345"),
        ("about CA-2026-0003 and [ESC-2026-0042]", "ESC-2026-0042"),  # ours, bracketed, first
        ("[EXTERNAL] AW: [ ESC-2026-0042 ] spaced", "ESC-2026-0042"),
        ("ESC-2026-042 too few digits", None),
        ("XYZ-2026-0042 unknown prefix", None),
        ("ESC-2026-00420x glued to text", None),
        ("", None),
        (None, None),
    ],
)
def test_find_subject_ref(subject: str | None, ref: str | None) -> None:
    assert find_subject_ref(subject) == ref


def test_marker_is_plain_ascii_without_spaces() -> None:
    marker = format_marker("esc-2026-0042")
    assert marker == "[ma:ESC-2026-0042]"
    assert marker.isascii() and " " not in marker


@pytest.mark.parametrize(
    "body",
    [
        "Thanks\n\n> > Sent by the mailbox.\n> > [ma:ESC-2026-0042]\n",  # quoted twice
        '<p class="footer" style="color:#888">Reply to this email. [ma:ESC-2026-0042]</p>',
        "footer [MA:esc-2026-0042] in another case",
        "spaces a client put in: [ ma : ESC-2026-0042 ]",
    ],
)
def test_find_marker_survives_quoting_html_and_case(body: str) -> None:
    assert find_marker(body) == "ESC-2026-0042"


def test_find_marker_takes_the_most_recent_and_ignores_plain_references() -> None:
    assert find_marker("see ESC-2026-0001\n> [ma:PC-2026-0002]\n>> [ma:ESC-2026-0003]") == (
        "PC-2026-0002"
    )
    assert find_marker("the case ESC-2026-0042 is overdue") is None
    assert find_marker(None) is None


def test_format_marker_refuses_what_is_not_a_reference() -> None:
    with pytest.raises(ValueError):
        format_marker("ESC-26-1")


refs = st.builds(
    lambda prefix, year, number: f"{prefix}-{year}-{number:04d}",
    st.sampled_from(REF_PREFIXES),
    st.integers(2000, 2099),
    st.integers(0, 999_999),
)


@given(ref=refs, before=st.text(), after=st.text())
def test_marker_round_trips_through_any_text(ref: str, before: str, after: str) -> None:
    # a marker is found whatever surrounds it, unless the text holds an earlier marker
    if find_marker(before) is None:
        assert find_marker(before + "\n> " + format_marker(ref) + after) == ref


def test_a_council_s_own_prefixes_are_the_ones_found() -> None:
    refs = References(["IRO", "CHAL"])
    assert refs.find_in_subject("RE: [IRO-2027-0001] Stage One") == "IRO-2027-0001"
    assert refs.find_marker("> [ma:chal-2027-0002]") == "CHAL-2027-0002"
    # Another council's prefix is ordinary text here.
    assert refs.find_in_subject("RE: [ESC-2027-0001]") is None


@pytest.mark.parametrize("prefixes", [[], ["E-SC"], ["1ESC"], ["E"]])
def test_a_prefix_the_matcher_could_not_read_is_refused(prefixes: list[str]) -> None:
    with pytest.raises(ValueError):
        References(prefixes)
