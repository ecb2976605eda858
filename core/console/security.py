"""The console's browser security, pure: the session cookie, CSRF tokens and response headers.

The session cookie carries the same token as `Authorization: Bearer` (HttpOnly: scripts never see
it; SameSite=Strict: no other site's page can send it; Secure when the console is served over TLS).
A form's CSRF token is derived from that token (HMAC), so it needs no server state and an attacker
who cannot read the cookie cannot forge it. The login form, before any session, uses a random
double-submit token in a cookie of its own."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "ccdr_console"
LOGIN_CSRF_COOKIE = "ccdr_login_csrf"
LANG_COOKIE = "ccdr_lang"
CSRF_FIELD = "csrf"

# No inline script or style anywhere: every asset is ccdr's own file (htmx vendored at install).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# A document a panel hands out (a signed drill report) is shown as it was signed, in a sandbox:
# its own inline styles, no script, no form, no request anywhere.
ARTIFACT_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"ccdr-console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str | None, sent: str | None) -> bool:
    return bool(session_token and sent) and hmac.compare_digest(csrf_for(session_token or ""), sent or "")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def login_csrf_ok(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie and sent) and hmac.compare_digest(cookie or "", sent or "")
