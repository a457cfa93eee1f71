"""Admin screens for moving caseloads and co-assigning. They show display codes and counts only:
an admin never opens a client record. A move or a co-assignment is a proposal here; it takes
effect when a second person approves it (casework.approvals)."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework.approvals import labels
from casework.approvals import services as approvals
from casework.clients import forms, services
from casework.clients.models import Client
from casework.clients.views import bp
from casework.paging import page_arg
from casework.policy import allow
from casework.runtime import db_session

REQUESTS_PER_PAGE = 25


def _refusal(code: str) -> str:
    return str(labels.REFUSALS.get(code, labels.REFUSALS["not_a_collaborator"]))


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
    db = db_session()
    page = page_arg()
    requests, more = services.open_coassign_requests(db, page=page, per_page=REQUESTS_PER_PAGE)
    return render_template(
        "clients/admin_reassign.html", whole=whole, one=one, people=people,
        requests=requests, requests_page=page, more_requests=more,
        action_form=forms.ActionForm(), co_assignments=services.co_assignments(db),
        proposed=approvals.proposed_by(db, current_user._get_current_object()), kinds=labels.KINDS,
    )


def _proposed(make: Callable[[], object], whole: forms.ReassignCaseloadForm, one: forms.ReassignClientForm,
              people: list) -> Response | str:
    """Record a proposal; it takes effect only once a second person approves it."""
    db = db_session()
    try:
        make()
    except approvals.ApprovalError as exc:
        db.rollback()
        flash(_refusal(exc.code), "error")
        return _page(whole, one, people)
    db.commit()
    flash(_("Sent for approval. Nothing moves until a supervisor or another administrator approves it; "
            "the collaborator whose clients are concerned is told."), "success")
    return redirect(url_for("clients.admin_reassign"))


@bp.route("/admin/reassign", methods=["GET", "POST"])
@allow("admin")
def admin_reassign() -> Response | str:
    whole, one, people = _forms()
    if whole.validate_on_submit():
        return _proposed(lambda: approvals.propose_caseload_move(
            db_session(), current_user._get_current_object(), whole.from_user.data, whole.to_user.data,
            whole.reason.data), whole, one, people)
    return _page(whole, one, people)


@bp.route("/admin/reassign/client", methods=["POST"])
@allow("admin")
def admin_reassign_client() -> Response | str:
    whole, one, people = _forms()
    if one.validate_on_submit():
        code = services.normalise_display_code(one.display_code.data) or ""
        return _proposed(lambda: approvals.propose_client_move(
            db_session(), current_user._get_current_object(), code, one.client_to.data, one.client_reason.data),
            whole, one, people)
    return _page(whole, one, people)


@bp.route("/admin/co-assignments/<request_id>", methods=["POST"])
@allow("admin")
def admin_coassign(request_id: str) -> Response:
    if forms.ActionForm().validate_on_submit():
        db = db_session()
        try:
            approvals.propose_coassignment(db, current_user._get_current_object(), request_id)
        except approvals.ApprovalError as exc:
            db.rollback()
            if exc.code == "no_such_request":
                abort(404)  # unknown, already handled, or its client was erased
            flash(_refusal(exc.code), "error")
            return redirect(url_for("clients.admin_reassign"))
        db.commit()
        flash(_("Sent for approval. The collaborator is co-assigned once a supervisor or another administrator "
                "approves it."), "success")
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
