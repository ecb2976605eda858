"""Email parsing: identity, threading, bodies, attachments and refusals, on real-shaped mail."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.intake.domain.channels.email import MIME_DEPTH_MAX, html_to_text, parse_email
from core.intake.domain.codes import email_thread_codes, email_ticket_code, intake_id_for, ticket_code_for
from core.intake.domain.schemas import Channel, IntakeKind

SAMPLES = Path(__file__).resolve().parents[5] / "samples" / "channels"
ORIGINAL_ID = "CAOq8Vx3Lm+2fT9qXn4hQJr7w@mail.abclogistics.example.com"
ICT = timezone(timedelta(hours=7))


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def mail(headers: dict[str, str], body: str = "Xin chào") -> bytes:
    lines = [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join([*lines, "Content-Type: text/plain; charset=utf-8", "", body]) + "\r\n").encode()


BASE = {
    "From": "Khách <khach@abclogistics.example.com>",
    "To": "support@helpdesk.example.com",
    "Subject": "Test",
    "Date": "Tue, 7 May 2024 09:00:00 +0700",
    "Message-ID": "<m1@abclogistics.example.com>",
}


def test_new_email_maps_every_header() -> None:
    draft = parse_email(sample("email-new.eml"))
    assert draft.channel is Channel.EMAIL
    assert draft.kind is IntakeKind.NEW
    assert draft.reply_to == ()
    assert draft.natural_key == ORIGINAL_ID
    assert draft.subject == "Mất kết nối mạng tại chi nhánh Đà Nẵng"  # RFC 2047, split over two lines
    assert draft.event_time == datetime(2024, 5, 6, 14, 52, 18, tzinfo=ICT)
    assert draft.contact.name == "Nguyễn Văn An"
    assert draft.contact.email == "an.nguyen@abclogistics.example.com"
    assert draft.email is not None
    assert draft.email.message_id == ORIGINAL_ID
    assert draft.email.in_reply_to is None
    assert draft.email.references == ()
    assert draft.email.sender == "an.nguyen@abclogistics.example.com"
    assert draft.email.recipients == (
        "support@helpdesk.example.com",
        "binh.tran@abclogistics.example.com",
        "it-danang@abclogistics.example.com",
    )


def test_plain_text_part_is_preferred_over_html() -> None:
    description = parse_email(sample("email-new.eml")).description
    assert description.startswith("Kính gửi bộ phận hỗ trợ,\n\nTừ 14:40 hôm nay chi nhánh Đà Nẵng")
    assert "mất hoàn toàn\nkết nối mạng" in description  # the plain part's own line breaks
    assert "<" not in description
    assert description.endswith("0905 123 456")


def test_attachment_metadata_is_of_the_decoded_payload() -> None:
    raw = sample("email-new.eml").decode()
    encoded = re.search(r'filename="router-log.pdf"\n\n([A-Za-z0-9+/=\n]+)\n\n', raw)
    assert encoded is not None
    pdf = base64.b64decode(encoded.group(1))
    assert pdf.startswith(b"%PDF-1.4")
    (attachment,) = parse_email(raw.encode()).attachments
    assert attachment.filename == "router-log.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size_bytes == len(pdf)
    assert attachment.sha256 == hashlib.sha256(pdf).hexdigest()
    assert attachment.url is None


def test_reply_threads_to_the_ticket_the_original_opened() -> None:
    original = parse_email(sample("email-new.eml"))
    reply = parse_email(sample("email-reply.eml"))
    assert reply.kind is IntakeKind.REPLY
    assert reply.reply_to[0] == email_thread_codes([ORIGINAL_ID])[0] == email_ticket_code(ORIGINAL_ID)
    # ...which is the code the original's own intake was given.
    assert reply.reply_to[0] == ticket_code_for(intake_id_for(Channel.EMAIL, IntakeKind.NEW, original.natural_key))
    assert reply.subject == "Re: Mất kết nối mạng tại chi nhánh Đà Nẵng"
    assert reply.natural_key == "CAOq8Vx5Rk1pQ0wYb7tNcZe2m@mail.abclogistics.example.com"
    assert reply.email is not None
    assert reply.email.in_reply_to == ORIGINAL_ID
    assert reply.email.references == (ORIGINAL_ID,)
    assert reply.email.recipients == ("support@helpdesk.example.com",)
    assert reply.description.startswith("Bổ sung thông tin: chi nhánh đã chuyển sang dùng 4G")  # 8bit UTF-8 body


def test_references_root_first_then_in_reply_to_once() -> None:
    headers = {**BASE, "References": "<root@a.example.com>\r\n <mid@b.example.com>", "In-Reply-To": "<last@c.example>"}
    draft = parse_email(mail(headers))
    assert draft.reply_to == tuple(email_thread_codes(["root@a.example.com", "mid@b.example.com", "last@c.example"]))
    assert draft.email is not None
    assert draft.email.references == ("root@a.example.com", "mid@b.example.com")

    repeated = parse_email(mail({**headers, "In-Reply-To": "<mid@b.example.com>"}))
    assert repeated.reply_to == tuple(email_thread_codes(["root@a.example.com", "mid@b.example.com"]))


def test_a_code_in_the_subject_comes_first() -> None:
    headers = {**BASE, "Subject": "RE: [inc-7k3m-9qx2-ab4d] vẫn chưa sửa", "In-Reply-To": "<x@y.example.com>"}
    draft = parse_email(mail(headers))
    assert draft.kind is IntakeKind.REPLY
    assert draft.reply_to == ("INC-7K3M-9QX2-AB4D", email_ticket_code("x@y.example.com"))


def test_a_code_in_the_subject_alone_makes_a_reply() -> None:
    draft = parse_email(mail({**BASE, "Subject": "Phiếu INC-7K3M-9QX2-AB4D: cập nhật"}))
    assert draft.kind is IntakeKind.REPLY
    assert draft.reply_to == ("INC-7K3M-9QX2-AB4D",)


def test_html_only_mail_becomes_readable_text() -> None:
    draft = parse_email(sample("email-html-only.eml"))
    assert draft.subject == "Camera kho Bình Dương không ghi hình"
    assert draft.description == (
        "Camera kho Bình Dương không ghi hình\n"
        "Đầu ghi NVR & 4 camera khu vực bốc xếp mất tín hiệu từ 08:15.\n"
        "Địa điểm: Kho KCN Sóng Thần, Dĩ An\n"
        "Serial NVR: DS-7616NI-K2/2024-0193\n"
        "Liên hệ: Lê Minh Châu <chau.le@abclogistics.example.com>"
    )
    assert draft.attachments == ()
    assert draft.event_time == datetime(2024, 5, 7, 8, 31, 44, tzinfo=ICT)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a&nbsp;&amp;&nbsp;b</p>", "a & b"),
        ("<div>one<br>two</div><p>  three   four </p>", "one\ntwo\nthree four"),
        ("<style>p{x:y}</style><script>alert(1)</script>shown", "shown"),
        ("<html><head><title>t</title><body>body after unclosed head", "body after unclosed head"),
        ("&lt;not a tag&gt; &#273;&#7847;y", "<not a tag> đầy"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_no_message_id_means_no_natural_key() -> None:
    headers = {k: v for k, v in BASE.items() if k != "Message-ID"}
    draft = parse_email(mail(headers))
    assert draft.natural_key is None
    assert draft.email is not None
    assert draft.email.message_id == ""


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 7 May 2024 09:00:00 -0000", datetime(2024, 5, 7, 9, 0, tzinfo=UTC)),  # zone unknown: UTC
        ("yesterday at noon", None),
        (None, None),
    ],
)
def test_date_header(date: str | None, expected: datetime | None) -> None:
    headers = {k: v for k, v in BASE.items() if k != "Date"}
    if date is not None:
        headers["Date"] = date
    assert parse_email(mail(headers)).event_time == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n",
        b"\x00\x01 just some bytes\nno headers here",
        mail({k: v for k, v in BASE.items() if k != "From"}),
        mail({**BASE, "From": "undisclosed-recipients:;"}),
    ],
    ids=["empty", "blank", "no-headers", "no-from", "from-without-address"],
)
def test_unparsable_or_senderless_mail_is_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_email(raw)
    assert caught.value.status == 400
    assert caught.value.code == "malformed-request"


def test_an_invalid_sender_address_is_a_field_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_email(mail({**BASE, "From": "ops@localhost"}))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["from"]


def test_long_subject_and_body_are_truncated() -> None:
    draft = parse_email(mail({**BASE, "Subject": "x" * 900}, body="y" * 30_000))
    assert len(draft.subject) == 500
    assert len(draft.description) == 20_000


def test_attachments_without_a_name_and_attached_messages() -> None:
    inner = EmailMessage()
    inner["From"] = "a@abclogistics.example.com"
    inner["Subject"] = "forwarded"
    inner.set_content("inner body")
    msg = EmailMessage()
    for key, value in BASE.items():
        msg[key] = value
    msg.set_content("see attached")
    msg.add_attachment(b"\x00\x01\x02", maintype="application", subtype="octet-stream")
    msg.add_attachment(inner)
    draft = parse_email(msg.as_bytes())
    assert draft.description == "see attached"
    first, second = draft.attachments
    assert (first.filename, first.size_bytes, first.sha256) == (
        "attachment-1",
        3,
        hashlib.sha256(b"\0\1\2").hexdigest(),
    )
    assert second.content_type == "message/rfc822"
    assert second.size_bytes > 0


_WORDS = st.text(alphabet="abcdeđươạấầẩẫậắặằẳẵếềểễệỉịọốồổỗộớờởỡợụứừửữựỳỵỷỹ ABCĐ0123456789-:,.!?()", max_size=600)


@given(subject=_WORDS)
def test_any_subject_survives_rfc2047_encoding(subject: str) -> None:
    msg = EmailMessage()
    msg["From"] = "Khách <khach@abclogistics.example.com>"
    msg["Subject"] = subject
    msg.set_content("x")
    assert parse_email(msg.as_bytes()).subject == " ".join(subject.split())[:500]


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    draft = parse_email(mail({**BASE, "Subject": "Sập   mạng tầng 2"}))
    assert draft.contact.name == "Khách"
    assert draft.subject == "Sập mạng tầng 2"


_HEADER = st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "In-Reply-To"])


@given(headers=st.lists(st.tuples(_HEADER, st.binary(max_size=40)), max_size=8), body=st.binary(max_size=100))
def test_any_header_garbage_gives_a_draft_or_invalid_input(headers: list[tuple[str, bytes]], body: bytes) -> None:
    """The SMTP listener answers 550 to InvalidInput; anything else would make the sender retry forever."""
    lines = [b"From: a@abclogistics.example.com", *(name.encode() + b": " + value for name, value in headers)]
    with contextlib.suppress(InvalidInput):
        parse_email(b"\r\n".join(lines) + b"\r\n\r\n" + body)


def test_a_header_the_stdlib_cannot_parse_is_kept_as_text() -> None:
    draft = parse_email(mail({**BASE, "Cc": "<"}))  # the stdlib raises IndexError on this one
    assert draft.email is not None and draft.email.recipients == ("support@helpdesk.example.com",)


def _nested(depth: int) -> bytes:
    head = b"From: a@b.vn\r\nTo: desk@x.vn\r\nSubject: nest\r\nMessage-ID: <n@x>\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhello\r\n" + closing


def test_a_message_nested_deeper_than_mail_ever_is_refused_not_crashed_on() -> None:
    assert parse_email(_nested(5)).description == "hello"
    for depth in (MIME_DEPTH_MAX + 5, 3_000):  # 3,000 levels was a 500 (RecursionError) once
        with pytest.raises(InvalidInput, match="nested more than"):
            parse_email(_nested(depth))
