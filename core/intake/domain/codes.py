"""Intake ids and ticket codes, derived without any cross-site coordination. Pure: no I/O.

A retried request must get the same ticket code at either site, so identity is a function of
the request's key: `intake_id = uuid5(namespace, channel/kind/key)` and the ticket code is a
hash of the intake id. Requests without a key get a random uuid4. Codes are 60 bits in
Crockford base32 (`INC-7K3M-9QX2-AB4D`): no I/L/O/U, so they survive being read over the
phone; `normalize_code` forgives the usual confusions. With 60 bits, ten million tickets
collide with probability ~4e-5 (birthday bound), and the database's unique constraint turns
even that into a loud error, never a silent merge.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from core.intake.domain.schemas import Channel, IntakeKind

INTAKE_NAMESPACE = uuid.UUID("6c2f4a51-9a0e-4d5e-8b7a-1f3c5d7e9a0b")
PREFIX = "INC"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_GROUPS = 3
_GROUP_LEN = 4
CODE_PATTERN = re.compile(rf"\b{PREFIX}-([{_ALPHABET}]{{4}})-([{_ALPHABET}]{{4}})-([{_ALPHABET}]{{4}})\b")
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def intake_id_for(channel: Channel, kind: IntakeKind, key: str | None) -> uuid.UUID:
    """Deterministic for a keyed request (retries collapse), random otherwise."""
    if key is None:
        return uuid.uuid4()
    return uuid.uuid5(INTAKE_NAMESPACE, f"{channel}\x1f{kind}\x1f{key}")


def ticket_code_for(intake_id: uuid.UUID) -> str:
    digest = int.from_bytes(hashlib.sha256(intake_id.bytes).digest()[:8], "big") >> 4  # 60 bits
    chars = []
    for _ in range(_GROUPS * _GROUP_LEN):
        chars.append(_ALPHABET[digest & 31])
        digest >>= 5
    text = "".join(reversed(chars))
    groups = [text[i : i + _GROUP_LEN] for i in range(0, len(text), _GROUP_LEN)]
    return "-".join([PREFIX, *groups])


def normalize_code(text: str) -> str | None:
    """A well-formed code from what a person typed or said (case, spaces, I/L/O), or None."""
    compact = re.sub(r"[\s\-_.]", "", text.upper())
    if compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    compact = compact.translate(_CONFUSABLE)
    if len(compact) != _GROUPS * _GROUP_LEN or any(c not in _ALPHABET for c in compact):
        return None
    groups = [compact[i : i + _GROUP_LEN] for i in range(0, len(compact), _GROUP_LEN)]
    return "-".join([PREFIX, *groups])


def codes_in(text: str) -> list[str]:
    """Ticket codes written in free text (an email subject, a chat message), first seen first."""
    seen: list[str] = []
    for match in CODE_PATTERN.finditer(text.upper()):
        code = "-".join([PREFIX, *match.groups()])
        if code not in seen:
            seen.append(code)
    return seen


def email_thread_codes(message_ids: list[str]) -> list[str]:
    """Codes of the tickets the given Message-IDs opened (or that our own mail carried)."""
    found: list[str] = []
    for message_id in message_ids:
        for code in [*codes_in(message_id), email_ticket_code(message_id)]:
            if code not in found:
                found.append(code)
    return found


def email_ticket_code(message_id: str) -> str:
    """The code a new email with this Message-ID opens (same function the intake uses)."""
    return ticket_code_for(intake_id_for(Channel.EMAIL, IntakeKind.NEW, normalize_message_id(message_id)))


def normalize_message_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()
