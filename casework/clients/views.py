"""Collaborator screens. Each request: load (404) → check access (404, see policy.clients)
→ act → audit → one commit. The UIC only ever travels in POST bodies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from casework import clock, submissions, vocab
from casework.audit import actions as audit_actions
from casework.audit import record
from casework.auth.models import User
from casework.clients import forms, needs, services, storage
from casework.clients.models import Assessment, CaseNote, Client, Consent, FollowUp
from casework.extensions import limiter
from casework.paging import page_arg
from casework.policy import allow
from casework.policy.clients import can_access_client, can_remove_coassignment, in_caseload, is_owner
from casework.referrals import lifecycle
from casework.runtime import db_session, runtime

bp = Blueprint("clients", __name__, url_prefix="/clients")

REFUSALS = {
    "closed": _l("The case is closed. Reopen it first."),
    "registration_consent_withdrawn": _l("Registration consent was withdrawn: nothing new can be recorded. "
                                         "Record consent again or erase the record."),
    "registration_consent_needed": _l("Record registration consent first."),
    "consent_not_active": _l("This consent is not active."),
    "follow_up_done": _l("This follow-up is already done."),
    "already_closed": _l("The case is already closed."),
    "already_open": _l("The case is already open."),
    "bad_reason": _l("Choose one of the options shown."),
    "bad_consent": _l("Choose one of the options shown."),
    "bad_assessment": _l("Choose one of the options shown."),
    "consent_needed": _l("Without the client's consent to registration nothing can be stored."),
    "not_latest_assessment": _l("Only the notes of the latest assessment can be corrected; "
                                "earlier assessments stay as history."),
    "not_coassigned": _l("This collaborator is not co-assigned to the client."),
}




def _actor() -> User:
    return current_user._get_current_object()


def _load(client_id: str) -> Client:
    """The client, or 404 for a missing id and for a client outside the caseload alike."""
    client = db_session().get(Client, client_id)
    if client is None or not can_access_client(current_user, client):
        abort(404)
    return client


def _child(model: type, client: Client, row_id: str) -> Any:
    """A row that hangs off the client, or 404 (also for another client's row)."""
    row = db_session().get(model, row_id)
    if row is None or row.client_id != client.id:
        abort(404)
    return row


def _refused(exc: services.ClientError, client: Client) -> Response:
    db_session().rollback()
    flash(str(REFUSALS.get(exc.code, REFUSALS["bad_reason"])), "error")
    return redirect(url_for("clients.view", client_id=client.id))


# --- caseload and search ------------------------------------------------------------------


PANEL_ROWS = 10  # overdue follow-ups shown on the caseload page; the rest on their own page


@bp.route("/")
@allow("collaborator")
def caseload() -> str:
    return _render_caseload(forms.FindForm())


@bp.route("/follow-ups/overdue")
@allow("collaborator")
def follow_ups_overdue() -> str:
    """Every overdue follow-up of the caseload, a page at a time."""
    overdue = services.overdue_follow_ups(db_session(), _actor(), page=page_arg())
    return render_template("clients/follow_ups_overdue.html", overdue=overdue)


def _render_caseload(find_form: forms.FindForm, **extra: Any) -> str:
    db = db_session()
    user = _actor()
    listing = services.caseload(db, user, page=page_arg())
    return render_template(
        "clients/caseload.html", rows=listing.rows, listing=listing,
        overdue=services.overdue_follow_ups(db, user, per_page=PANEL_ROWS),
        find_form=find_form, today=clock.local_today(), need_states_labels=needs.STATES, **extra,
    )


def _per_user() -> str:
    return f"user:{current_user.id}"


# A UIC lookup says whether someone is in the programme: enough for daily work, too few to sweep.
# One budget per person across every page that tests a UIC (search, registration, correction,
# co-assignment request), so that using all of them does not multiply it.
UIC_LOOKUP_LIMIT = "60 per hour"
uic_budget = limiter.shared_limit(UIC_LOOKUP_LIMIT, scope="uic-lookup", key_func=_per_user, methods=["POST"])


@bp.route("/find", methods=["POST"])
@allow("collaborator")
@uic_budget
def find() -> Response | str:
    form = forms.FindForm()
    if not form.validate_on_submit():
        return _render_caseload(form)
    db = db_session()
    client, elsewhere = services.find_in_caseload(db, _actor(), form.query.data)
    record(db, "client.searched", actor_id=current_user.id, actor_role=current_user.role,
           details={"found": client is not None, "elsewhere": elsewhere})
    db.commit()
    if client is not None:
        return redirect(url_for("clients.view", client_id=client.id))
    request_form = None
    if elsewhere:
        request_form = forms.CoassignRequestForm(data={"uic": form.query.data}, formdata=None)
    return _render_caseload(form, searched=True, elsewhere=elsewhere, request_form=request_form)


@bp.route("/co-assignment-requests", methods=["POST"])
@allow("collaborator")
@uic_budget
def request_coassign() -> Response:
    form = forms.CoassignRequestForm()
    if form.validate_on_submit():
        db = db_session()
        user = _actor()
        ids = storage.find_ids_by_uic(db, form.uic.data)
        mine = in_caseload(db, user, ids)
        services.audit_uic_lookup(db, user, "coassign_request")
        services.request_coassignment(db, user, [i for i in ids if i not in mine])
        db.commit()
        # The same answer whether or not anything matched: this page is not a way to test UICs.
        # Whether the request matched a record is for the administrator who handles it to see.
        flash(_("Your request was sent to the administrators. If a record in another caseload has this UIC, "
                 "it will appear in your caseload once they co-assign you."), "info")
    return redirect(url_for("clients.caseload"))


# --- registration -----------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@allow("collaborator")
@uic_budget
def register() -> Response | str:
    form = forms.RegisterForm()
    if not form.validate_on_submit():
        return render_template("clients/register.html", form=form)
    db = db_session()
    user = _actor()
    if submissions.used(db, form.form_token.data):  # sent again after it was saved: not a new client
        return _already_saved(url_for("clients.caseload"))
    uic = None if form.uic_declined.data else form.uic.data
    matches = storage.find_ids_by_uic(db, uic) if uic else []
    if uic:
        services.audit_uic_lookup(db, user, "registration")
    if matches and not form.confirm_different.data:
        mine = in_caseload(db, user, matches)
        services.record_uic_probe(db, user, [m for m in matches if m not in mine], "registration")
        db.commit()
        codes = db.execute(select(Client.id, Client.display_code).where(Client.id.in_(mine))).all()
        return render_template("clients/register.html", form=form, duplicates=codes,
                               elsewhere=len(matches) - len(mine),
                               request_form=forms.CoassignRequestForm(data={"uic": uic}, formdata=None))
    if not submissions.first_use(db, user.id, form.form_token.data):
        return _already_saved(url_for("clients.caseload"))
    data = services.Registration(
        consent_method=form.consent_method.data, consent_date=form.consent_date.data, uic=uic,
        sex_gender=form.sex_gender.data, birth_year=form.birth_year.data, age_band=form.age_band.data,
        outreach_source=form.outreach_source.data, contact_preference=form.contact_preference.data,
        alias=form.alias.data, phone=form.phone.data, residence=form.residence.data,
        share_consent=form.consent_share.data, contact_consent=form.consent_contact.data,
    )
    client = services.register_client(db, user, data, overrode_match=bool(matches))
    db.commit()
    flash(_("The client is registered."), "success")
    return redirect(url_for("clients.view", client_id=client.id))


# --- the client page ----------------------------------------------------------------------------


@bp.route("/<client_id>")
@allow("collaborator")
def view(client_id: str) -> str:
    client = _load(client_id)
    return _render_client(client)


def _render_client(client: Client, **form_overrides: Any) -> str:
    """The client page; a view that failed validation passes its bound form to show the errors."""
    db = db_session()
    user = _actor()
    services.refresh_age_band(db, user, client)
    services.record_view(db, user, client, "client")
    latest = services.latest_assessment(db, client.id)
    notes = db.scalars(select(CaseNote).where(CaseNote.client_id == client.id)
                       .order_by(CaseNote.created_at.desc())).all()
    follow_ups = db.scalars(select(FollowUp).where(FollowUp.client_id == client.id)
                            .order_by(FollowUp.done_at.is_not(None), FollowUp.due_on)).all()
    page_forms = {
        "consent_form": forms.ConsentForm(formdata=None),
        "note_form": forms.NoteForm(formdata=None),
        "follow_up_form": forms.FollowUpForm(formdata=None),
        "action_form": forms.ActionForm(),
    } | form_overrides
    consents = services.current_consents(db, client.id)
    co_assignees = [a.user_id for a in client.co_assignees]
    notes_by_domain = {need.domain: need.note for need in latest.needs} if latest else {}
    html = render_template(
        "clients/client.html", client=client, latest=latest, notes=notes, follow_ups=follow_ups,
        need_states=needs.need_states(db, [client.id]).get(client.id, []), need_notes=notes_by_domain,
        need_state_labels=needs.STATES,
        consents=consents, names=_names(db, [n.author_id for n in notes] + co_assignees, consents.values()),
        co_assignees=co_assignees, can_remove_coassignment=can_remove_coassignment(user, client),
        can_refer=services.can_refer(db, client), can_contact=services.can_contact(db, client),
        registration_active=services.consent_active(db, client.id, "registration"),
        history=services.access_history(db, client.id, user.id) if is_owner(user, client) else None,
        today=clock.local_today(), audit_labels=audit_actions.LABELS, **page_forms,
    )
    db.commit()
    return html


def _names(db: Any, user_ids: list[str], consents: Any = ()) -> dict[str, str]:
    ids = set(user_ids) | {c.recorded_by for c in consents if c is not None}
    ids |= {c.withdrawn_by for c in consents if c is not None and c.withdrawn_by}
    if not ids:
        return {}
    return {row.id: row.display_name for row in db.execute(select(User.id, User.display_name)
                                                           .where(User.id.in_(ids)))}


# --- consent ---------------------------------------------------------------------------------------


@bp.route("/<client_id>/consents", methods=["POST"])
@allow("collaborator")
def consent_add(client_id: str) -> Response | str:
    client = _load(client_id)
    form = forms.ConsentForm()
    if not form.validate_on_submit():
        return _render_client(client, consent_form=form)
    try:
        services.record_consent(db_session(), _actor(), client, purpose=form.purpose.data,
                                method=form.method.data, given_on=form.given_on.data)
    except services.ClientError as exc:
        return _refused(exc, client)
    db_session().commit()
    flash(_("Consent recorded."), "success")
    return redirect(url_for("clients.view", client_id=client.id, _anchor="consent-h"))


@bp.route("/<client_id>/consents/<consent_id>/withdraw/confirm")
@allow("collaborator")
def consent_withdraw_confirm(client_id: str, consent_id: str) -> str:
    """Asked before withdrawing: a slip of the thumb would cancel the client's open referrals."""
    client = _load(client_id)
    consent = _child(Consent, client, consent_id)
    if consent.withdrawn_on is not None:
        abort(404)
    purpose = vocab.CONSENT_PURPOSES.get(consent.purpose, consent.purpose)
    lines = [_("Withdraw the client's consent “%(purpose)s” from today?", purpose=purpose)]
    if consent.purpose in ("registration", "share_with_provider"):
        lines.append(_("Every open referral of this client is cancelled, and no new referral can be made."))
    services.record_view(db_session(), _actor(), client, "consent_withdraw_confirm")  # a page of the record
    db_session().commit()
    return render_template("confirm.html", title=_("Withdraw consent"), lines=lines, button=_("Yes, withdraw"),
                           action=url_for("clients.consent_withdraw", client_id=client.id, consent_id=consent.id),
                           back=url_for("clients.view", client_id=client.id, _anchor="consent-h"),
                           action_form=forms.ActionForm())


@bp.route("/<client_id>/consents/<consent_id>/withdraw", methods=["POST"])
@allow("collaborator")
def consent_withdraw(client_id: str, consent_id: str) -> Response:
    client = _load(client_id)
    db = db_session()
    consent = _child(Consent, client, consent_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw_consent(db, _actor(), client, consent)
    except services.ClientError as exc:
        return _refused(exc, client)
    db.commit()
    if consent.purpose == "registration":
        flash(_("Registration consent withdrawn. No new referrals or contact are possible. "
                 "Offer the client erasure of the record."), "info")
    else:
        flash(_("Consent withdrawn."), "info")
    return redirect(url_for("clients.view", client_id=client.id))


# --- assessment -----------------------------------------------------------------------------------


@bp.route("/<client_id>/assessment", methods=["GET", "POST"])
@allow("collaborator")
def assess(client_id: str) -> Response | str:
    client = _load(client_id)
    db = db_session()
    form = forms.assessment_form()
    if form.validate_on_submit():
        needs = {code: (form[f"level_{code}"].data, form[f"note_{code}"].data) for code in vocab.NEED_DOMAINS}
        if not submissions.first_use(db, _actor().id, form.form_token.data):
            return _already_saved(url_for("clients.view", client_id=client.id, _anchor="needs-h"))
        try:
            services.add_assessment(db, _actor(), client, assessed_on=form.assessed_on.data,
                                    eligible=form.eligible.data, needs=needs)
        except services.ClientError as exc:
            return _refused(exc, client)
        db.commit()
        flash(_("Assessment saved."), "success")
        return redirect(url_for("clients.view", client_id=client.id))
    services.record_view(db, _actor(), client, "assessment_form")
    html = render_template("clients/assess.html", client=client, form=form)
    db.commit()
    return html


@bp.route("/<client_id>/assessments")
@allow("collaborator")
def assessments(client_id: str) -> str:
    client = _load(client_id)
    db = db_session()
    services.record_view(db, _actor(), client, "assessments")
    items = services.assessments(db, client.id)
    html = render_template("clients/assessments.html", client=client, assessments=items,
                           names=_names(db, [a.assessed_by for a in items]))
    db.commit()
    return html


# --- notes and follow-ups ------------------------------------------------------------------------------


def _already_saved(where: str) -> Response:
    """The same form sent a second time (Back and Send again, a double tap): nothing more is saved."""
    db_session().rollback()
    flash(_("This was already saved: the same form was sent again, and nothing more was added."), "info")
    return redirect(where)


@bp.route("/<client_id>/notes", methods=["POST"])
@allow("collaborator")
def note_add(client_id: str) -> Response | str:
    client = _load(client_id)
    form = forms.NoteForm()
    if not form.validate_on_submit():
        return _render_client(client, note_form=form)
    if not submissions.first_use(db_session(), _actor().id, form.form_token.data):
        return _already_saved(url_for("clients.view", client_id=client.id, _anchor="notes-h"))
    try:
        services.add_note(db_session(), _actor(), client, form.body.data)
    except services.ClientError as exc:
        return _refused(exc, client)
    db_session().commit()
    flash(_("Note saved."), "success")
    return redirect(url_for("clients.view", client_id=client.id, _anchor="notes-h"))


@bp.route("/<client_id>/follow-ups", methods=["POST"])
@allow("collaborator")
def follow_up_add(client_id: str) -> Response | str:
    client = _load(client_id)
    form = forms.FollowUpForm()
    if not form.validate_on_submit():
        return _render_client(client, follow_up_form=form)
    if not submissions.first_use(db_session(), _actor().id, form.form_token.data):
        return _already_saved(url_for("clients.view", client_id=client.id, _anchor="fu-h"))
    try:
        services.add_follow_up(db_session(), _actor(), client, due_on=form.due_on.data,
                               description=form.description.data)
    except services.ClientError as exc:
        return _refused(exc, client)
    db_session().commit()
    flash(_("Follow-up added."), "success")
    return redirect(url_for("clients.view", client_id=client.id, _anchor="fu-h"))


@bp.route("/<client_id>/follow-ups/<follow_up_id>/done", methods=["POST"])
@allow("collaborator")
def follow_up_done(client_id: str, follow_up_id: str) -> Response:
    client = _load(client_id)
    db = db_session()
    follow_up = _child(FollowUp, client, follow_up_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        services.complete_follow_up(db, _actor(), client, follow_up)
    except services.ClientError as exc:
        return _refused(exc, client)
    db.commit()
    flash(_("Follow-up marked done."), "success")
    return redirect(url_for("clients.view", client_id=client.id, _anchor="fu-h"))


# --- close and reopen -----------------------------------------------------------------------------------


@bp.route("/<client_id>/close", methods=["GET", "POST"])
@allow("collaborator")
def close(client_id: str) -> Response | str:
    client = _load(client_id)
    form = forms.CloseForm()
    if form.validate_on_submit():
        try:
            services.close_client(db_session(), _actor(), client, form.reason.data)
        except services.ClientError as exc:
            return _refused(exc, client)
        db_session().commit()
        flash(_("The case is closed."), "success")
        return redirect(url_for("clients.view", client_id=client.id))
    return render_template("clients/close.html", client=client, form=form)


@bp.route("/<client_id>/reopen", methods=["POST"])
@allow("collaborator")
def reopen(client_id: str) -> Response:
    client = _load(client_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        services.reopen_client(db_session(), _actor(), client)
    except services.ClientError as exc:
        return _refused(exc, client)
    db_session().commit()
    flash(_("The case is open again."), "success")
    return redirect(url_for("clients.view", client_id=client.id))


# --- client rights: access sheet, correction, erasure ----------------------------------------------------


@bp.route("/<client_id>/record")
@allow("collaborator")
def record_sheet(client_id: str) -> str:
    """Everything held about the client, for an access request (printable)."""
    client = _load(client_id)
    db = db_session()
    services.record_view(db, _actor(), client, "access_sheet")
    sheet = services.access_sheet(db, client)
    html = render_template("clients/record.html", client=client, sheet=sheet,
                           names=_names(db, sheet.user_ids), printed_at=clock.utcnow(),
                           reason_label=lifecycle.reason_label, feedback_notes=lifecycle.feedback_notes)
    db.commit()
    return html


@bp.route("/<client_id>/correct", methods=["GET", "POST"])
@allow("collaborator")
@uic_budget
def correct(client_id: str) -> Response | str:
    client = _load(client_id)
    db = db_session()
    user = _actor()
    form = forms.CorrectForm(data=None if forms.is_post() else _current_details(client))
    if form.validate_on_submit():
        uic = None if form.uic_declined.data else form.uic.data
        overrode = False
        if services.uic_changes(client, uic):
            mine, elsewhere = services.uic_duplicates(db, user, client, uic, "correction")
            if (mine or elsewhere) and not form.confirm_different.data:
                db.commit()  # the probe is logged; nothing of the correction is saved
                return _render_correct(client, form, mine, elsewhere, uic)
            overrode = bool(mine or elsewhere)
        changed = services.correct_client(db, user, client, {
            name: form[name].data for name in (*services.ENCRYPTED_DETAILS, *services.PLAIN_DETAILS,
                                               "uic_declined")
        }, overrode_match=overrode)
        db.commit()
        flash(_("%(n)d field(s) corrected.", n=len(changed)) if changed else _("Nothing was changed."), "info")
        return redirect(url_for("clients.view", client_id=client.id))
    if not forms.is_post():
        services.record_view(db, user, client, "correct_form")
    html = _render_correct(client, form)
    db.commit()
    return html


def _render_correct(client: Client, form: forms.CorrectForm, mine: list[str] | None = None, elsewhere: int = 0,
                    uic: str | None = None) -> str:
    """The correction form; after a UIC match, with the matches for the worker to judge."""
    duplicates = db_session().execute(select(Client.id, Client.display_code)
                                      .where(Client.id.in_(mine))).all() if mine else []
    request_form = forms.CoassignRequestForm(data={"uic": uic}, formdata=None) if elsewhere else None
    return render_template("clients/correct.html", client=client, form=form, duplicates=duplicates,
                           elsewhere=elsewhere, matched=bool(mine or elsewhere), request_form=request_form)


def _current_details(client: Client) -> dict[str, Any]:
    return {
        "uic": client.uic, "uic_declined": client.uic_declined, "alias": client.alias, "phone": client.phone,
        "birth_year": client.birth_year, "residence": client.residence, "sex_gender": client.sex_gender,
        "age_band": client.age_band, "outreach_source": client.outreach_source,
        "contact_preference": client.contact_preference,
    }


@bp.route("/<client_id>/erase", methods=["GET", "POST"])
@allow("collaborator")
def erase(client_id: str) -> Response | str:
    client = _load(client_id)
    form = forms.EraseForm()
    if form.validate_on_submit():
        typed = "".join(form.display_code.data.split()).upper()
        if typed != client.display_code:
            form.display_code.errors.append(_l("This is not the client's display code. Nothing was erased."))
        else:
            db = db_session()
            services.erase_client(db, client.id, actor=_actor(), reason="client_request")
            db.commit()
            services.compact_after_erasure(runtime().database.engine)
            flash(_("The record was erased. Only an audit entry without any client data remains."), "info")
            return redirect(url_for("clients.caseload"))
    return render_template("clients/erase.html", client=client, form=form)


# --- correcting notes, follow-ups and assessment notes ------------------------------------------------------


def _corrected(client: Client, changed: int) -> Response:
    flash(_("%(n)d field(s) corrected.", n=changed) if changed else _("Nothing was changed."), "info")
    return redirect(url_for("clients.view", client_id=client.id))


@bp.route("/<client_id>/notes/<note_id>/correct", methods=["GET", "POST"])
@allow("collaborator")
def note_correct(client_id: str, note_id: str) -> Response | str:
    client = _load(client_id)
    note = _child(CaseNote, client, note_id)
    db = db_session()
    form = forms.NoteForm(data=None if forms.is_post() else {"body": note.body})
    if form.validate_on_submit():
        changed = services.correct_note(db, _actor(), client, note, form.body.data)
        db.commit()
        return _corrected(client, len(changed))
    return _render_entry(client, form, _("Correct a case note"), "note_correct_form", ("body",))


@bp.route("/<client_id>/follow-ups/<follow_up_id>/correct", methods=["GET", "POST"])
@allow("collaborator")
def follow_up_correct(client_id: str, follow_up_id: str) -> Response | str:
    client = _load(client_id)
    follow_up = _child(FollowUp, client, follow_up_id)
    db = db_session()
    current = {"due_on": follow_up.due_on, "description": follow_up.description}
    form = forms.FollowUpForm(data=None if forms.is_post() else current)
    if form.validate_on_submit():
        changed = services.correct_follow_up(db, _actor(), client, follow_up, due_on=form.due_on.data,
                                             description=form.description.data)
        db.commit()
        return _corrected(client, len(changed))
    return _render_entry(client, form, _("Correct a follow-up"), "follow_up_correct_form",
                         ("due_on", "description"))


@bp.route("/<client_id>/assessment/notes", methods=["GET", "POST"])
@allow("collaborator")
def assessment_correct(client_id: str) -> Response | str:
    """The need notes of the latest assessment; earlier assessments stay as history."""
    client = _load(client_id)
    db = db_session()
    latest: Assessment | None = services.latest_assessment(db, client.id)
    if latest is None:
        abort(404)
    domains = [need.domain for need in latest.needs]
    form = forms.need_notes_form(domains, None if forms.is_post() else
                                 {f"note_{need.domain}": need.note for need in latest.needs})
    if form.validate_on_submit():
        try:
            changed = services.correct_need_notes(db, _actor(), client, latest,
                                                  {code: form[f"note_{code}"].data for code in domains})
        except services.ClientError as exc:
            return _refused(exc, client)
        db.commit()
        return _corrected(client, changed)
    return _render_entry(client, form, _("Correct the notes of the latest assessment"), "assessment_correct_form",
                         tuple(f"note_{code}" for code in domains))


def _render_entry(client: Client, form: Any, title: str, page: str, fields: tuple[str, ...]) -> str:
    """One correction form; opening it is a read of the record, so it is audited."""
    db = db_session()
    if not forms.is_post():
        services.record_view(db, _actor(), client, page)
    html = render_template("clients/correct_entry.html", client=client, form=form, title=title,
                           fields=[form[name] for name in fields])
    db.commit()
    return html


# --- co-assignments ----------------------------------------------------------------------------------------


@bp.route("/<client_id>/co-assignees/<user_id>/remove", methods=["POST"])
@allow("collaborator")
def coassignee_remove(client_id: str, user_id: str) -> Response:
    """The owner ends a co-assignment. A co-assigned collaborator already knows the record: 403."""
    client = _load(client_id)
    if not can_remove_coassignment(current_user, client):
        abort(403)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    db = db_session()
    try:
        services.remove_coassignment(db, _actor(), client, user_id)
    except services.ClientError:
        abort(404)
    db.commit()
    flash(_("The collaborator is no longer co-assigned."), "success")
    return redirect(url_for("clients.view", client_id=client.id))
