"""The supervisor's screens: the indicator dashboard, exports, the printable report, submitting
and reading submitted reports. Supervisors only; nothing here names or shows a client.

The figures are counted in a read-only snapshot (``Database.snapshot``) that holds up no writer;
the audit row of the view or export is then written and committed in a short transaction of its
own, before anything is rendered or streamed.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from casework import clock
from casework.policy import allow
from casework.reports import charts, exports, services
from casework.reports import definitions as d
from casework.reports.definitions import Period, PeriodError
from casework.reports.forms import RefreshForm, ReportQueryForm, SubmitForm
from casework.reports.models import SubmittedReport
from casework.reports.suppression import PROFILES, Profile
from casework.runtime import db_session, runtime

# Reads happen in read-only snapshots (``Database.snapshot``); the request's own session is used
# last, for the audit row, so that no write lock is held while figures are counted or protected.
bp = Blueprint("reports", __name__, url_prefix="/reports")

PER_PAGE = 20
REFUSALS = {"reason_required": _l("This period was submitted before: say why it is submitted again.")}


def _report_settings() -> services.ReportSettings:
    settings = runtime().settings
    return services.ReportSettings(zone=ZoneInfo(settings.timezone), target_percent=settings.indicator_target_percent,
                                   max_age_minutes=settings.report_max_age_minutes)


def _actor() -> Any:
    return current_user._get_current_object()


# --- choosing a period --------------------------------------------------------------------------------


def _period_choices(today: date, first_year: int) -> list[SelectChoice]:
    """Choices grouped by year, newest first: the year so far, the year, its quarters and months."""
    choices = []
    for year in range(today.year, first_year - 1, -1):
        periods = ([Period("ytd", year)] if year == today.year else []) + [
            p for p in d.family_periods(year) if p.start <= today]
        choices += [SelectChoice(p.key, p.label(), optgroup=str(year)) for p in periods]
    return choices


def _first_year(today: date) -> int:
    from casework.clients.models import Client

    with runtime().database.snapshot() as snapshot:
        first = snapshot.scalar(select(func.min(Client.registered_at)))
    return max(min(first.year if first else today.year, today.year), today.year - 9)


def _selection() -> tuple[ReportQueryForm, Period, Profile]:
    """The period and profile asked for, or the year so far (official) when none or a bad one was asked."""
    today = clock.local_today()
    args = request.args.copy()
    args.setdefault("profile", "official")  # a link naming only the period shows the official profile
    form = ReportQueryForm(args)
    form.period.choices = _period_choices(today, _first_year(today))
    default = Period("ytd", today.year)
    if not request.args:
        form.period.data, form.profile.data = default.key, "official"
        return form, default, PROFILES["official"]
    valid = form.validate()
    try:
        period = Period.parse(form.period.data or "")
    except PeriodError:
        valid = False
    if not valid or period.start > today:
        if not form.period.errors:
            form.period.errors = [_("Choose one of the periods in the list.")]
        form.period.data = default.key
        return form, default, PROFILES.get(form.profile.data or "", PROFILES["official"])
    return form, period, PROFILES[form.profile.data]


def _compute(period: Period, profile: Profile, *, refresh: bool = False) -> tuple[dict[str, Any], services.Family]:
    # End the request's own transaction first (signing in may have opened one): on SQLite it holds
    # the write lock, which storing a new count needs, and nothing should hold it while counting.
    db_session().commit()
    family = services.current_family(runtime().database, period.year, settings=_report_settings(),
                                     today=clock.local_today(), now=clock.utcnow(), refresh=refresh)
    return services.publish(family, period, profile, settings=_report_settings()), family


def _audited(action: str, **details: Any) -> None:
    db = db_session()
    services.audit(db, _actor(), action, **details)
    db.commit()


# --- the dashboard ------------------------------------------------------------------------------------


@bp.route("/")
@allow("supervisor")
def index() -> str:
    form, period, profile = _selection()
    payload, family = _compute(period, profile)
    _audited("report.viewed", period=period.key, profile=profile.name)
    return render_template("reports/dashboard.html", form=form, payload=payload, period=period, profile=profile,
                           quality=family.quality, refresh_form=RefreshForm(data={"period": period.key,
                                                                                   "profile": profile.name}),
                           **_page_context(payload))


@bp.route("/refresh", methods=["POST"])
@allow("supervisor")
def refresh() -> WerkzeugResponse:
    """Count the year again now, instead of showing the computation of a few minutes ago."""
    form = RefreshForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        period = Period.parse(form.period.data or "")
    except PeriodError:
        abort(400)
    profile = PROFILES.get(form.profile.data or "", PROFILES["official"])
    if period.start > clock.local_today():
        abort(400)
    _compute(period, profile, refresh=True)
    _audited("report.refreshed", period=period.key)
    return redirect(url_for("reports.index", period=period.key, profile=profile.name))


def _page_context(payload: dict[str, Any]) -> dict[str, Any]:
    groups = tuple(d.SUPPORT_GROUPS)
    return {
        "d": d,
        "progress": charts.progress_chart(payload["progress"], payload["target_percent"]),
        "completed": charts.completed_chart(payload["completed_by_group"], groups),
        "groups": groups,
        "profile_of": PROFILES[payload["profile"]],
        "formats": exports.FORMATS,
    }


# --- exports -----------------------------------------------------------------------------------------


@bp.route("/export/<fmt>")
@allow("supervisor")
def export(fmt: str) -> WerkzeugResponse:
    if fmt not in exports.FORMATS:
        abort(404)
    form, period, profile = _selection()
    if form.period.errors:
        flash(str(form.period.errors[0]), "error")
        return redirect(url_for("reports.index"))
    payload, _family = _compute(period, profile)
    _audited("report.exported", period=period.key, profile=profile.name, format=fmt)
    return _download(payload, exports.FORMATS[fmt])


def _download(payload: dict[str, Any], fmt: exports.Format) -> WerkzeugResponse:
    settings = runtime().settings
    mapping = exports.load_mapping(settings.dhis2_mapping or None)
    if fmt.name in ("dhis2", "adx") and next(exports.data_values(payload, mapping), None) is None:
        flash(_("Every figure of this report is hidden in this profile: there is nothing to send to DHIS2."),
              "error")
        return redirect(url_for("reports.index", period=payload["period"]["key"], profile=payload["profile"]))
    body = exports.write(payload, fmt.name, mapping=mapping, org_unit=settings.dhis2_org_unit)
    response = Response(stream_with_context(body), mimetype=fmt.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{exports.filename(payload, fmt)}"'
    return response


# --- the printable report -------------------------------------------------------------------------------


@bp.route("/print")
@allow("supervisor")
def print_report() -> str:
    _form, period, profile = _selection()
    payload, _family = _compute(period, profile)
    _audited("report.printed", period=period.key, profile=profile.name)
    return _printed(payload, submitted=None)


def _printed(payload: dict[str, Any], submitted: SubmittedReport | None) -> str:
    settings = runtime().settings
    signed_on = (services.submitted_at_local(submitted, ZoneInfo(settings.timezone)).date() if submitted
                 else clock.local_today())
    return render_template("reports/print.html", payload=payload, period=Period.parse(payload["period"]["key"]),
                           settings=settings, submitted=submitted, signed_on=signed_on, **_page_context(payload))


# --- submitting ------------------------------------------------------------------------------------------


@bp.route("/submit", methods=["GET", "POST"])
@allow("supervisor")
def submit() -> WerkzeugResponse | str:
    form = SubmitForm()
    if request.method == "GET":
        _query, period, profile = _selection()
        form.period.data, form.profile.data = period.key, profile.name
    else:
        try:
            period = Period.parse(form.period.data or "")
        except PeriodError:
            abort(400)
        profile = PROFILES.get(form.profile.data or "")
        if profile is None or period.start > clock.local_today():
            abort(400)
    payload, _family = _compute(period, profile)
    earlier = _versions(payload)
    seen, form.figures.data = form.figures.data, services.sha256(services.canonical_payload(payload))
    if request.method == "POST" and form.validate_on_submit() and seen != form.figures.data:
        flash(_("The figures changed while you were looking at them. Check them again, then submit."), "error")
    elif request.method == "POST" and form.validate_on_submit():
        db = db_session()
        try:
            report = services.submit(db, _actor(), payload, reason=form.reason.data)
        except services.SubmissionRefused as refused:
            db.rollback()
            form.reason.errors = [str(REFUSALS[refused.code])]
        else:
            db.commit()
            flash(_("The report was submitted and frozen as version %(v)d.", v=report.version), "success")
            return redirect(url_for("reports.submitted_one", report_id=report.id))
    return render_template("reports/submit.html", form=form, payload=payload, period=period, profile=profile,
                           earlier=earlier, **_page_context(payload))


def _versions(payload: dict[str, Any]) -> list[SubmittedReport]:
    with runtime().database.snapshot() as snapshot:
        found = list(snapshot.scalars(
            select(SubmittedReport).where(SubmittedReport.period == payload["period"]["code"],
                                          SubmittedReport.profile == payload["profile"])
            .order_by(SubmittedReport.version.desc())))
        snapshot.expunge_all()
    return found


@bp.route("/submitted")
@allow("supervisor")
def submitted() -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = services.submitted_list(db_session(), page=page, per_page=PER_PAGE)
    return render_template("reports/submitted.html", rows=rows, page=page, total=total,
                           has_next=page * PER_PAGE < total, zone=ZoneInfo(runtime().settings.timezone))


def _submitted_or_404(report_id: str) -> SubmittedReport:
    report = db_session().get(SubmittedReport, report_id)
    if report is None:
        abort(404)
    return report


@bp.route("/submitted/<report_id>")
@allow("supervisor")
def submitted_one(report_id: str) -> str:
    report = _submitted_or_404(report_id)
    payload = services.frozen_payload(report)
    _audited("report.submitted_viewed", report_id=report.id, period=report.period, profile=report.profile,
             version=report.version)
    return render_template("reports/frozen.html", report=report, payload=payload,
                           period=Period.parse(payload["period"]["key"]),
                           intact=services.check_submitted(db_session(), report) is None,
                           zone=ZoneInfo(runtime().settings.timezone), **_page_context(payload))


@bp.route("/submitted/<report_id>/export/<fmt>")
@allow("supervisor")
def submitted_export(report_id: str, fmt: str) -> WerkzeugResponse:
    if fmt not in exports.FORMATS:
        abort(404)
    report = _submitted_or_404(report_id)
    _audited("report.submitted_exported", report_id=report.id, period=report.period, profile=report.profile,
             version=report.version, format=fmt)
    return _download(services.frozen_payload(report), exports.FORMATS[fmt])


@bp.route("/submitted/<report_id>/print")
@allow("supervisor")
def submitted_print(report_id: str) -> str:
    report = _submitted_or_404(report_id)
    _audited("report.submitted_printed", report_id=report.id, period=report.period, profile=report.profile,
             version=report.version)
    return _printed(services.frozen_payload(report), submitted=report)
