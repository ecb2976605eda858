"""The customer's per-ticket status link: the ticket code and a tag, HMAC-SHA256 of the code under
a key only the services hold. Whoever has the link sees that one ticket's public progress; without
it, a code alone (printed on invoices, said on the phone) opens nothing. Pure: no I/O.

The tag is 22 base64url characters (132 bits): too many to guess, short enough for a mail client
not to break the line. Rotating the key voids every link sent before (docs/notifications.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

TAG_CHARS = 22
_DOMAIN = b"ccdr status link v1\x00"  # keeps these tags apart from any other use of the key


def status_tag(key: str, code: str) -> str:
    digest = hmac.new(key.encode(), _DOMAIN + code.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TAG_CHARS]


def tag_matches(key: str, code: str, tag: str) -> bool:
    """Constant-time: the comparison does not tell how much of a forged tag was right."""
    return hmac.compare_digest(status_tag(key, code).encode(), tag.encode())


def status_link(base_url: str, key: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/status/{quote(code, safe='')}?k={status_tag(key, code)}"
