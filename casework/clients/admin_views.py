"""Admin screens for moving caseloads. They show display codes and counts only: an admin
never opens a client record (DESIGN.md §1)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework.clients import forms, services
from casework.clients.models import Client
from casework.clients.views import bp
from casework.policy import allow
from casework.runtime import db_session


def _refusal(code: str) -> str:
    messages = {
        "not_a_collaborator": _("Choose a collaborator from the list."),
        "same_collaborator": _("The client is already with this collaborator."),
        "inactive_collaborator": _("This collaborator's account is deactivated."),
        "no_such_code": _("No client has this display code."),
        "no_such_request": _("This request was already handled."),
    }
    return messages.get(code, messages["not_a_collaborator"])


def _forms() -> tuple[forms.ReassignCaseloadForm, forms.ReassignClientForm, list]:
    people = services.collaborators(db_session())
    everyone = [SelectChoice(u.id, f"{u.display_name} ({u.username}) · {count}") for u, count in people]
    active = [SelectChoice(u.id, f"{u.display_name} ({u.username})") for u, _count in people if u.active]
    whole, one = forms.ReassignCaseloadForm(), forms.ReassignClientForm()
    whole.from_user.choices = everyone
    whole.to_user.choices = active
    one.client_to.choices = active
    return whole, one, people


def _page(whole: forms.ReassignCaseloadForm, one: forms.ReassignClientForm, people: list) -> str:
    return render_template(
        "clients/admin_reassign.html", whole=whole, one=one, people=people,
        requests=services.pending_coassign_requests(db_session()), action_form=forms.ActionForm(),
        co_assignments=services.co_assignments(db_session()),
    )


@bp.route("/admin/reassign", methods=["GET", "POST"])
@allow("admin")
def admin_reassign() -> Response | str:
    whole, one, people = _forms()
    if whole.validate_on_submit():
        db = db_session()
        try:
            moved = services.reassign_caseload(db, current_user._get_current_object(),
                                               whole.from_user.data, whole.to_user.data)
        except services.ClientError as exc:
            db.rollback()
            flash(_refusal(exc.code), "error")
            return _page(whole, one, people)
        db.commit()
        flash(_("%(n)d client(s) moved.", n=moved), "success")
        return redirect(url_for("clients.admin_reassign"))
    return _page(whole, one, people)


@bp.route("/admin/reassign/client", methods=["POST"])
@allow("admin")
def admin_reassign_client() -> Response | str:
    whole, one, people = _forms()
    if one.validate_on_submit():
        db = db_session()
        try:
            code = services.normalise_display_code(one.display_code.data) or ""
            services.reassign_one(db, current_user._get_current_object(), code, one.client_to.data)
        except services.ClientError as exc:
            db.rollback()
            flash(_refusal(exc.code), "error")
            return _page(whole, one, people)
        db.commit()
        flash(_("The client was moved."), "success")
        return redirect(url_for("clients.admin_reassign"))
    return _page(whole, one, people)


@bp.route("/admin/co-assignments/<int:event_id>", methods=["POST"])
@allow("admin")
def admin_coassign(event_id: int) -> Response:
    if forms.ActionForm().validate_on_submit():
        db = db_session()
        try:
            services.grant_coassignment(db, current_user._get_current_object(), event_id)
        except services.ClientError:
            abort(404)  # unknown, already granted, or its client was erased
        db.commit()
        flash(_("The collaborator was co-assigned."), "success")
    return redirect(url_for("clients.admin_reassign"))


@bp.route("/admin/co-assignments/<client_id>/<user_id>/remove", methods=["POST"])
@allow("admin")
def admin_coassignment_remove(client_id: str, user_id: str) -> Response:
    """End a co-assignment from the reassignment screen (the admin sees the display code only)."""
    if forms.ActionForm().validate_on_submit():
        db = db_session()
        client = db.get(Client, client_id)
        if client is None:
            abort(404)
        try:
            services.remove_coassignment(db, current_user._get_current_object(), client, user_id)
        except services.ClientError:
            abort(404)
        db.commit()
        flash(_("The collaborator is no longer co-assigned."), "success")
    return redirect(url_for("clients.admin_reassign"))
