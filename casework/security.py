"""Response headers (docs/DESIGN.md §7), built in one place for every response."""

from __future__ import annotations

from flask import Response, abort, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"


def apply_security_headers(response: Response, *, https: bool) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.endpoint == "static" and response.status_code == 200:
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if https or request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What browsers say in Sec-Fetch-Site about where a request comes from; "none" is a typed URL.
OWN_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})


def refuse_cross_site_requests() -> None:
    """``before_request``: a state-changing request sent from another site is refused.

    Referrer-Policy is no-referrer, so Flask-WTF's Referer check for HTTPS
    cannot be used (browsers send no Referer); modern browsers send
    Sec-Fetch-Site instead, and this check stands in for it, alongside the
    CSRF token and SameSite=Strict cookies.
    """
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in OWN_ORIGIN_FETCH_SITES:
        abort(400)
