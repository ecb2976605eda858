"""How a notice becomes a message, and which refusals from the relay are final."""

from __future__ import annotations

import smtplib

from core.notify.domain.rules import Notice
from core.notify.mail import _permanent, compose, message_id


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


def test_a_5xx_refusal_is_final_and_a_4xx_one_is_tried_again() -> None:
    assert _permanent(smtplib.SMTPRecipientsRefused({"x@y": (550, b"5.1.1 no such user")})) == "550 5.1.1 no such user"
    assert _permanent(smtplib.SMTPRecipientsRefused({"x@y": (451, b"4.3.0 try later")})) is None
    assert _permanent(smtplib.SMTPDataError(554, b"5.7.1 rejected")) == "554 5.7.1 rejected"
    assert _permanent(smtplib.SMTPDataError(452, b"4.3.1 full")) is None
    assert _permanent(smtplib.SMTPSenderRefused(553, b"5.7.1 sender", "d@x.vn")) == "553 5.7.1 sender"
    assert _permanent(smtplib.SMTPServerDisconnected("gone")) is None
