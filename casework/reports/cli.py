"""``casework report …``: the indicator report from a script, and checking submitted reports.

The same functions as the screens compute and protect the figures, so a report made here
hides exactly what the dashboard hides. An export made here is audited like one made on the
screen (actor "operator": whoever runs the command on the server).
"""

from __future__ import annotations

import sys
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask_babel import force_locale

from casework import clock
from casework.config import Settings
from casework.reports import exports, services
from casework.reports.definitions import Period, PeriodError
from casework.reports.suppression import PROFILES


def _app(settings: Settings) -> Any:
    from casework import create_app

    return create_app(settings)


def _report_settings(settings: Settings) -> services.ReportSettings:
    return services.ReportSettings(zone=ZoneInfo(settings.timezone), target_percent=settings.indicator_target_percent,
                                   max_age_minutes=settings.report_max_age_minutes)


def _period(_ctx: click.Context, _param: click.Parameter, value: str) -> Period:
    try:
        period = Period.parse(value)
    except PeriodError:
        raise click.BadParameter("use a year (2026), a quarter (2026Q1), a month (202601) or 2026YTD") from None
    if period.start > clock.local_today():
        raise click.BadParameter("that period has not begun yet")
    return period


@click.group()
def report() -> None:
    """Aggregate reports: the indicator, and checking submitted reports."""


@report.command("indicator")
@click.option("--period", "period", required=True, callback=_period,
              help="2026 (year), 2026Q1 (quarter), 202601 (month) or 2026YTD (year to date)")
@click.option("--format", "fmt", type=click.Choice(sorted(exports.FORMATS)), default="json", show_default=True)
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="official", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="write to this file (needed for xlsx; default: standard output)")
@click.pass_context
def indicator(ctx: click.Context, period: Period, fmt: str, profile: str, output: str | None) -> None:
    """Print the indicator report for one period, disclosure control applied."""
    settings: Settings = ctx.obj["settings"]
    if fmt == "xlsx" and not output:
        raise click.UsageError("an XLSX workbook is binary: give --output FILE")
    app = _app(settings)
    database = app.extensions["casework"].database
    payload = services.live_report(database, period, PROFILES[profile], settings=_report_settings(settings),
                                   today=clock.local_today(), now=clock.utcnow())
    with database.transaction() as session:
        from casework.audit import record

        record(session, "report.exported", actor_role="operator", object_type="report",
               details={"period": period.key, "profile": profile, "format": fmt, "via": "cli"})
    with app.app_context(), force_locale(settings.default_locale):
        body = exports.write(payload, fmt, mapping=exports.load_mapping(settings.dhis2_mapping or None),
                             org_unit=settings.dhis2_org_unit)
        _emit(body, output)
    database.dispose()


def _emit(body: Any, output: str | None) -> None:
    if output:
        with open(output, "wb") as handle:
            for piece in body:
                handle.write(piece if isinstance(piece, bytes) else piece.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)
        return
    for piece in body:
        sys.stdout.write(piece)
    sys.stdout.flush()


@report.command("refresh")
@click.option("--year", type=int, default=None, help="the year to count (default: this year)")
@click.pass_context
def refresh(ctx: click.Context, year: int | None) -> None:
    """Count a year's report figures again now (for cron on a large installation, so that
    supervisors never wait for the count)."""
    import time

    settings: Settings = ctx.obj["settings"]
    today = clock.local_today()
    year = year or today.year
    if not 2000 <= year <= today.year:
        raise click.BadParameter("a year from 2000 to this year", param_hint="--year")
    app = _app(settings)
    database = app.extensions["casework"].database
    started = time.perf_counter()
    family = services.current_family(database, year, settings=_report_settings(settings), today=today,
                                     now=clock.utcnow(), refresh=True)
    database.dispose()
    hidden = len(family.patterns.official)
    click.echo(f"counted {year} in {time.perf_counter() - started:.1f} s; {hidden} figures hidden in the official "
               f"profile; shown to supervisors for {settings.report_max_age_minutes} minutes")


@report.command("verify")
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Re-check every submitted report's SHA-256 (against its figures and the audit log); exit 1 on a mismatch."""
    settings: Settings = ctx.obj["settings"]
    app = _app(settings)
    database = app.extensions["casework"].database
    with database.snapshot() as session:
        checked, problems = services.verify_submitted(session)
    database.dispose()
    for problem in problems:
        click.echo(f"BROKEN {problem.period} {problem.profile} v{problem.version} ({problem.report_id}): "
                   f"{problem.reason}")
    if problems:
        sys.exit(1)
    click.echo(f"OK: {checked} submitted report(s) verified")
