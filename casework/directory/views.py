"""Directory screens: browse (admin and collaborators), manage (admin), HSDS import/export (admin)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from casework import vocab
from casework.audit import record
from casework.directory import hsds, services
from casework.directory.forms import SERVICE_STATUSES, ImportForm, LocationForm, OrganisationForm, ServiceForm
from casework.directory.models import Location, Organisation, Service
from casework.policy import allow
from casework.runtime import db_session

bp = Blueprint("directory", __name__, url_prefix="/directory")

ENTITIES = {
    "organization": _l("organisation"),
    "service": _l("service"),
    "location": _l("location"),
    "phone": _l("phone"),
    "attribute": _l("attribute"),
    "address": _l("address"),
    "schedule": _l("schedule"),
    "service_at_location": _l("service location link"),
}
PROBLEMS = {
    "missing": _l("%(where)s: the field “%(field)s” is missing."),
    "invalid": _l("%(where)s: the field “%(field)s” has a value that is not allowed."),
    "unknown_code": _l("%(where)s: “%(field)s” is missing or is not one of casework's codes."),
    "duplicate_id": _l("%(where)s: this id is used more than once in the file."),
    "unknown_location": _l("%(where)s: it refers to a location that is not in the same organisation."),
}
ORG_FIELDS = ("name", "alternate_name", "kind", "description", "phone", "email", "website", "active")
LOCATION_FIELDS = ("name", "address_1", "address_locality", "address_region", "description")
SERVICE_FIELDS = ("name", "need_domain", "description", "eligibility_description", "opening_hours", "phone",
                  "email", "is_free", "no_id_needed", "confidential", "accept_within_days",
                  "complete_within_days", "status")


def _is_admin() -> bool:
    return current_user.role == "admin"


# --- browsing ------------------------------------------------------------------------------


@bp.route("/")
@allow("admin", "collaborator")
def index() -> str:
    db = db_session()
    need = request.args.get("need")
    need = need if need in vocab.NEED_DOMAINS else None
    query = select(Organisation).order_by(Organisation.name)
    if not _is_admin():
        query = query.where(Organisation.active.is_(True))
    organisations = db.scalars(query).unique().all()
    return render_template("directory/index.html", organisations=organisations, need=need,
                           admin=_is_admin(), statuses=SERVICE_STATUSES)


@bp.route("/services/<service_id>")
@allow("admin", "collaborator")
def service(service_id: str) -> str:
    db = db_session()
    item = db.get(Service, service_id)
    if item is None or (not _is_admin() and (item.status != "active" or not item.organisation.active)):
        abort(404)
    return render_template("directory/service.html", service=item, admin=_is_admin(), statuses=SERVICE_STATUSES)


# --- organisations ---------------------------------------------------------------------------


@bp.route("/organisations/new", methods=["GET", "POST"])
@allow("admin")
def new_organisation() -> WerkzeugResponse | str:
    return _organisation_form(None)


@bp.route("/organisations/<organisation_id>/edit", methods=["GET", "POST"])
@allow("admin")
def edit_organisation(organisation_id: str) -> WerkzeugResponse | str:
    org = db_session().get(Organisation, organisation_id)
    if org is None:
        abort(404)
    return _organisation_form(org)


def _organisation_form(org: Organisation | None) -> WerkzeugResponse | str:
    db = db_session()
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        saved = services.save_organisation(db, current_user, org, {f: form[f].data for f in ORG_FIELDS})
        db.commit()
        flash(_("The organisation is saved."), "success")
        return redirect(url_for("directory.index") + f"#org-{saved.id}")
    return render_template("directory/organisation_form.html", form=form, organisation=org)


# --- locations ----------------------------------------------------------------------------------


@bp.route("/organisations/<organisation_id>/locations/new", methods=["GET", "POST"])
@allow("admin")
def new_location(organisation_id: str) -> WerkzeugResponse | str:
    org = db_session().get(Organisation, organisation_id)
    if org is None:
        abort(404)
    return _location_form(org, None)


@bp.route("/locations/<location_id>/edit", methods=["GET", "POST"])
@allow("admin")
def edit_location(location_id: str) -> WerkzeugResponse | str:
    loc = db_session().get(Location, location_id)
    if loc is None:
        abort(404)
    return _location_form(loc.organisation, loc)


def _location_form(org: Organisation, loc: Location | None) -> WerkzeugResponse | str:
    db = db_session()
    form = LocationForm(obj=loc)
    if form.validate_on_submit():
        services.save_location(db, current_user, org.id, loc, {f: form[f].data for f in LOCATION_FIELDS})
        db.commit()
        flash(_("The location is saved."), "success")
        return redirect(url_for("directory.index") + f"#org-{org.id}")
    return render_template("directory/location_form.html", form=form, organisation=org, location=loc)


# --- services -----------------------------------------------------------------------------------


@bp.route("/organisations/<organisation_id>/services/new", methods=["GET", "POST"])
@allow("admin")
def new_service(organisation_id: str) -> WerkzeugResponse | str:
    org = db_session().get(Organisation, organisation_id)
    if org is None:
        abort(404)
    return _service_form(org, None)


@bp.route("/services/<service_id>/edit", methods=["GET", "POST"])
@allow("admin")
def edit_service(service_id: str) -> WerkzeugResponse | str:
    item = db_session().get(Service, service_id)
    if item is None:
        abort(404)
    return _service_form(item.organisation, item)


def _service_form(org: Organisation, item: Service | None) -> WerkzeugResponse | str:
    db = db_session()
    form = ServiceForm(obj=item)
    form.location_id.choices = [SelectChoice("", _("— not set —")),
                                *[SelectChoice(loc.id, loc.name) for loc in org.locations]]
    if request.method == "GET" and item is not None:
        form.location_id.data = item.locations[0].id if item.locations else ""
    if form.validate_on_submit():
        saved = services.save_service(db, current_user, org.id, item, {f: form[f].data for f in SERVICE_FIELDS},
                                      form.location_id.data or None)
        db.commit()
        flash(_("The service is saved."), "success")
        return redirect(url_for("directory.service", service_id=saved.id))
    return render_template("directory/service_form.html", form=form, organisation=org, service=item)


# --- HSDS ---------------------------------------------------------------------------------------


@bp.route("/export.json")
@allow("admin")
def export() -> Response:
    db = db_session()
    body = hsds.export_json(db)
    record(db, "directory.exported", actor_id=current_user.id, actor_role=current_user.role,
           object_type="directory")
    db.commit()
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="directory-hsds-3.0.json"'})


@bp.route("/import", methods=["GET", "POST"])
@allow("admin")
def import_() -> WerkzeugResponse | tuple[str, int] | str:
    db = db_session()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("directory/import.html", form=form, problems=[])
    document, problems = hsds.parse(form.file.data.read())
    problems = problems or hsds.validate(document)
    if problems:
        messages = [_problem_message(p) for p in problems]
        return render_template("directory/import.html", form=form, problems=messages), 400
    counts = services.import_document(db, current_user, document)
    db.commit()
    flash(_("Imported %(o)d organisations, %(l)d locations and %(s)d services.", o=counts["organizations"],
            l=counts["locations"], s=counts["services"]), "success")
    return redirect(url_for("directory.index"))


def _problem_message(problem: hsds.Problem) -> str:
    if problem.kind == "not_json":
        return _("The file is not a JSON file (or not in UTF-8). Nothing was imported.")
    parts = []
    for entity, number, name in problem.where:
        label = _("%(entity)s %(n)d", entity=ENTITIES.get(entity, entity), n=number)
        parts.append(f"{label} “{name}”" if name else label)
    where = " › ".join(parts) or _("The file")
    return str(PROBLEMS[problem.kind]) % {"where": where, "field": problem.field or ""}
