"""No input crashes `inspect`: random bytes and damaged copies of the corpus.

Every result keeps the contract's keys and types and can be written as UTF-8 JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailagent.mail.classify import AUTOMATED_KINDS, KINDS
from mailagent.mail.inspection import inspect_bytes
from mailagent.policy.vocabulary import load_vocabulary

ROOT = Path(__file__).resolve().parents[1]
VOCAB = load_vocabulary(ROOT / "rules")
CORPUS = [p.read_bytes() for p in sorted((ROOT / "tests" / "corpus").glob("*.eml"))]
FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_contract(result: dict[str, Any]) -> None:
    assert list(result) == [
        "kind", "automated", "rule", "reason", "case_ref", "child_ref", "fields", "commands",
        "reply_text", "problems", "notes",
    ]
    assert result["kind"] in KINDS
    assert isinstance(result["automated"], bool)
    assert result["automated"] == (result["kind"] in AUTOMATED_KINDS)
    assert isinstance(result["rule"], str) and result["rule"]
    assert isinstance(result["reason"], str)
    for key in ("case_ref", "child_ref", "reply_text"):
        assert result[key] is None or isinstance(result[key], str)
    assert isinstance(result["fields"], dict)
    for value in result["fields"].values():
        assert isinstance(value, str | dict)
    assert isinstance(result["commands"], list)
    for command in result["commands"]:
        assert set(command) == {"name", "arg", "fields"}
        assert isinstance(command["name"], str)
        assert command["arg"] is None or isinstance(command["arg"], str)
        assert all(isinstance(v, str) for v in command["fields"].values())
    assert all(isinstance(p, str) for p in result["problems"])
    assert all(isinstance(n, str) for n in result["notes"])
    json.dumps(result, ensure_ascii=False).encode("utf-8")  # no lone surrogates anywhere


@FAST
@given(raw=st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    assert_contract(inspect_bytes(raw, VOCAB))


MIME_BITS = st.sampled_from([
    b"\r\n", b"\n\n", b"--", b"=?utf-8?b?", b"?=", b"=?x-unknown?q?=E9?=", b"Content-Type: ",
    b"multipart/mixed; boundary=", b"message/rfc822", b"charset=", b"<div id=\"divRplyFwdMsg\">",
    b"<", b">", b"#resolved", b"#extend ", b"Child: ", b"[ESCALATE]", b"[ma:ESC-2026-0042]",
    b"\xff\xfe", b"\xc3", b"\x00", b"=\r\n", b"base64", b"Auto-Submitted: auto-replied\r\n",
])


@st.composite
def damaged_corpus_email(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "delete", "insert", "flip", "repeat"]))
        if action == "cut":
            del data[at:]
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif action == "insert":
            data[at:at] = draw(st.one_of(MIME_BITS, st.binary(min_size=1, max_size=40)))
        elif action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 400))]
    return bytes(data)


@FAST
@given(raw=damaged_corpus_email())
def test_damaged_corpus_emails(raw: bytes) -> None:
    assert_contract(inspect_bytes(raw, VOCAB))


def test_deeply_nested_multiparts() -> None:
    depth = 3000
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    raw = b"From: a@example.test\r\nSubject: RE: x\r\n" + head + b"\r\nhi"
    result = inspect_bytes(raw, VOCAB)
    assert_contract(result)
    assert result["kind"] == "reply"
    assert "the email is nested too deeply to read its parts; read as plain text" in (
        result["problems"]
    )


def test_a_very_long_line_and_many_headers() -> None:
    raw = b"".join(b"X-H%d: v\r\n" % i for i in range(20000)) + b"\r\n" + b"a" * 2_000_000
    assert_contract(inspect_bytes(raw, VOCAB))


PATHOLOGICAL_TEXTS = [
    " " * 100_000 + "x",  # a run of spaces: regexes that share it out are cubic
    "Respond by: 5" + " " * 50_000 + "x",
    "\n" * 100_000,
    ("On " + "a " * 2_000 + "\n") * 20,  # mail-parser-reply's "On ... wrote:" is quadratic
    ("On " + "the panel met " * 20 + "\n") * 500,
    ("> " * 200 + "text\n") * 500,
    ("child" + " " * 5_000 + "x\n") * 20,
    ("a" * 59 + ":\n") * 5_000,
]


# Each took minutes (catastrophic backtracking) before the regexes were made possessive and
# the reply library shielded from long lines; now they take milliseconds. The timeout is a
# guard against that coming back, not a speed target (bench/ measures speed).
@pytest.mark.timeout(120)
def test_pathological_text_is_read_without_backtracking() -> None:
    for text in PATHOLOGICAL_TEXTS:
        raw = b"Subject: RE: x\r\nContent-Type: text/plain\r\n\r\n" + text.encode()
        assert_contract(inspect_bytes(raw, VOCAB))
