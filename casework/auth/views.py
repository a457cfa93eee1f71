from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from casework import clock
from casework.auth import held, services, totp
from casework.auth.forms import (
    ActionForm,
    ChangePasswordForm,
    ConfirmCodeForm,
    LanguageForm,
    LoginForm,
    ReauthenticateForm,
    SecondFactorForm,
)
from casework.auth.models import User
from casework.extensions import limiter
from casework.policy import ANY_ROLE, allow, setup_step
from casework.runtime import db_session, runtime, settings

bp = Blueprint("auth", __name__)

PENDING_KEY = "pending_login"
PENDING_TTL = timedelta(minutes=5)


def _login_limit() -> str:
    return settings().login_rate_limit


def _fail_generic() -> None:
    flash(_("Sign-in failed. Check your username, password and code and try again."), "error")


def _start_fresh_session(user: User) -> None:
    """Commit the request's work with a new server-side session; nothing old carries over."""
    db = db_session()
    locale = session.get("locale")
    session.clear()
    # Flask-WTF keeps this request's CSRF token in g: drop it, or the page rendered now (the recovery
    # codes, after enrolment) would carry a token of the cleared session and its forms would fail.
    g.pop("csrf_token", None)
    token = services.start_session(db, user)
    db.commit()
    session["sid"] = token
    if locale:
        session["locale"] = locale
    login_user(user)


def _complete_login(user: User) -> Response:
    _start_fresh_session(user)
    step = setup_step(user)
    if step:
        return redirect(url_for(step))
    if held.held_for(db_session(), user.id):
        return redirect(url_for("auth.held_forms"))
    return redirect(url_for("core.home"))


# --- the end of a session, without losing what was typed ------------------------------------------


def ended_session() -> Response | None:
    """For a request whose session ran out of idle time: say so, and keep a form sent just then."""
    user_id = g.get("_cw_idle_user")
    if user_id is None:
        return None
    if request.method == "POST" and request.form:
        fields = [(name, value) for name, values in request.form.lists() for value in values]
        db = db_session()
        held.hold(db, user_id, request.path, fields)
        db.commit()
        flash(_("Your session had ended after %(minutes)d minutes without activity. What you typed is kept "
                "for %(hold)d minutes: sign in again to send it.", minutes=settings().session_idle_minutes,
                hold=int(held.HOLD_FOR.total_seconds() // 60)), "warning")
    else:
        flash(_("Your session had ended after %(minutes)d minutes without activity. Sign in again.",
                minutes=settings().session_idle_minutes), "warning")
    return redirect(url_for("auth.login"), code=303)


HELD_PAGES = {
    "clients.note_add": _l("Case note"),
    "clients.follow_up_add": _l("Follow-up"),
    "clients.assess": _l("Needs assessment"),
    "clients.register": _l("Registering a client"),
    "clients.correct": _l("Correcting a client record"),
    "referrals.new": _l("New referral"),
    "referrals.feedback": _l("Feedback to the referrer"),
    "referrals.transition": _l("Referral status"),
}


@bp.route("/account/keepalive")
@allow(*ANY_ROLE)
def keepalive() -> tuple[str, int]:
    """Nothing but the session's last-seen stamp, moved on when the page's "stay signed in" is pressed."""
    return "", 204


@bp.route("/account/held")
@allow(*ANY_ROLE)
def held_forms() -> str:
    """What was typed when the session ended, to send again or to discard."""
    adapter = current_app.url_map.bind("localhost")
    rows = []
    for item in held.held_for(db_session(), current_user.id):
        try:
            endpoint, _args = adapter.match(item.path, method="POST")
        except HTTPException:
            continue  # a page that no longer takes forms: nothing to send it to
        rows.append((item, HELD_PAGES.get(endpoint, _l("A form"))))
    return render_template("auth/held.html", rows=rows, action_form=ActionForm())


@bp.route("/account/held/<held_id>/discard", methods=["POST"])
@allow(*ANY_ROLE)
def discard_held_form(held_id: str) -> Response:
    if ActionForm().validate_on_submit():
        db = db_session()
        held.forget(db, current_user.id, held_id)
        db.commit()
    return redirect(url_for("auth.held_forms"))


def forget_resent_form(response: Response) -> Response:
    """A held form sent again and accepted (a redirect: saved) is not offered any more."""
    if request.method != "POST" or response.status_code not in (302, 303):
        return response  # (and a refused body, 413 say, is never read here)
    held_id = request.form.get(HELD_FIELD)
    if held_id and current_user.is_authenticated:
        with runtime().database.transaction() as db:
            held.forget(db, current_user.id, held_id)
    return response


HELD_FIELD = "_held_form"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            user = services.check_password(db, form.username.data, form.password.data)
        except services.LoginFailed:
            db.commit()  # failures and lockouts are kept
            _fail_generic()
            return render_template("auth/login.html", form=form), 200
        if user.has_second_factor:
            db.commit()
            session[PENDING_KEY] = {"user": user.id, "at": clock.utcnow().isoformat()}
            return redirect(url_for("auth.login_second_factor"))
        return _complete_login(user)
    return render_template("auth/login.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not pending:
        return None
    from datetime import datetime

    started = datetime.fromisoformat(pending["at"])
    if clock.utcnow() - started > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        return None
    user = db_session().get(User, pending["user"])
    # A sign-in completed since this password step ends it: a copy of the cookie is worth nothing.
    if user is None or (user.last_login_at is not None and user.last_login_at > started):
        session.pop(PENDING_KEY, None)
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login_second_factor() -> Response | str:
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    with_recovery = request.args.get("recovery") == "1" or request.form.get("recovery") == "1"
    if with_recovery:  # recovery codes have letters: a text keyboard, and the label says which code
        form.code.label.text = _("Recovery code")
        form.code.render_kw = {**form.code.render_kw, "inputmode": "text", "autocomplete": "off"}
    if form.validate_on_submit():
        db = db_session()
        try:
            services.check_second_factor(db, user, form.code.data)
        except services.LoginFailed:
            db.commit()
            _fail_generic()
            return render_template("auth/second_factor.html", form=form, with_recovery=with_recovery)
        return _complete_login(user)
    return render_template("auth/second_factor.html", form=form, with_recovery=with_recovery)


@bp.route("/logout", methods=["POST"])
@allow(*ANY_ROLE)
def logout() -> Response:
    db = db_session()
    services.end_session(db, session.get("sid"))
    services.audit_user(db, "auth.logout", current_user._get_current_object())
    db.commit()
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/sessions/revoke", methods=["POST"])
@allow(*ANY_ROLE)
def logout_everywhere() -> Response:
    db = db_session()
    user = current_user._get_current_object()
    services.revoke_all_sessions(db, user, "user_request")
    db.commit()
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET"])
@allow(*ANY_ROLE)
def account() -> str:
    return render_template("auth/account.html", action_form=ActionForm(), language_form=LanguageForm())


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*ANY_ROLE)
@limiter.limit(_login_limit, methods=["POST"])  # the current password is guessable here too
def change_password() -> Response | str:
    user: User = current_user._get_current_object()
    form = ChangePasswordForm()
    form._username = user.username
    if user.must_change_password:  # what the administrator handed over is a one-time password
        form.current_password.label.text = _("Temporary password (the one you were given)")
    if form.validate_on_submit():
        if not _password_confirmed(user, form.current_password.data):
            form.current_password.errors.append(_("The current password is not right."))
            return render_template("auth/change_password.html", form=form)
        db = db_session()
        services.set_password(db, user, form.new_password.data)
        response = _complete_login(user)  # revocation ended this session too
        flash(_("Your password was changed. Other sessions were signed out."), "info")
        return response
    return render_template("auth/change_password.html", form=form)


@bp.route("/account/second-factor", methods=["GET", "POST"])
@allow(*ANY_ROLE)
@limiter.limit(_login_limit, methods=["POST"])
def enrol_second_factor() -> Response | str:
    user: User = current_user._get_current_object()
    db = db_session()
    form = ConfirmCodeForm()
    if form.validate_on_submit():
        codes = _confirm_enrolment(user, form)
        if codes is not None:
            _start_fresh_session(user)  # revocation ended this session too
            # Shown once, in this response only: never in a cookie, URL or log.
            return render_template("auth/recovery_codes.html", codes=codes)
    if not user.totp_pending:
        # One pending key until it is confirmed or replaced on purpose: a phone that reloads this page
        # while the person switches to the authenticator app must not get a key the app never saw.
        services.begin_enrolment(user)
        db.commit()
    secret = user.totp_pending
    uri = totp.provisioning_uri(secret, user.username)
    # Our own SVG, made from our own URI: safe to place in the page as markup.
    qr_svg = Markup(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", omitsize=True,  # noqa: S704  # segno's own SVG of a URI we built  # nosec B704
                                                          title=_("QR code for the authenticator app")))
    return render_template(
        "auth/enrol.html", form=form, qr_svg=qr_svg, action_form=ActionForm(),
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
    )


@bp.route("/account/second-factor/new-key", methods=["POST"])
@allow(*ANY_ROLE)
def new_enrolment_key() -> Response:
    """Replace the pending key on purpose (the old QR code was seen by someone, or cannot be scanned)."""
    if ActionForm().validate_on_submit():
        user: User = current_user._get_current_object()
        services.begin_enrolment(user)
        services.audit_user(db_session(), "auth.second_factor_key_replaced", user)
        db_session().commit()
        flash(_("A new key was made. Scan the new QR code; the old one no longer works."), "info")
    return redirect(url_for("auth.enrol_second_factor"))


def _confirm_enrolment(user: User, form: ConfirmCodeForm) -> list[str] | None:
    """Recovery codes when the new secret is confirmed; otherwise the form carries the error."""
    db = db_session()
    if user.has_second_factor and not _password_confirmed(user, form.current_password.data or ""):
        form.current_password.errors.append(_("The current password is not right."))
        return None
    codes = services.confirm_enrolment(db, user, form.code.data)
    if codes is None:
        db.commit()  # the failed attempt is audited
        form.code.errors.append(_("That code does not match. Check the time on your phone and try again."))
    return codes


def _password_confirmed(user: User, password: str) -> bool:
    """Re-authentication; a failure is counted (and kept) towards the lockout."""
    db = db_session()
    if services.reauthenticate(db, user, password):
        return True
    db.commit()
    return False


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
@allow(*ANY_ROLE)
@limiter.limit(_login_limit, methods=["POST"])
def new_recovery_codes() -> Response | str:
    user: User = current_user._get_current_object()
    if not user.has_second_factor:
        return redirect(url_for("auth.enrol_second_factor"))
    form = ReauthenticateForm()
    if not form.validate_on_submit():
        return render_template("auth/new_recovery_codes.html", form=form)
    if not _password_confirmed(user, form.current_password.data):
        form.current_password.errors.append(_("The current password is not right."))
        return render_template("auth/new_recovery_codes.html", form=form)
    db = db_session()
    codes = services.new_recovery_codes(db, user)
    services.audit_user(db, "auth.recovery_codes_replaced", user)
    db.commit()
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            db = db_session()
            user = db.get(User, current_user.id)
            if user is not None:
                user.locale = form.locale.data
                db.commit()
    return redirect(local_page(form.next.data or ""))


def local_page(target: str) -> str:
    """``target`` if it is the path of one of our own pages, else the start page.

    Browsers drop tabs and newlines and read backslashes as slashes, so anything
    but a plain path that matches a route here could lead off-site.
    """
    home = url_for("core.home")
    if not target or "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return home
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return home
    return parts.path
