"""Logs carry identifiers (case reference, Message-ID), never personal data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from mailagent import logs


class Captured:
    """What the log handler wrote to standard error during the test."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys, self._text = capsys, ""

    def getvalue(self) -> str:
        self._text += self._capsys.readouterr().err
        return self._text


@pytest.fixture
def captured(capsys) -> Iterator[Captured]:
    stream = Captured(capsys)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in logs.PROTOCOL_LOGGERS}
    yield stream
    root.handlers[:], root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_json_lines_hold_identifiers_and_nothing_slipped_in(captured) -> None:
    logs.configure_logging("INFO", json_format=True)
    with logs.log_context(message_id="<m1@example.test>", source="imap:agent"):
        logging.getLogger("mailagent.test").info(
            "inbound %s: escalation opened", 7,
            extra={"case_ref": "ESC-2026-0001", "subject": "Child: Jane Doe", "body": "..."},
        )
    line = json.loads(captured.getvalue())
    assert line["message"] == "inbound 7: escalation opened"
    assert line["case_ref"] == "ESC-2026-0001"
    assert line["message_id"] == "<m1@example.test>"  # from the surrounding context
    assert "subject" not in line and "body" not in line
    assert "Jane" not in captured.getvalue()


def test_plain_lines_end_with_the_identifiers(captured) -> None:
    logs.configure_logging("INFO")
    with logs.log_context(message_id="<m2@example.test>"):
        logging.getLogger("mailagent.test").warning("quarantined", extra={"inbound_id": 3})
    assert captured.getvalue().rstrip().endswith("inbound_id=3 message_id=<m2@example.test>")


def test_protocol_logs_stay_quiet_even_at_debug(captured) -> None:
    # imapclient, exchangelib and httpx log whole messages and tokens at DEBUG.
    logs.configure_logging("DEBUG")
    logging.getLogger("imapclient.imapclient").debug("> BODY[] {4096} Dear IRO, the child ...")
    logging.getLogger("mailagent.test").debug("ours")
    assert "Dear IRO" not in captured.getvalue()
    assert "ours" in captured.getvalue()


def test_message_id_of_reads_only_the_headers() -> None:
    raw = b"Subject: x\r\nMessage-ID: <abc@example.test>\r\n\r\nMessage-ID: <not@body>\r\n"
    assert logs.message_id_of(raw) == "<abc@example.test>"
    assert logs.message_id_of(b"Subject: none\r\n\r\n") is None
    with pytest.raises(ValueError, match="not a log identifier"), logs.log_context(child_name="x"):
        pass
