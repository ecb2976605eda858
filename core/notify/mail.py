"""The way out for notices: the organisation's mail relay over SMTP (stdlib smtplib), STARTTLS
required, the relay's certificate checked against our CA and ours shown to it. One connection is
kept open between notices (a burst of acknowledgements costs one TLS handshake, not one each) and
opened again when the relay has dropped it."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from core.notify.domain.rules import Notice
from core.settings import OutboundMail

MESSAGE_ID_DOMAIN = "notify.ccdr"


class Refused(Exception):
    """The notice will never be taken (the relay or platform refused it for good, or it cannot be
    a message): sending it again would not help."""


def message_id(event_id: int, recipient: str) -> str:
    """The same for every attempt at one (event, recipient): a notice sent twice (the relay took it,
    then the notifier died before recording it) is one message to the recipient's mail client."""
    who = hashlib.sha256(recipient.casefold().encode()).hexdigest()[:16]
    return f"<{event_id}.{who}@{MESSAGE_ID_DOMAIN}>"


def compose(notice: Notice, sender: str, to: str, event_id: int) -> EmailMessage:
    """The message; raises Refused when the notice cannot be one (an address or a subject no
    header can carry): sending it again would not change that."""
    msg = EmailMessage()
    try:
        # A subject made from what a customer typed may hold line breaks: one line, or no header.
        msg["From"], msg["To"], msg["Subject"] = sender, to, " ".join(notice.subject.split())
    except (ValueError, TypeError) as exc:
        raise Refused(f"not a mail header: {exc}") from None
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(event_id, to)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies back into intake
    msg.set_content(notice.body)
    return msg


# RFC 3463 classes that say this message or this address will never be taken: a bad address
# (5.1.x), a mailbox that cannot take it (5.2.x), its content (5.6.x). A 5.7.x (not allowed:
# relaying denied, our certificate unknown) or a refused sender is our configuration, and the
# same for every notice: those are tried again, never skipped, until someone fixes them.
_FINAL = ("5.1.", "5.2.", "5.6.")


def _final(code: int, text: bytes | str) -> bool:
    words = (text.decode(errors="replace") if isinstance(text, bytes) else str(text)).split()
    return code >= 500 and bool(words) and words[0].startswith(_FINAL)


def _permanent(exc: smtplib.SMTPException) -> str | None:
    """The relay's answer when `exc` refuses this message for good, else None (try again later)."""
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the relay cannot take it: {exc}"  # e.g. an address that needs SMTPUTF8
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        if answers and all(_final(code, text) for code, text in answers):
            return "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in answers)
        return None
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return None
    code = getattr(exc, "smtp_code", None)
    error = getattr(exc, "smtp_error", b"")
    if isinstance(code, int) and _final(code, error):
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"{code} {text}"
    return None


class SmtpRelay:
    """Blocking (run it in a thread); one notifier uses one at a time."""

    def __init__(self, settings: OutboundMail) -> None:
        self._settings = settings
        context = ssl.create_default_context(cafile=settings.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if settings.cert_file and settings.key_file:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        self._tls = context
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> None:
        """Hand one message to the relay. Raises Refused when the relay refused it for good, and
        smtplib.SMTPException or OSError when it did not take it this time."""
        try:
            self._send(msg)
        except smtplib.SMTPException as exc:
            answer = _permanent(exc)
            if answer is None:
                self.close()
                raise
            self._reset()
            raise Refused(answer) from exc
        except OSError:
            self.close()
            raise

    def _send(self, msg: EmailMessage) -> None:
        if self._smtp is not None:
            try:
                self._smtp.send_message(msg)
                return
            except (smtplib.SMTPServerDisconnected, OSError):
                self.close()  # the relay closed an idle connection: open a new one, once
        smtp = self._open()
        smtp.send_message(msg)

    def _reset(self) -> None:
        """After a refusal the conversation goes on with the next message (RSET)."""
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def _open(self) -> smtplib.SMTP:
        s = self._settings
        smtp = smtplib.SMTP(s.relay_host, s.relay_port, timeout=s.timeout_s)
        try:
            smtp.ehlo()
            smtp.starttls(context=self._tls)
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
