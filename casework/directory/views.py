"""Directory screens: browse (admin and collaborators), manage (admin), HSDS import/export (admin)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from casework import vocab
from casework.audit import AuditEvent, record
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
    "unknown_code": _l("%(where)s: “%(field)s” is not one of casework's codes."),
    "duplicate_id": _l("%(where)s: this id is used more than once in the file."),
    "unknown_location": _l("%(where)s: it refers to a location that is not in the same organisation."),
    "unknown_property": _l("%(where)s: “%(field)s” is not a field of Open Referral HSDS 3.0. casework refuses a "
                           "file with fields it cannot recognise: remove it, or correct its spelling."),
    "belongs_elsewhere": _l("%(where)s: casework already has this id under another organisation. An import "
                            "never moves a service or location between organisations: change it in the "
                            "directory, or give it a new id."),
    "no_need_domain": _l("%(where)s: the file does not say which of casework's needs this service answers. "
                         "Choose a need for such services below and import again."),
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
        report = _import_report(db, request.args.get("report", "")) if request.method == "GET" else None
        return render_template("directory/import.html", form=form, problems=[], report=report)
    document, problems = hsds.parse(form.file.data.read())
    plan = None
    if not problems:
        plan, problems = hsds.read(document, default_need_domain=form.need_domain.data or None, session=db)
    if problems or plan is None:
        messages = [_problem_message(p) for p in problems]
        return render_template("directory/import.html", form=form, problems=messages, report=None), 400
    services.import_document(db, current_user, plan)
    db.commit()  # the import's audit row, which holds its report, is written as it commits
    event_id = db.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.action == "directory.imported",
                                                               AuditEvent.actor_id == current_user.id))
    db.rollback()
    return redirect(url_for("directory.import_", report=event_id))


def _import_report(db: Session, raw: str) -> dict[str, Any] | None:
    """The report of one of this admin's own imports, read back from its audit entry."""
    if not re.fullmatch(r"[0-9]{1,15}", raw):
        return None
    event = db.get(AuditEvent, int(raw))
    if event is None or event.action != "directory.imported" or event.actor_id != current_user.id:
        return None
    details = json.loads(event.details)
    groups: dict[str, list[tuple[str, int]]] = {}
    for path, count in zip(details.get("not_kept", []), details.get("not_kept_counts", []), strict=False):
        parent, _dot, name = path.rpartition(".")
        groups.setdefault(parent, []).append((name, count))
    need = details.get("default_need_domain")
    return {
        "counts": {k: details.get(k, 0) for k in ("organizations", "locations", "services")},
        "not_kept": sorted(groups.items()),
        "extra": list(zip(details.get("not_kept_extra", []), details.get("not_kept_extra_counts", []),
                          strict=False)),
        "services": [s for s in (db.get(Service, i) for i in details.get("services_to_check", [])) if s],
        "organisations": [o for o in (db.get(Organisation, i) for i in details.get("organisations_kind_other", []))
                          if o],
        "need": vocab.NEED_DOMAINS[need][0] if need in vocab.NEED_DOMAINS else None,
    }


def _problem_message(problem: hsds.Problem) -> str:
    if problem.kind == "not_json":
        return _("The file is not a JSON file (or not in UTF-8). Nothing was imported.")
    if problem.kind == "nul_character":
        return _("The file contains a NUL character (code 0), which no directory text can hold. Nothing was "
                 "imported.")
    if problem.kind == "not_hsds":
        return _("The file is JSON, but not an Open Referral HSDS 3.0 organisation or service, nor a list of "
                 "them. Nothing was imported.")
    parts = []
    for entity, number, name in problem.where:
        label = _("%(entity)s %(n)d", entity=ENTITIES.get(entity, entity), n=number)
        parts.append(f"{label} “{name}”" if name else label)
    where = " › ".join(parts) or _("The file")
    return str(PROBLEMS[problem.kind]) % {"where": where, "field": problem.field or ""}
