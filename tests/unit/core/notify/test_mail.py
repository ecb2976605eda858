"""How a notice becomes a message, and which refusals from the relay are final."""

from __future__ import annotations

import smtplib

import pytest

from core.notify.domain.rules import Notice
from core.notify.mail import Refused, _permanent, compose, message_id


def test_one_event_to_one_recipient_has_one_message_id_whatever_the_attempt_or_case() -> None:
    assert message_id(42, "An@Example.vn") == message_id(42, "an@example.vn")
    assert message_id(42, "an@example.vn") != message_id(43, "an@example.vn")
    assert message_id(42, "an@example.vn") != message_id(42, "binh@example.vn")


def test_a_message_carries_the_notice_and_says_it_is_automatic() -> None:
    msg = compose(
        Notice("an@example.vn", "[INC-1] Đã tiếp nhận", "Mã sự cố: INC-1"), "Desk <d@x.vn>", "an@example.vn", 5
    )
    assert (msg["From"], msg["To"], msg["Subject"]) == ("Desk <d@x.vn>", "an@example.vn", "[INC-1] Đã tiếp nhận")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == message_id(5, "an@example.vn")
    assert "Mã sự cố: INC-1" in msg.get_content()


def test_a_bad_address_or_content_is_final_and_a_refusal_about_us_is_tried_again() -> None:
    assert _permanent(smtplib.SMTPRecipientsRefused({"x@y": (550, b"5.1.1 no such user")})) == "550 5.1.1 no such user"
    assert _permanent(smtplib.SMTPRecipientsRefused({"x@y": (451, b"4.3.0 try later")})) is None
    assert _permanent(smtplib.SMTPDataError(554, b"5.6.0 malformed")) == "554 5.6.0 malformed"
    assert _permanent(smtplib.SMTPDataError(452, b"4.3.1 full")) is None
    assert _permanent(smtplib.SMTPServerDisconnected("gone")) is None
    assert _permanent(smtplib.SMTPNotSupportedError("SMTPUTF8 not supported")) is not None
    # Our configuration (relaying denied to an unknown certificate, a refused sender): the same for
    # every notice, so never skipped; tried again until fixed.
    denied = smtplib.SMTPRecipientsRefused({"x@y": (554, b"5.7.1 <x@y>: Relay access denied")})
    assert _permanent(denied) is None
    assert _permanent(smtplib.SMTPSenderRefused(553, b"5.7.1 sender", "d@x.vn")) is None


def test_a_subject_with_line_breaks_is_one_line_and_an_address_no_header_holds_is_refused() -> None:
    msg = compose(Notice("an@example.vn", "[INC-1] Printer\r\nBcc: all@x.vn", "x"), "Desk <d@x.vn>", "an@example.vn", 1)
    assert msg["Subject"] == "[INC-1] Printer Bcc: all@x.vn" and msg["Bcc"] is None
    with pytest.raises(Refused):
        compose(Notice("x", "s", "b"), "Desk <d@x.vn>", "an@example.vn\nBcc: all@x.vn", 1)
