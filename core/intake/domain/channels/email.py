"""Email intake: one RFC 5322 message becomes one IntakeDraft. Pure: no I/O, no clock.

The SMTP listener hands us the raw bytes. Identity comes from the Message-ID, so an MTA that
retries the same mail (possibly at the other site) collapses onto the same intake. Threading
follows the customer's mail client rather than our own bookkeeping: a ticket code written in
the Subject wins, then the codes the References chain (root first) and In-Reply-To would have
opened, so a reply lands on the ticket its thread started even if our outbound mail was lost.

Message-IDs are kept without their angle brackets (`normalize_message_id`) in the natural key
and in `EmailInfo`, so the ticket service compares like with like.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from html import unescape
from html.parser import HTMLParser
from typing import cast

from core.errors import FieldError, InvalidInput
from core.intake.domain.codes import codes_in, email_thread_codes, normalize_message_id
from core.intake.domain.schemas import Attachment, Channel, Contact, EmailInfo, IntakeDraft, IntakeKind

SUBJECT_MAX = 500
DESCRIPTION_MAX = 20_000
MIME_DEPTH_MAX = 32  # real mail nests a handful of levels (a forward of a forward with attachments)
_MSGID = re.compile(r"<([^<>\s]+)>")
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"}
)
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
# What the stdlib's header parser raises on some malformed headers (e.g. IndexError on "To: <").
_HEADER_ERRORS = (IndexError, ValueError, TypeError, AttributeError, LookupError, MessageError)


class _TextExtractor(HTMLParser):
    """Collects an HTML document's visible text; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # an unclosed <head> must not hide the whole message
            self._skipping = 0
        elif tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags stripped, entities unescaped, whitespace collapsed.

    Line breaks of block elements survive (a one-line ticket description is hard to read);
    runs of spaces and blank lines do not. Shared with the Teams parser.
    """
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = unescape("".join(extractor.parts)).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _nesting(msg: Message) -> int:
    """How deep the MIME tree goes, walked with a stack of our own (Python's recursion limit is
    what a hostile message nested thousands of levels deep would hit otherwise)."""
    deepest, stack = 0, [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MIME_DEPTH_MAX:
            break
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return deepest


def parse_email(raw: bytes) -> IntakeDraft:
    """The draft for one received email; InvalidInput if it is not a message with a sender."""
    if not raw.strip():
        raise InvalidInput("the message is empty", [FieldError("message", "no headers or body")], malformed=True)
    try:
        msg = cast(EmailMessage, BytesParser(policy=default_policy).parsebytes(raw))
        depth = _nesting(msg)
    except RecursionError:
        depth = MIME_DEPTH_MAX + 1
    if depth > MIME_DEPTH_MAX:
        raise InvalidInput(
            f"the message's MIME parts are nested more than {MIME_DEPTH_MAX} levels deep",
            [FieldError("message", "too deeply nested")],
        )
    if not msg.keys():
        raise InvalidInput("not an RFC 5322 message: no header lines found", malformed=True)
    name, sender = _sender(msg)
    subject = " ".join(_unescape_8bit(str(_header(msg, "Subject") or "")).split())
    message_id = _first_id(_header(msg, "Message-ID"))
    in_reply_to = _first_id(_header(msg, "In-Reply-To"))
    references = tuple(_all_ids(_header(msg, "References")))
    reply_to = _reply_codes(subject, references, in_reply_to)
    body_part = _body_part(msg)
    return IntakeDraft(
        channel=Channel.EMAIL,
        kind=IntakeKind.REPLY if reply_to else IntakeKind.NEW,
        natural_key=message_id[:1000] if message_id else None,
        reply_to=reply_to,
        event_time=_date(msg),
        contact=_contact(name, sender),
        subject=subject[:SUBJECT_MAX],
        description=_text_of(body_part)[:DESCRIPTION_MAX],
        attachments=tuple(_attachments(msg, body_part)),
        email=EmailInfo(
            message_id=message_id or "",
            in_reply_to=in_reply_to,
            references=references,
            sender=sender,
            recipients=_recipients(msg),
        ),
    )


def _headers(msg: Message, name: str) -> list[object]:
    """Every `name` header, parsed; one the stdlib cannot parse is kept as its raw text."""
    found: list[object] = []
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            try:
                found.append(msg.policy.header_fetch_parse(key, value))
            except _HEADER_ERRORS:
                found.append(_unescape_8bit(str(value)))
    return found


def _header(msg: Message, name: str) -> object | None:
    values = _headers(msg, name)
    return values[0] if values else None


def _sender(msg: EmailMessage) -> tuple[str, str]:
    """(display name, address) of From; a mail nobody sent cannot be answered, so it is refused."""
    header = _header(msg, "From")
    addresses: tuple[Address, ...] = getattr(header, "addresses", ()) if header is not None else ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return _unescape_8bit(address.display_name), address.addr_spec
    name, addr = parseaddr(_unescape_8bit(str(header or "")))
    if "@" not in addr:
        raise InvalidInput(
            "the message has no From address", [FieldError("from", "missing or unreadable")], malformed=True
        )
    return name, addr


def _unescape_8bit(text: str) -> str:
    """Raw UTF-8 in a header (RFC 6532, common despite RFC 2047) as text, not as the
    surrogate escapes the parser keeps undecodable bytes in."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _contact(name: str, sender: str) -> Contact:
    """The reporter; a sender address pydantic cannot accept is a field error, not a crash."""
    try:
        return Contact(name=name[:200] or None, email=sender)
    except ValueError:
        raise InvalidInput(
            f"the From address {sender!r} is not a valid email address",
            [FieldError("from", "not a valid email address")],
        ) from None


def _recipients(msg: Message) -> tuple[str, ...]:
    """To and Cc addresses in order, once each; they tell which of our mailboxes was written to."""
    found: list[str] = []
    for field in ("To", "Cc"):
        for header in _headers(msg, field):
            addresses = getattr(header, "addresses", None)
            addrs = [a.addr_spec for a in addresses] if addresses is not None else _loose_addresses(header)
            found.extend(a for a in addrs if a and "@" in a)
    return tuple(dict.fromkeys(found))


def _loose_addresses(header: object) -> list[str]:
    return [addr for _, addr in getaddresses([str(header)])]


def _first_id(value: object) -> str | None:
    ids = _all_ids(value)
    return ids[0] if ids else None


def _all_ids(value: object) -> list[str]:
    """Message-IDs in a header, in order; bare tokens are accepted from sloppy mailers."""
    if value is None:
        return []
    text = str(value)
    found = _MSGID.findall(text) or text.split()
    ids: list[str] = []
    for item in found:
        norm = normalize_message_id(item)
        if norm and norm not in ids:
            ids.append(norm)
    return ids


def _reply_codes(subject: str, references: tuple[str, ...], in_reply_to: str | None) -> tuple[str, ...]:
    """Subject codes first (a person typed them), then the thread's root-first codes."""
    thread = list(references)
    if in_reply_to and in_reply_to not in thread:
        thread.append(in_reply_to)
    codes: list[str] = []
    for code in [*codes_in(subject), *(email_thread_codes(thread) if thread else [])]:
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _date(msg: Message) -> datetime | None:
    """The Date header as an aware time; `-0000` (zone unknown) is UTC per RFC 5322 3.3."""
    when = getattr(_header(msg, "Date"), "datetime", None)
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _body_part(msg: EmailMessage) -> MIMEPart | None:
    """text/plain if the sender wrote one, else HTML (converted later)."""
    part = msg.get_body(preferencelist=("plain",))
    return part if part is not None else msg.get_body(preferencelist=("html",))


def _text_of(part: MIMEPart | None) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset: decode leniently rather than drop the mail
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _attachments(msg: EmailMessage, body_part: MIMEPart | None) -> list[Attachment]:
    """Metadata of every leaf part that is not the body: a name, a type, a size and a digest."""
    found: list[Attachment] = []
    for part in _leaves(msg):
        if part is body_part:
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition != "attachment" and not filename:
            continue
        data = _payload_bytes(part)
        found.append(
            Attachment(
                filename=(filename or f"attachment-{len(found) + 1}")[:255],
                content_type=part.get_content_type()[:255],
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return found


def _leaves(part: Message) -> list[Message]:
    """Non-multipart parts, depth first; an attached message (message/rfc822) is one leaf."""
    if part.get_content_maintype() != "multipart":
        return [part]
    payload = part.get_payload()
    children = cast("list[Message]", payload) if isinstance(payload, list) else []  # a multipart's parts
    return [leaf for child in children for leaf in _leaves(child)]


def _payload_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    inner = part.get_payload()
    if isinstance(inner, list) and inner:  # message/rfc822: the attached message as sent
        return bytes(cast(Message, inner[0]).as_bytes())
    return b""
