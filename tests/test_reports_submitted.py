"""Submitting a report freezes it: later records, corrections and erasure never change it, a
new submission is a new version with a reason, and `casework report verify` proves the
figures are the ones submitted."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from casework.cli import cli
from casework.reports import services
from casework.reports.models import SubmittedReport

SUBMITTED_URL = re.compile(r"/reports/submitted/([0-9a-f-]{36})$")
FIGURES = re.compile(r'name="figures" type="hidden" value="([0-9a-f]{64})"')


@pytest.fixture
def supervisor(story, signed_in):
    browser, _account = signed_in("supervisor")
    return browser


def submit(browser, period: str, profile: str = "official", reason: str = ""):
    browser.get(f"/reports/submit?period={period}&profile={profile}")
    seen = FIGURES.search(browser.last_html).group(1)
    return browser.post("/reports/submit", {"period": period, "profile": profile, "figures": seen,
                                            "reason": reason, "confirm": "y"})


def count_again(browser, period: str = "2025") -> None:
    """Press "Count again now" on the dashboard: reports show a computation for a few minutes."""
    browser.get(f"/reports/?period={period}&profile=official")
    assert browser.post("/reports/refresh", {"period": period, "profile": "official"}).status_code == 302


def submitted_id(response) -> str:
    assert response.status_code == 302, response.status_code
    return SUBMITTED_URL.search(response.headers["Location"]).group(1)


def frozen(database, report_id: str) -> SubmittedReport:
    with database.snapshot() as session:
        report = session.get(SubmittedReport, report_id)
        session.expunge(report)
        return report


def run(settings, *args: str):
    env = {"CASEWORK_MODE": settings.mode, "CASEWORK_INSTANCE_PATH": str(settings.instance_path),
           "CASEWORK_KEYS_DIR": str(settings.keys_dir), "CASEWORK_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_a_submitted_report_is_frozen_with_its_hash_and_listed(supervisor, database):
    report_id = submitted_id(submit(supervisor, "2025"))
    report = frozen(database, report_id)
    payload = json.loads(report.payload)
    assert (report.period, report.profile, report.version, report.definition_version) == ("2025", "official", 1, 1)
    assert payload["headline"]["D"] == 13 and payload["headline"]["N"] == 3
    assert services.sha256(report.payload) == report.payload_sha256
    page = supervisor.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    assert report.payload_sha256 in page and 'data-figure="headline/D">13<' in page and 'data-intact="yes"' in page
    assert report_id in supervisor.get("/reports/submitted").get_data(as_text=True)


def test_new_records_and_erasure_never_change_a_submitted_report(supervisor, database, story, ward):
    report_id = submitted_id(submit(supervisor, "2025"))
    before = frozen(database, report_id)
    # When a late assessment for 2025 is recorded and a supported client (l) is erased
    ward.assess(story["g"], date(2025, 12, 15), needs={"legal_aid": "some"})
    ward.erase(story["l"], date(2026, 2, 1))
    ward.on(datetime(2026, 2, 1, 12, 5))  # a few minutes later
    # Then the live report, counted again, has changed
    count_again(supervisor)
    live = supervisor.client.get("/reports/export/json?period=2025&profile=official").get_json()
    assert (live["headline"]["D"], live["headline"]["N"]) == (13, 2)
    # but the submitted one, in every format, has not
    after = frozen(database, report_id)
    assert (after.payload, after.payload_sha256) == (before.payload, before.payload_sha256)
    exported = supervisor.client.get(f"/reports/submitted/{report_id}/export/json").get_json()
    assert (exported["headline"]["D"], exported["headline"]["N"]) == (13, 3)
    dhis2 = supervisor.client.get(f"/reports/submitted/{report_id}/export/dhis2").get_json()
    assert {"dataElement": "CW_IND_N", "value": "3"} in dhis2["dataValues"]


def test_submitting_again_makes_a_new_version_and_needs_a_reason(supervisor, database):
    first = submitted_id(submit(supervisor, "2025Q1"))
    # Without a reason: the form comes back with a message, nothing is saved
    response = submit(supervisor, "2025Q1")
    assert response.status_code == 200
    assert "submitted again" in supervisor.last_html or "nộp lại" in supervisor.last_html
    second = submitted_id(submit(supervisor, "2025Q1", reason="Late records of March entered"))
    with database.snapshot() as session:
        versions = session.execute(select(SubmittedReport.id, SubmittedReport.version,
                                          SubmittedReport.resubmission_reason)
                                   .where(SubmittedReport.period == "2025Q1")
                                   .order_by(SubmittedReport.version)).all()
    assert [(v.id, v.version, v.resubmission_reason) for v in versions] == [
        (first, 1, None), (second, 2, "Late records of March entered")]


def test_figures_that_changed_since_the_page_was_opened_are_not_submitted(supervisor, database, story, ward,
                                                                          new_browser, signed_in):
    supervisor.get("/reports/submit?period=2025&profile=official")
    seen = FIGURES.search(supervisor.last_html).group(1)
    # When a record changes and someone counts the year again before the form is sent
    ward.assess(story["g"], date(2025, 12, 15), needs={"legal_aid": "some"})  # D of 2025 grows
    ward.on(datetime(2026, 2, 1, 12, 5))
    count_again(supervisor)
    supervisor.get("/reports/submit?period=2025&profile=official")
    response = supervisor.post("/reports/submit", {"period": "2025", "profile": "official", "figures": seen,
                                                   "confirm": "y"})
    # Then the form comes back with the new figures, and nothing was submitted
    assert response.status_code == 200
    assert FIGURES.search(supervisor.last_html).group(1) != seen
    with database.snapshot() as session:
        assert session.scalar(select(SubmittedReport.id)) is None


def test_a_count_is_shown_for_a_few_minutes_then_counted_again(supervisor, story, ward, clock):
    first = supervisor.client.get("/reports/export/json?period=2025").get_json()
    ward.assess(story["g"], date(2025, 12, 15), needs={"legal_aid": "some"})
    ward.on(datetime(2026, 2, 1, 12, 1))
    again = supervisor.client.get("/reports/export/json?period=2025").get_json()
    assert again["computed_at"] == first["computed_at"] and again["headline"]["D"] == 13
    clock.advance(minutes=11)
    later = supervisor.client.get("/reports/export/json?period=2025").get_json()
    assert later["computed_at"] != first["computed_at"] and later["headline"]["D"] == 14


def rewrite(database, statement: str, params: dict) -> None:
    """What someone with the database owner's rights can do: switch the guard off, change a row."""
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE submitted_reports DISABLE TRIGGER submitted_reports_no_change"))
            conn.execute(text(statement), params)
            conn.execute(text("ALTER TABLE submitted_reports ENABLE TRIGGER submitted_reports_no_change"))
        else:
            conn.execute(text("DROP TRIGGER submitted_reports_no_update"))
            conn.execute(text(statement), params)
            conn.execute(text("CREATE TRIGGER submitted_reports_no_update BEFORE UPDATE ON submitted_reports "
                              "BEGIN SELECT RAISE(ABORT, 'submitted_reports are frozen'); END"))


def test_report_verify_proves_the_figures_and_catches_a_rewrite(supervisor, database, settings):
    report_id = submitted_id(submit(supervisor, "2025"))
    result = run(settings, "report", "verify")
    assert result.exit_code == 0 and "OK: 1 submitted report(s) verified" in result.output
    # When someone with database rights drops the guard and rewrites the figures and the hash together
    report = frozen(database, report_id)
    payload = json.loads(report.payload)
    payload["headline"]["N"] = 12
    forged = services.canonical_payload(payload)
    rewrite(database, "UPDATE submitted_reports SET payload = :p, payload_sha256 = :h WHERE id = :i",
            {"p": forged, "h": services.sha256(forged), "i": report_id})
    # Then verify names it: the hash no longer matches the one the audit chain recorded
    result = run(settings, "report", "verify")
    assert result.exit_code == 1
    assert f"BROKEN 2025 official v1 ({report_id})" in result.output and "audit log" in result.output
    # and the page says the figures do not match, although figures and stored hash agree
    assert 'data-intact="no"' in supervisor.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    # A payload changed without its hash is caught as well
    rewrite(database, "UPDATE submitted_reports SET payload_sha256 = :h WHERE id = :i", {"h": "0" * 64, "i": report_id})
    result = run(settings, "report", "verify")
    assert result.exit_code == 1 and "payload does not match its SHA-256" in result.output


@pytest.mark.parametrize("statement", ["UPDATE submitted_reports SET profile = 'public'",
                                       "DELETE FROM submitted_reports"])
def test_the_database_refuses_to_change_or_delete_a_submitted_report(supervisor, database, statement):
    submitted_id(submit(supervisor, "2025"))
    with pytest.raises(DBAPIError, match="frozen"), database.engine.begin() as conn:
        conn.execute(text(statement))


def test_a_submitted_report_that_does_not_exist_is_not_found(supervisor):
    assert supervisor.get("/reports/submitted/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_cli_report_matches_the_screen(supervisor, settings, story):
    # The same numbers and the same hidden figures as the JSON the screen exports
    result = run(settings, "report", "indicator", "--period", "2025Q1", "--format", "json")
    assert result.exit_code == 0
    from_cli = json.loads(result.output)
    from_screen = supervisor.client.get("/reports/export/json?period=2025Q1&profile=official").get_json()
    assert from_cli["tables"] == from_screen["tables"] and from_cli["headline"] == from_screen["headline"]
    result = run(settings, "report", "indicator", "--period", "2031", "--format", "csv")
    assert result.exit_code == 2 and "has not begun" in result.output
