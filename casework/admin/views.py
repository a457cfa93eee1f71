"""Admin screens. Each request: load (404) → act through services → one commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from casework import clock, vocab
from casework.admin import services
from casework.admin.forms import (
    NewUserForm,
    UserAccessForm,
    UserDetailsForm,
    fill_choices,
)
from casework.audit import AuditEvent
from casework.audit import actions as audit_actions
from casework.auth.forms import ActionForm
from casework.auth.models import User
from casework.directory.models import Organisation
from casework.paging import page_arg, page_of
from casework.policy import allow
from casework.runtime import db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50

ACCOUNT_ERRORS = {
    "unknown_role": _l("Choose a role from the list."),
    "unknown_locale": _l("Choose a language from the list."),
    "bad_username": _l("Use letters, digits, dot, dash or underscore only."),
    "username_taken": _l("This username is already taken."),
    "provider_needs_organisation": _l("A service provider account needs its organisation."),
    "not_yourself": _l("You cannot remove your own access. Ask another administrator."),
    "last_admin": _l("This is the last active administrator. Make another one first."),
    "unknown_kind": _l("Choose a kind from the list."),
    "name_required": _l("Enter a name."),
}


def _me() -> User:
    return current_user._get_current_object()


def _organisation_choices() -> list[tuple[str, str]]:
    rows = db_session().execute(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    return [(row.id, row.name) for row in rows]


def _user_or_404(user_id: str) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


# --- users -------------------------------------------------------------------------


@bp.route("/users")
@allow("admin")
def users() -> str:
    from casework.auth.services import UNDER_ATTACK_LOCKOUTS

    db = db_session()
    search = (request.args.get("q") or "").strip()[:64]
    query = select(User)
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(User.username).like(pattern, escape="\\")
                            | func.lower(User.display_name).like(pattern, escape="\\"))
    page = page_arg()
    rows, has_next = page_of(db, query.order_by(User.active.desc(), User.username, User.id),
                             page=page, per_page=USERS_PAGE)
    under_attack = db.scalars(select(User).where(User.lockouts >= UNDER_ATTACK_LOCKOUTS, User.active.is_(True))
                              .order_by(User.lockouts.desc(), User.username)).all()  # few: all of them
    return render_template("admin/users.html", users=rows, under_attack=under_attack, page=page,
                           has_next=has_next, search=search)


@bp.route("/users/new", methods=["GET", "POST"])
@allow("admin")
def user_new() -> str:
    form = NewUserForm()
    fill_choices(form, _organisation_choices())
    if form.validate_on_submit():
        db = db_session()
        password = services.one_time_password()
        try:
            user = services.create_account(
                db, _me(), username=form.username.data, display_name=form.display_name.data,
                role=form.role.data, password=password, organisation_id=form.organisation_id.data or None,
                work_phone=form.work_phone.data, locale=form.locale.data,
            )
        except services.AccountError as exc:
            _attach_error(form, exc.code)
            return render_template("admin/user_new.html", form=form)
        db.commit()
        # Shown once, in this response only: never flashed (the cookie), logged or stored.
        return render_template("admin/one_time_password.html", user=user, password=password, created=True)
    return render_template("admin/user_new.html", form=form)


def _attach_error(form: object, code: str) -> None:
    field_for = {"username_taken": "username", "bad_username": "username",
                 "provider_needs_organisation": "organisation_id", "unknown_role": "role",
                 "last_admin": "role", "not_yourself": "role", "unknown_kind": "kind",
                 "name_required": "name", "unknown_locale": "locale"}
    field = getattr(form, field_for.get(code, ""), None)
    if field is not None:
        field.errors = [*field.errors, str(ACCOUNT_ERRORS[code])]
    else:
        flash(str(ACCOUNT_ERRORS[code]), "error")


def _user_page(user: User, details: UserDetailsForm | None = None,
               access: UserAccessForm | None = None, status: int = 200) -> tuple[str, int]:
    details = details or UserDetailsForm(obj=user, formdata=None)
    access = access or UserAccessForm(obj=user, formdata=None)
    fill_choices(access, _organisation_choices())
    if access.organisation_id.data is None:
        access.organisation_id.data = ""
    return render_template("admin/user.html", user=user, details=details, access=access,
                           action_form=ActionForm()), status


@bp.route("/users/<user_id>")
@allow("admin")
def user(user_id: str) -> tuple[str, int]:
    return _user_page(_user_or_404(user_id))


@bp.route("/users/<user_id>/details", methods=["POST"])
@allow("admin")
def user_details(user_id: str) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = UserDetailsForm()
    if not form.validate_on_submit():
        return _user_page(user, details=form)
    db = db_session()
    try:
        services.update_details(db, _me(), user, display_name=form.display_name.data,
                                work_phone=form.work_phone.data, locale=form.locale.data)
    except services.AccountError as exc:
        _attach_error(form, exc.code)
        return _user_page(user, details=form)
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<user_id>/access", methods=["POST"])
@allow("admin")
def user_access(user_id: str) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = UserAccessForm()
    fill_choices(form, _organisation_choices())
    if not form.validate_on_submit():
        return _user_page(user, access=form)
    db = db_session()
    try:
        changed = services.change_access(db, _me(), user, role=form.role.data,
                                         organisation_id=form.organisation_id.data or None)
    except services.AccountError as exc:
        db.rollback()
        _attach_error(form, exc.code)
        return _user_page(user, access=form)
    db.commit()
    if changed:
        flash(_("Access changed. The person was signed out everywhere."), "success")
    return redirect(url_for("admin.user", user_id=user.id))


def _account_action(user_id: str, act: str) -> Response | str | tuple[str, int]:
    user = _user_or_404(user_id)
    db = db_session()
    password = None
    try:
        if act == "deactivate":
            services.deactivate(db, _me(), user)
            message = _("The account is deactivated and signed out everywhere.")
        elif act == "reactivate":
            services.reactivate(db, _me(), user)
            message = _("The account is active again.")
        elif act == "second_factor":
            services.reset_second_factor(db, _me(), user)
            message = _("The second factor was removed. The person sets up a new one at the next sign-in.")
        elif act == "sessions":
            services.revoke_sessions(db, _me(), user)
            message = _("The person was signed out everywhere.")
        else:
            password = services.reset_password(db, _me(), user)
            message = ""
    except services.AccountError as exc:
        db.rollback()
        flash(str(ACCOUNT_ERRORS[exc.code]), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    db.commit()
    if act in ("second_factor", "password") and user.records_held_since is not None:
        flash(_("The collaborator's client records are on hold until a supervisor or another administrator "
                "confirms this reset under Approvals."), "info")
    if password is not None:
        return render_template("admin/one_time_password.html", user=user, password=password, created=False)
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user.id))


CONFIRMS = {
    "deactivate": ("admin.user_deactivate", _l("Deactivate this account?"),
                   _l("The person is signed out everywhere and cannot sign in until an administrator reactivates the "
                      "account."), _l("Yes, deactivate")),
    "second_factor": ("admin.user_reset_second_factor", _l("Reset this person's second factor?"),
                      _l("Their authenticator app and recovery codes stop working; they must set up a new one at "
                         "the next sign-in. Do it only after checking who is asking, in person or by phone."),
                      _l("Yes, reset")),
}


@bp.route("/users/<user_id>/confirm/<act>")
@allow("admin")
def user_confirm(user_id: str, act: str) -> str:
    """Asked before an account change that a slip of the thumb must not make."""
    if act not in CONFIRMS:
        abort(404)
    user = _user_or_404(user_id)
    endpoint, title, line, button = CONFIRMS[act]
    return render_template("confirm.html", title=title, lines=[user.display_name, line], button=button,
                           action=url_for(endpoint, user_id=user.id), back=url_for("admin.user", user_id=user.id),
                           action_form=ActionForm())


@bp.route("/users/<user_id>/deactivate", methods=["POST"])
@allow("admin")
def user_deactivate(user_id: str) -> Response | str | tuple[str, int]:
    return _account_action(user_id, "deactivate")


@bp.route("/users/<user_id>/reactivate", methods=["POST"])
@allow("admin")
def user_reactivate(user_id: str) -> Response | str | tuple[str, int]:
    return _account_action(user_id, "reactivate")


@bp.route("/users/<user_id>/password", methods=["POST"])
@allow("admin")
def user_reset_password(user_id: str) -> Response | str | tuple[str, int]:
    return _account_action(user_id, "password")


@bp.route("/users/<user_id>/second-factor", methods=["POST"])
@allow("admin")
def user_reset_second_factor(user_id: str) -> Response | str | tuple[str, int]:
    return _account_action(user_id, "second_factor")


@bp.route("/users/<user_id>/sessions", methods=["POST"])
@allow("admin")
def user_revoke_sessions(user_id: str) -> Response | str | tuple[str, int]:
    return _account_action(user_id, "sessions")


# --- organisations -----------------------------------------------------------------


@bp.route("/organisations")
@allow("admin")
def organisations() -> str:
    db = db_session()
    staff = (select(User.organisation_id, func.count().label("n"))
             .where(User.organisation_id.is_not(None)).group_by(User.organisation_id).subquery())
    rows = db.execute(
        select(Organisation, func.coalesce(staff.c.n, 0))
        .outerjoin(staff, staff.c.organisation_id == Organisation.id)
        .order_by(Organisation.name)
    ).all()
    return render_template("admin/organisations.html", rows=rows)


# --- audit log ---------------------------------------------------------------------


USERS_PAGE = 30


@bp.route("/audit")
@allow("admin")
def audit() -> str:
    """Newest first, a page at a time, with filters by action, person, record and date. Repeated
    events (the same person doing the same thing to the same record in a row) are folded into one
    line with a count. Details are not shown: they hold only codes and ids anyway."""
    db = db_session()
    filters = AuditFilters.from_args(request.args)
    page = page_arg()
    actor = aliased(User)
    query = (select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.action, AuditEvent.actor_role,
                    AuditEvent.object_type, AuditEvent.object_id, AuditEvent.actor_id, actor.display_name,
                    actor.username)
             .outerjoin(actor, actor.id == AuditEvent.actor_id).where(*filters.conditions())
             .order_by(AuditEvent.id.desc()))
    rows, has_next = page_of(db, query, page=page, per_page=AUDIT_PAGE_SIZE, scalars=False)
    events: list[dict[str, object]] = []
    for r in rows:
        r = dict(zip(("id", "occurred_at", "action", "actor_role", "object_type", "object_id", "actor_id",
                      "name", "username"), r, strict=True))
        last = events[-1] if events else None
        if last and (last["action"], last["actor_id"], last["object_id"]) == (r["action"], r["actor_id"],
                                                                               r["object_id"]):
            last["count"] += 1
            last["first_at"] = _parse_time(r["occurred_at"])
            continue
        events.append({"id": r["id"], "at": _parse_time(r["occurred_at"]), "first_at": None, "count": 1,
                       "action": r["action"], "label": audit_actions.label(r["action"]), "actor_id": r["actor_id"],
                       "actor": r["name"], "username": r["username"], "actor_role": r["actor_role"],
                       "object_type": r["object_type"], "object_id": r["object_id"]})
    people = db.execute(select(User.id, User.display_name, User.username).order_by(User.display_name)).all()
    actions = sorted(audit_actions.LABELS.items(), key=lambda item: str(item[1]))
    return render_template("admin/audit.html", events=events, page=page, has_next=has_next, filters=filters,
                           people=people, actions=actions, object_types=OBJECT_TYPES,
                           roles={**vocab.ROLES, **OTHER_ACTORS})


OTHER_ACTORS = {"cli": _l("from the server's command line"), "system": _l("automatically")}
OBJECT_TYPES = {"client": _l("Client record"), "referral": _l("Referral"), "user": _l("Account"),
                "organisation": _l("Organisation"), "service": _l("Service"), "location": _l("Location"),
                "report": _l("Report"), "access_change": _l("Access change")}


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    person: str = ""
    record: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, args: Any) -> AuditFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None

        action = args.get("action", "")
        return cls(action=action if action in audit_actions.LABELS else "", person=args.get("person", "")[:36],
                   record=args.get("record", "").strip()[:64], since=day("since"), until=day("until"))

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.action:
            found.append(AuditEvent.action == self.action)
        if self.person:
            found.append(AuditEvent.actor_id == self.person)
        if self.record:
            found.append(AuditEvent.object_id == self.record)
        if self.since:
            found.append(AuditEvent.occurred_at >= _utc_stamp(self.since))
        if self.until:
            found.append(AuditEvent.occurred_at < _utc_stamp(self.until + timedelta(days=1)))
        return found

    def query_args(self) -> dict[str, str]:
        return {k: v for k, v in (("action", self.action), ("person", self.person), ("record", self.record),
                                  ("since", self.since.isoformat() if self.since else ""),
                                  ("until", self.until.isoformat() if self.until else "")) if v}


def _utc_stamp(day: date) -> str:
    """The audit log's UTC time stamp of the start of ``day`` in the ward (the filter's dates are local)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=clock.LOCAL_ZONE).astimezone(UTC)
    return start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


# --- keys --------------------------------------------------------------------------


@bp.route("/keys")
@allow("admin")
def keys() -> str:
    """Key ids, the primary, how many values each encrypts, and the blind-index width. No key material."""
    from casework.crypto.blind_index import bits_bounds
    from casework.keyops import key_usage, rows_out_of_bound
    from casework.runtime import runtime

    state = runtime()
    db = db_session()
    usage = key_usage(db)
    rows, within = rows_out_of_bound(db, state.settings.blind_index_bits)
    low, high = bits_bounds(rows)
    keyring = state.keyring
    data_keys = [{"id": kid, "primary": kid == keyring.primary_id, "count": usage.get(kid, 0)}
                 for kid in sorted(keyring.data_keys)]
    missing = [{"id": kid, "count": usage[kid]} for kid in sorted(set(usage) - set(keyring.data_keys))]
    return render_template("admin/keys.html", data_keys=data_keys, missing=missing,
                           is_example=keyring.is_example, bits=state.settings.blind_index_bits,
                           rows=rows, within=within or rows < 16, low=low, high=high)
