"""The approval queue (supervisors and admins), the notices a collaborator sees about their own
caseload, and the page of an account whose records are on hold. Names and counts only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casework.approvals import labels, services
from casework.approvals.forms import DecisionForm, VersionForm
from casework.auth.forms import ActionForm
from casework.auth.models import User
from casework.paging import page_arg
from casework.policy import allow
from casework.runtime import db_session

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

PER_PAGE = 20


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/")
@allow("supervisor", "admin")
def index() -> str:
    db = db_session()
    if services.lapse_due(db):
        db.commit()
    page, done_page = page_arg("page"), page_arg("done")
    pending, more_pending = services.queue(db, _me(), page=page, per_page=PER_PAGE)
    decided, more_decided = services.decided(db, page=done_page, per_page=PER_PAGE)
    return render_template(
        "approvals/index.html", pending=pending, more_pending=more_pending, page=page,
        decided=decided, more_decided=more_decided, done_page=done_page,
        approvers=services.approvers(db), labels=labels, decision_form=DecisionForm(formdata=None),
        version_form=VersionForm(formdata=None), recent_days=services.RECENT_SETUP.days,
    )


@bp.route("/<change_id>/decide", methods=["POST"])
@allow("supervisor", "admin")
def decide(change_id: str) -> Response:
    form = DecisionForm()
    if not form.validate_on_submit():
        return _refused("incomplete")
    db = db_session()
    approve = form.decision.data == "approve"
    try:
        change = services.decide(db, _me(), change_id, approve=approve, version=form.version.data)
    except services.ApprovalError as exc:
        return _refused(exc.code)
    db.commit()
    if approve:
        flash(_("Approved: “%(kind)s” has taken effect.", kind=labels.KINDS[change.kind]), "success")
    else:
        flash(_("Refused: nothing was changed."), "info")
    return redirect(url_for("approvals.index"))


@bp.route("/<change_id>/withdraw", methods=["POST"])
@allow("admin")
def withdraw(change_id: str) -> Response:
    form = VersionForm()
    if not form.validate_on_submit():
        return _refused("incomplete")
    db = db_session()
    try:
        services.withdraw(db, _me(), change_id, form.version.data)
    except services.ApprovalError as exc:
        return _refused(exc.code)
    db.commit()
    flash(_("The proposal was withdrawn."), "info")
    return redirect(url_for("approvals.index"))


def _refused(code: str) -> Response:
    """Nothing is kept of a refused decision or withdrawal; the queue comes back with the reason."""
    db_session().rollback()
    if code == "not_found":
        abort(404)
    flash(str(labels.REFUSALS[code]), "error")
    return redirect(url_for("approvals.index"))


@bp.route("/notices/<change_id>/seen", methods=["POST"])
@allow("collaborator")
def notice_seen(change_id: str) -> Response:
    if ActionForm().validate_on_submit():
        db = db_session()
        services.dismiss_notice(db, _me(), change_id)
        db.commit()
    return redirect(url_for("clients.caseload"))


@bp.route("/held")
@allow("collaborator")
def held() -> Response | str:
    """What a collaborator whose records are on hold sees instead of their caseload."""
    me = _me()
    if me.records_held_since is None:
        return redirect(url_for("clients.caseload"))
    hold = services.hold_of(db_session(), me)
    return render_template("approvals/held.html", hold=hold, labels=labels)
