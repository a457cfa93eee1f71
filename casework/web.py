"""Wiring the Flask application: extensions, hooks, error pages, blueprints, filters."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from casework import policy
from casework.config import Settings
from casework.crypto import Keyring
from casework.db import UNREADABLE_SEEN
from casework.errors import FieldIntegrityError
from casework.extensions import babel, csrf, limiter, login_manager
from casework.i18n import TranslatedVocab, translation_directories
from casework.runtime import close_db_session, db_session
from casework.security import apply_security_headers, refuse_cross_site_requests

log = logging.getLogger("casework")

ERROR_MESSAGES = {
    400: _l("The request could not be understood. Go back, reload the page and try again."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist."),
    405: _l("This action is not allowed here."),
    413: _l("What you sent is too large."),
    429: _l("Too many attempts. Wait a few minutes and try again."),
    500: _l("Something went wrong on our side. Nothing was saved. Try again later."),
    503: _l("casework is busy right now. Nothing was saved. Wait a few seconds and try again."),
}
BUSY_RETRY_AFTER_SECONDS = 5

core = Blueprint("core", __name__)


def configure(app: Flask, settings: Settings, keyring: Keyring) -> None:
    app.config.update(
        # Derived, never the raw key file, so the session key has one purpose only.
        SECRET_KEY=hmac.new(keyring.session_secret, b"flask-session", hashlib.sha256).hexdigest(),
        # Under HTTPS the __Host- prefix makes browsers refuse the cookie unless it is Secure, for
        # this host only and for the whole site: a sibling subdomain or plain HTTP cannot plant one.
        SESSION_COOKIE_NAME="__Host-casework_session" if settings.https else "casework_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.https,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        # Flask checks the Host header against these when it routes (400 otherwise): links and
        # redirects casework builds never carry a host an attacker chose.
        TRUSTED_HOSTS=settings.trusted_host_list or None,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (short) session
        # Its Referer check would refuse every HTTPS form: we send Referrer-Policy: no-referrer.
        # security.refuse_cross_site_requests checks Sec-Fetch-Site instead.
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=translation_directories(),
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
        # A sliding window: no burst of twice the limit across a window boundary.
        RATELIMIT_STRATEGY="moving-window",
        TEMPLATES_AUTO_RELOAD=settings.mode == "development",
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    if settings.proxy_count:
        # Trust exactly this many proxies: client addresses (rate limits) and HTTPS come from them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: settings.timezone)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # our own server-side sessions (auth.sessions)

    app.teardown_appcontext(close_db_session)
    app.before_request(refuse_cross_site_requests)
    app.before_request(_load_user_first)
    app.before_request(policy.enforce_access)
    app.after_request(lambda response: apply_security_headers(response, https=settings.https))
    app.after_request(_record_unreadable_values)
    app.url_value_preprocessor(_refuse_control_characters_in_urls)
    _register_error_handlers(app)
    _register_filters(app, settings)

    from casework.auth import register as register_auth

    app.register_blueprint(core)
    register_auth(app)
    for name in ("approvals", "admin", "clients", "directory", "referrals", "reports"):
        module = __import__(f"casework.{name}", fromlist=["register"])
        if hasattr(module, "register"):
            module.register(app)


def _load_user_first() -> None:
    """Resolve the session before any view runs, so its bookkeeping commits on its own."""
    current_user._get_current_object()


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in ("vi", "en"):
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user.locale
    from casework.runtime import settings

    return settings().default_locale


def _refuse_control_characters_in_urls(_endpoint: str | None, values: dict[str, object] | None) -> None:
    """A path such as /clients/%00 names nothing casework stores: 404 before any lookup (PostgreSQL
    refuses NUL in a query, which would otherwise end in a server error)."""
    for value in (values or {}).values():
        if isinstance(value, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            abort(404)


def _record_unreadable_values(response: Response) -> Response:
    """Audit each value a read-only page showed as unreadable (casework.db.Unreadable), in a
    transaction of its own: the page itself went out with the rest of its content."""
    pending = g.get("_cw_session")
    seen = pending.info.pop(UNREADABLE_SEEN, None) if pending is not None else None
    if not seen:
        return response
    from casework.audit import record
    from casework.runtime import runtime

    actor_id, actor_role = _actor()
    with runtime().database.transaction() as audit_session:
        for table, column, row_id in seen:
            log.error("field integrity failure: %s.%s row %s", table, column, row_id)
            record(audit_session, "integrity.failure", actor_id=actor_id, actor_role=actor_role,
                   object_type=table, object_id=row_id, details={"column": column})
    return response


def _discard_request_work() -> None:
    """Roll back what the request did, keeping its session open: the error page still reads
    the signed-in user (name, role) through it. Closing it would detach that user."""
    pending = g.get("_cw_session")
    if pending is not None:
        pending.rollback()


def _actor() -> tuple[str | None, str | None]:
    """Who was signed in, read before anything is rolled back."""
    user = current_user._get_current_object() if current_user else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None, None
    state = inspect(user)
    return state.identity[0] if state.identity else None, user.__dict__.get("role")


def _error_page(code: int, message: object) -> tuple[str, int]:
    try:
        return render_template("errors/error.html", code=code, message=message), code
    except Exception as exc:  # the page itself failed (e.g. the database is gone): say it plainly
        log.error("error page %s failed to render: %s", code, exc.__class__.__name__)
        return (f"<!doctype html><html lang=\"vi\"><title>{code}</title><h1>{code}</h1>"
                f"<p>{escape(str(message))}</p></html>"), code


def _register_error_handlers(app: Flask) -> None:
    def render_error(code: int) -> tuple[str, int]:
        return _error_page(code, ERROR_MESSAGES[code])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code if exc.code in ERROR_MESSAGES else 500
        if code == 400 and isinstance(exc, CSRFError):
            log.info("csrf refused on %s", request.endpoint)
        return render_error(code)

    @app.errorhandler(FieldIntegrityError)
    def integrity_error(exc: FieldIntegrityError):
        from casework.audit import record
        from casework.runtime import runtime

        log.error("field integrity failure: %s.%s row %s", exc.table, exc.column, exc.row_id)
        actor_id, actor_role = _actor()
        _discard_request_work()
        with runtime().database.transaction() as audit_session:
            record(
                audit_session, "integrity.failure", actor_id=actor_id, actor_role=actor_role,
                object_type=exc.table, object_id=exc.row_id, details={"column": exc.column},
            )
        message = _l("A stored value failed its integrity check and was not shown. "
                     "The event was recorded; tell your administrator.")
        return _error_page(500, message)

    @app.errorhandler(OperationalError)
    def database_busy(exc: OperationalError):
        # SQLite's one writer: a request that waited its turn longer than the busy timeout is told
        # to try again (503), with nothing half-saved, rather than failing as a server error.
        if "database is locked" not in str(exc.orig) and "database is busy" not in str(exc.orig):
            return unexpected(exc)
        log.warning("database busy on %s: answered 503", request.endpoint)
        _discard_request_work()
        body, code = render_error(503)
        return body, code, {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # The class and place only: exception text may quote submitted values.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("unhandled %s at %s on %s", exc.__class__.__name__, where, request.endpoint)
        _discard_request_work()
        return render_error(500)


def _register_filters(app: Flask, settings: Settings) -> None:
    zone = ZoneInfo(settings.timezone)

    @app.template_filter("day")
    def day(value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
        return format_date(value, "dd/MM/yyyy")

    @app.template_filter("moment")
    def moment(value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, "dd/MM/yyyy HH:mm")

    @app.context_processor
    def shell_context() -> dict[str, object]:
        from casework import clock, vocab

        if "_cw_vocab" not in g:
            g._cw_vocab = TranslatedVocab(vocab)
        return {"vocab": g._cw_vocab, "locale": str(get_locale() or "vi"), "now_utc": clock.utcnow(),
                "programme_name": settings.programme_public_name,
                "idle_seconds": settings.session_idle_minutes * 60,
                "nav_endpoints": current_app.view_functions.keys(), "badges": {}}


@core.route("/health")
def health():
    """Liveness for a load balancer: says nothing but whether the database answers."""
    from sqlalchemy import text

    db_session().execute(text("SELECT 1"))
    return jsonify(status="ok")


@core.route("/")
@policy.allow(*policy.ANY_ROLE)
def home():
    targets = {
        "collaborator": "clients.caseload",
        "provider": "referrals.inbox",
        "supervisor": "reports.index",
        "admin": "admin.users",
    }
    target = targets.get(current_user.role)
    if target and target in current_app.view_functions:
        return redirect(url_for(target))
    return render_template("home.html")
