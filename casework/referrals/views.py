"""Referral screens: make (collaborator), slip, sent list and detail (referrer),
inbox and minimal-dataset page (provider), entered-in-error (admin).

Each request: load (404) → policy (404 outside what the user may see) → act
through ``services``/``lifecycle`` → one commit.
"""

from __future__ import annotations

import uuid

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework import clock, codes, submissions, vocab
from casework.audit import record
from casework.auth.models import User
from casework.clients import needs
from casework.clients.models import Client
from casework.clients.services import record_view
from casework.directory.models import Service
from casework.paging import page_arg
from casework.policy import allow
from casework.policy import referrals as policy
from casework.policy.clients import caseload_filter
from casework.referrals import lifecycle, services
from casework.referrals.forms import FeedbackForm, FindByCodeForm, NewReferralForm, TransitionForm
from casework.referrals.models import Referral, ReferralEvent
from casework.runtime import db_session

bp = Blueprint("referrals", __name__)

REFUSALS = {
    "not_allowed": _l("This change is not possible for this referral in its current status."),
    "reason_required": _l("Choose a reason from the list."),
    "outcome_required": _l("Choose what was delivered."),
    "changed": _l("Someone else changed this referral while you were looking at it. "
                  "Your change was not saved. Check its current status and try again if still needed."),
    "too_many_notes": _l("This referral already holds as many feedback notes as it can. "
                         "Call the referring collaborator instead."),
}
# Free text the person typed: when one of these is refused, the page comes back with the form and the message.
TEXT_FIELDS = ("reason_text", "outcome", "feedback")
CREATE_REFUSALS = {
    "blocked": _l("A referral cannot be made for this client now."),
    "consent_required": _l("Confirm that the client agreed to share these details with this service."),
    "service_unavailable": _l("This service is no longer available. Choose another."),
    "bad_previous": _l("The earlier referral cannot be followed up with a new one."),
}
BLOCKERS = {
    "case_closed": _l("The case is closed."),
    "no_registration_consent": _l("The client's registration consent is missing or withdrawn."),
    "no_sharing_consent": _l("The client has not agreed to share information with service providers "
                             "(or withdrew that consent). Record the consent on the client's page first."),
}
OVERDUE = {
    "not_accepted": _l("Not accepted in time"),
    "not_completed": _l("Not completed in time"),
}
TAB_LABELS = {
    "new": _l("New"),
    "accepted": _l("Accepted"),
    "in-progress": _l("In progress"),
    "overdue": _l("Overdue"),
    "closed": _l("Closed"),
}


# --- loading ------------------------------------------------------------------------------


def _referral_or_404(db: Session, referral_id: str) -> Referral:
    referral = db.get(Referral, referral_id)
    if referral is None:
        abort(404)
    return referral


def _referrer_referral(db: Session, referral_id: str) -> tuple[Referral, Client]:
    referral = _referral_or_404(db, referral_id)
    client = db.get(Client, referral.client_id)
    if client is None or not policy.is_referrer(current_user, client):
        abort(404)
    return referral, client


def _provider_referral(db: Session, referral_id: str) -> Referral:
    referral = _referral_or_404(db, referral_id)
    # Entered in error (e.g. for the wrong client): withdrawn from the provider altogether.
    if not policy.is_receiving_provider(current_user, referral) or referral.status == "entered-in-error":
        abort(404)
    return referral


def _audit_read(db: Session, action: str, referral: Referral) -> None:
    record(db, action, actor_id=current_user.id, actor_role=current_user.role,
           object_type="referral", object_id=referral.id)


def _expire_lazily(db: Session, where: object) -> None:
    """Expire what is due before showing a list; a concurrent expiry simply wins."""
    try:
        if services.expire_due(db, where=where):
            db.commit()
    except lifecycle.TransitionRefused:
        db.rollback()


# --- making a referral ------------------------------------------------------------------------


@bp.route("/clients/<client_id>/referrals/new", methods=["GET", "POST"])
@allow("collaborator")
def new(client_id: str) -> Response | str:
    db = db_session()
    client = db.get(Client, client_id)
    if client is None or not policy.can_refer(current_user, client):
        abort(404)
    form = NewReferralForm()
    # The need travels in the form body (or follows from the referral this one replaces), never in
    # the URL, where browser history and proxy logs would keep it next to the client's id.
    previous_id = form.previous_referral_id.data or request.args.get("previous", "")
    previous = db.get(Referral, previous_id) if _is_id(previous_id) else None
    if previous is not None and previous.client_id != client.id:
        previous = None
    need = form.need.data if form.need.data in vocab.NEED_DOMAINS else None
    if need is None and previous is not None:
        need = previous.need_domain
    problems = services.blockers(db, client)
    options = services.services_for(db, need)
    if previous is not None:
        options = [s for s in options if s.id != previous.service_id]  # "refer elsewhere": not the same place
    form.service_id.choices = [SelectChoice(s.id, s.name) for s in options]
    # Opening the page (a link, or the button that starts a referral for one need) checks nothing yet.
    starting = request.method == "GET" or not request.form.get("action")
    if starting:
        form.previous_referral_id.data = previous.id if previous is not None else ""
        if len(options) == 1:
            form.service_id.data = options[0].id
    form.need.data = need or ""
    chosen = next((s for s in options if s.id == form.service_id.data), None)
    if not starting and not problems and form.validate_on_submit() and chosen is not None:
        if request.form.get("action") == "send":
            result = _send(db, client, form)
            if result is not None:
                return result
    preview = None
    if chosen is not None and not problems:
        preview = services.preview_view(client, chosen, current_user, urgency=form.urgency.data or "routine",
                                        share_phone=bool(form.share_phone.data),
                                        note=form.note_to_receiver.data)
        # The preview shows decrypted client fields (the phone): a read of the record like any other.
        record_view(db, current_user, client, "referral_preview")
        db.commit()
    suggested, others = _grouped(db, client, options) if need is None else ([], [])
    return render_template(
        "referrals/new.html", client=client, form=form, options=options, need=need, preview=preview,
        problems=[BLOCKERS[p] for p in problems], has_phone=client.phone_enc is not None,
        address_of=services.service_address, suggested=suggested, others=others,
    )


def _is_id(value: object) -> bool:
    """A row id as casework makes them (a UUID): anything else is never looked up."""
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _grouped(db: Session, client: Client, options: list[Service]) -> tuple[list, list]:
    """The services by need: first those for the client's needs still waiting for a referral (shown
    open), then every other need (folded), so that a phone does not scroll through all of them."""
    waiting = [n.domain for n in needs.need_states(db, [client.id]).get(client.id, []) if n.can_refer]
    by_need: dict[str, list[Service]] = {}
    for service in options:
        by_need.setdefault(service.need_domain, []).append(service)
    suggested = [(domain, by_need[domain]) for domain in waiting if domain in by_need]
    others = [(domain, by_need[domain]) for domain in vocab.NEED_DOMAINS if domain in by_need and domain not in waiting]
    return suggested, others


def _send(db: Session, client: Client, form: NewReferralForm) -> Response | None:
    if not form.consent.data:
        form.consent.errors = [CREATE_REFUSALS["consent_required"]]
        return None
    request_ = services.NewReferral(
        service_id=form.service_id.data, urgency=form.urgency.data, share_phone=bool(form.share_phone.data),
        note_to_receiver=(form.note_to_receiver.data or "").strip() or None, consent_confirmed=True,
        previous_referral_id=form.previous_referral_id.data or request.args.get("previous") or None,
    )
    if not submissions.first_use(db, current_user.id, form.form_token.data):
        db.rollback()
        flash(_("This referral was already sent: the same form was sent again, and no second referral was made."),
              "info")
        return redirect(url_for("clients.view", client_id=client.id))
    try:
        referral = services.create(db, current_user, client, request_)
    except services.ReferralRefused as exc:
        db.rollback()
        flash(str(CREATE_REFUSALS[exc.code]), "error")
        return None
    db.commit()
    # The code is on the slip this redirects to; a flashed message travels in the session cookie.
    flash(_("The referral was sent. Print the slip or show it to the client."), "success")
    return redirect(url_for("referrals.slip", referral_id=referral.id))


# --- the slip -----------------------------------------------------------------------------------


@bp.route("/referrals/<referral_id>/slip")
@allow("collaborator")
def slip(referral_id: str) -> str:
    db = db_session()
    referral, _client = _referrer_referral(db, referral_id)
    data = services.slip(db, referral)
    # A full QR code (never Micro QR, which many phone cameras cannot read); sized by CSS through viewBox.
    qr = segno.make(data.code, error="m", micro=False).svg_inline(
        scale=4, border=4, omitsize=True, dark="#000", light="#fff", title=data.code)
    _audit_read(db, "referral.slip_viewed", referral)
    db.commit()
    return render_template("referrals/slip.html", slip=data, qr_svg=Markup(qr),  # noqa: S704  # segno's own SVG  # nosec B704
                           referral_id=referral.id)


# --- referrer's side --------------------------------------------------------------------------


@bp.route("/referrals/sent")
@allow("collaborator")
def sent() -> str:
    db = db_session()
    in_caseload = select(Client.id).where(caseload_filter(current_user.id))
    _expire_lazily(db, Referral.client_id.in_(in_caseload))
    show = request.args.get("show")
    overdue_only, feedback_only = show == "overdue", show == "feedback"
    page = page_arg()
    rows, has_next = services.sent(db, current_user.id, overdue_only=overdue_only, feedback_only=feedback_only,
                                   page=page)
    names = _service_names(db, {r.service_id for r, _c in rows})
    today = clock.local_today()
    unread = services.unread_feedback(db, current_user.id, {r.id for r, _c in rows})
    return render_template("referrals/sent.html", rows=rows, names=names, today=today, unread=unread,
                           overdue_of=services.is_overdue, overdue_labels=OVERDUE, overdue_only=overdue_only,
                           feedback_only=feedback_only, page=page, has_next=has_next)


@bp.route("/referrals/<referral_id>")
@allow("collaborator")
def detail(referral_id: str) -> str:
    db = db_session()
    referral, client = _referrer_referral(db, referral_id)
    return _render_detail(db, referral, client)


def _render_detail(db: Session, referral: Referral, client: Client, *,
                   submitted: TransitionForm | None = None) -> str:
    """The referrer's page for one referral. Every path that shows it (the link, a refused change shown
    again) comes through here, so no path shows it unaudited."""
    _expire_lazily(db, Referral.id == referral.id)
    # Read before this opening is recorded: it is what was new to the referrer when the page was asked for.
    new_feedback = referral.id in services.unread_feedback(db, current_user.id, {referral.id})
    _audit_read(db, "referral.viewed", referral)
    services.mark_feedback_read(db, referral, current_user.id)
    db.commit()  # the read is on record before anything is shown; nothing stays locked while rendering
    staffed = services.organisation_staffed(db, referral.organisation_id)
    kinds = policy.actor_kinds(current_user, referral, client, organisation_staffed=staffed)
    service = db.get(Service, referral.service_id)
    return render_template(
        "referrals/detail.html", referral=referral, client=client, service=service, staffed=staffed,
        actions=_actions(referral, kinds, submitted), timeline=_timeline(db, referral),
        overdue=services.is_overdue(referral, clock.local_today()), overdue_labels=OVERDUE,
        address=services.service_address(service), reason_label=lifecycle.reason_label,
        successors=db.scalars(select(Referral).where(Referral.previous_referral_id == referral.id)).all(),
        notes=_notes(db, referral), new_feedback=new_feedback,
    )


# --- provider's side ----------------------------------------------------------------------------


@bp.route("/inbox")
@allow("provider")
def inbox() -> str:
    db = db_session()
    tab = request.args.get("tab", "new")
    tab = tab if tab in services.INBOX_TABS else "new"
    organisation_id = current_user.organisation_id
    referrals: list[Referral] = []
    page, has_next, counts = page_arg(), False, dict.fromkeys(services.INBOX_TABS, 0)
    if organisation_id:
        _expire_lazily(db, Referral.organisation_id == organisation_id)
        referrals, has_next = services.inbox(db, organisation_id, tab, page=page)
        counts = services.inbox_counts(db, organisation_id)
    codes = {r.id: services.client_code_for(db, r.client_id, r.organisation_id) for r in referrals}
    return render_template(
        "referrals/inbox.html", tab=tab, tabs=TAB_LABELS, referrals=referrals, client_codes=codes,
        names=_service_names(db, {r.service_id for r in referrals}), today=clock.local_today(),
        overdue_of=services.is_overdue, overdue_labels=OVERDUE, find_form=FindByCodeForm(),
        page=page, has_next=has_next, counts=counts,
    )


@bp.route("/inbox/find", methods=["POST"])
@allow("provider")
def find() -> Response:
    db = db_session()
    form = FindByCodeForm()
    code = codes.normalise_referral_code(form.code.data or "") if form.validate_on_submit() else None
    referral = None
    if code and current_user.organisation_id:
        referral = db.scalar(select(Referral).where(Referral.code == code,
                                                    Referral.organisation_id == current_user.organisation_id,
                                                    Referral.status != "entered-in-error"))
    if referral is None:
        # The same answer whether the code is mistyped, belongs to another organisation, or was
        # entered in error (such a referral was never meant for this organisation's eyes).
        flash(_("No referral with this code is addressed to your organisation. Check the code and try again."),
              "error")
        return redirect(url_for("referrals.inbox"))
    return redirect(url_for("referrals.received", referral_id=referral.id))


@bp.route("/inbox/<referral_id>")
@allow("provider")
def received(referral_id: str) -> str:
    db = db_session()
    return _render_received(db, _provider_referral(db, referral_id))


def _render_received(db: Session, referral: Referral, *, submitted: TransitionForm | None = None,
                     feedback_form: FeedbackForm | None = None) -> str:
    """The provider's page for one referral. Every path that shows it (the inbox link, a refused
    feedback or change shown again) comes through here, so every showing is audited, and the first
    showing of a requested referral marks it received, however it was reached."""
    _expire_lazily(db, Referral.id == referral.id)  # an expired slip is not received
    if referral.status == "requested":
        try:
            lifecycle.apply(db, referral, lifecycle.Change(to="received"), actor_id=current_user.id,
                            actor_role=current_user.role, actor_kinds=frozenset({"provider"}))
        except lifecycle.TransitionRefused:
            db.rollback()  # opened at the same moment by a colleague: theirs counts
            referral = _provider_referral(db, referral.id)
    _audit_read(db, "referral.viewed", referral)
    db.commit()  # the read is on record before anything is shown; nothing stays locked while rendering
    if feedback_form is None:
        feedback_form = FeedbackForm(formdata=None, version=referral.version)
    return render_template(
        "referrals/received.html", referral=referral, view=services.provider_view(db, referral),
        actions=_actions(referral, frozenset({"provider"}), submitted), timeline=_timeline(db, referral),
        overdue=services.is_overdue(referral, clock.local_today()), overdue_labels=OVERDUE,
        notes=_notes(db, referral), feedback_form=feedback_form,
    )


@bp.route("/inbox/<referral_id>/feedback", methods=["POST"])
@allow("provider")
def feedback(referral_id: str) -> Response | str:
    """A note to the referrer without a change of status."""
    db = db_session()
    referral = _provider_referral(db, referral_id)
    form = FeedbackForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors or form.version.errors:
            flash(str(REFUSALS["not_allowed"]), "error")
            return redirect(url_for("referrals.received", referral_id=referral.id))
        return _render_received(db, referral, feedback_form=form)
    try:
        lifecycle.add_feedback(db, referral, form.note.data, actor_id=current_user.id,
                               actor_role=current_user.role, actor_kinds=frozenset({"provider"}),
                               expected_version=form.version.data)
    except lifecycle.TransitionRefused as exc:
        db.rollback()
        flash(str(REFUSALS[exc.code]), "error")
        return redirect(url_for("referrals.received", referral_id=referral_id))
    db.commit()
    flash(_("Your feedback was sent to the referring collaborator."), "success")
    return redirect(url_for("referrals.received", referral_id=referral.id))


# --- changing status ---------------------------------------------------------------------------


@bp.route("/referrals/<referral_id>/status", methods=["POST"])
@allow("collaborator", "provider", "admin")
def transition(referral_id: str) -> Response | str:
    db = db_session()
    referral = _referral_or_404(db, referral_id)
    client = db.get(Client, referral.client_id)
    staffed = services.organisation_staffed(db, referral.organisation_id)
    kinds = policy.actor_kinds(current_user, referral, client, organisation_staffed=staffed)
    if not kinds:
        abort(404)
    back = _back_url(kinds, referral)
    form = TransitionForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors or not any(form[name].errors for name in TEXT_FIELDS):
            flash(str(REFUSALS["not_allowed"]), "error")
            return redirect(back)
        return _form_back(db, referral, client, kinds, form)
    provider = "provider" in kinds
    change = lifecycle.Change(
        to=form.to.data, reason_code=form.reason_code.data or None,
        reason_text=(form.reason_text.data or "").strip() or None,
        business_status=form.business_status.data or None,
        outcome=(form.outcome.data or "").strip() or None,
        feedback=((form.feedback.data or "").strip() or None) if provider else None,
    )
    try:
        lifecycle.apply(db, referral, change, actor_id=current_user.id, actor_role=current_user.role,
                        actor_kinds=kinds, expected_version=form.version.data)
    except lifecycle.TransitionRefused as exc:
        db.rollback()
        flash(str(REFUSALS[exc.code]), "error")
        return redirect(back)
    db.commit()
    flash(_("Saved: the referral is now “%(status)s”.", status=vocab.REFERRAL_STATUSES[change.to]), "success")
    return redirect(back)


def _form_back(db: Session, referral: Referral, client: Client, kinds: frozenset[str],
               form: TransitionForm) -> Response | str:
    """The page the change was made from, again, with the typed text and what is wrong with it."""
    if "provider" in kinds:
        if referral.status == "entered-in-error":
            abort(404)
        return _render_received(db, referral, submitted=form)
    if "referrer" in kinds:
        return _render_detail(db, referral, client, submitted=form)
    # The admin reaches a referral by its code only: a refused change names nothing about the referral
    # (a page shown again for an id would tell its code, organisation and status to whoever has the id).
    flash(str(_first_error(form)), "error")
    return redirect(url_for("referrals.correct"))


def _first_error(form: TransitionForm) -> str:
    for name in TEXT_FIELDS:
        if form[name].errors:
            return f"{form[name].label.text}: {form[name].errors[0]}"
    return str(REFUSALS["not_allowed"])


def _back_url(kinds: frozenset[str], referral: Referral) -> str:
    if "provider" in kinds:
        return url_for("referrals.received", referral_id=referral.id)
    if "referrer" in kinds:
        return url_for("referrals.detail", referral_id=referral.id)
    return url_for("referrals.correct")


@bp.route("/referrals/correct", methods=["GET", "POST"])
@allow("admin")
def correct() -> str:
    """Admin: find a referral by code and mark it entered-in-error; shows no client data."""
    db = db_session()
    form = FindByCodeForm()
    found = None
    searched = False
    if form.validate_on_submit():
        searched = True
        code = codes.normalise_referral_code(form.code.data or "")
        found = db.scalar(select(Referral).where(Referral.code == code)) if code else None
    return _render_correct(form, found, searched=searched)


def _render_correct(form: FindByCodeForm, found: Referral | None, *, searched: bool) -> str:
    organisation = found and db_session().get(Service, found.service_id).organisation
    actions = _actions(found, frozenset({"admin"})) if found else []
    return render_template("referrals/correct.html", form=form, found=found, searched=searched,
                           organisation=organisation, actions=actions)


# --- helpers for the templates ---------------------------------------------------------------


def _service_names(db: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(db.execute(select(Service.id, Service.name).where(Service.id.in_(ids))).all())


ACTION_LABELS = {
    "accepted": _l("Accept"),
    "rejected": _l("Decline"),
    "cancelled": _l("Cancel the referral"),
    "in-progress": _l("Mark as in progress"),
    "on-hold": _l("Put on hold"),
    "completed": _l("Record as completed"),
    "failed": _l("Record as not successful"),
    "entered-in-error": _l("Mark as entered in error"),
}


def _actions(referral: Referral, kinds: frozenset[str],
             submitted: TransitionForm | None = None) -> list[dict[str, object]]:
    """One small form per change these actors may make now (never ``received``: opening does it).

    ``submitted``: a refused form, shown again (open, with its text and messages) in place of a blank one.
    """
    actions: list[dict[str, object]] = []
    for to in lifecycle.allowed_targets(referral.status, kinds):
        if to == "received":
            continue
        again = submitted is not None and submitted.to.data == to
        form = submitted if again else TransitionForm(formdata=None, to=to, version=referral.version)
        reasons = lifecycle.reason_choices(to, kinds) if to != "completed" else {}
        form.reason_code.choices = [SelectChoice("", _("— choose —")),
                                    *[SelectChoice(k, str(v)) for k, v in reasons.items()]]
        form.business_status.choices = [SelectChoice("", _("— choose —")),
                                        *[SelectChoice(k, str(v)) for k, v in
                                          vocab.business_statuses_for(referral.need_domain).items()]]
        actions.append({"to": to, "form": form, "label": ACTION_LABELS[to], "reasons": bool(reasons),
                        "outcome": to in ("completed", "failed"), "business": to == "completed",
                        "feedback": "provider" in kinds, "open": again, "danger": to in ("rejected", "cancelled",
                                                                           "failed", "entered-in-error")})
    return actions


def _timeline(db: Session, referral: Referral) -> list[dict[str, object]]:
    events = db.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                        .order_by(ReferralEvent.at, ReferralEvent.id)).all()
    actor_ids = {e.actor_id for e in events if e.actor_id}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    return [{"at": e.at, "who": names.get(e.actor_id) if e.actor_id else None, "to": e.to_status,
             "from": e.from_status, "reason": lifecycle.reason_label(e.to_status, e.reason_code)}
            for e in events]


def _notes(db: Session, referral: Referral) -> list[dict[str, object]]:
    """The service's feedback notes, oldest first, with the writer's display name."""
    notes = lifecycle.feedback_notes(referral)
    writers = {n.by for n in notes if n.by}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(writers))).all()) \
        if writers else {}
    return [{"at": n.at, "who": names.get(n.by) if n.by else None, "text": n.text} for n in notes]
