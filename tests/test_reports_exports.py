"""Exports of the indicator report, as a supervisor downloads them: the same figures hidden on
the screen and in every format, DHIS2 and ADX in the structure those systems read, every
download audited, and memory that does not grow with the number of clients."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import tracemalloc
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xmlschema
from sqlalchemy import select
from test_reports_support import SETTINGS

from casework import clock as clock_module
from casework.audit import AuditEvent
from casework.reports import definitions as d
from casework.reports import exports, services
from casework.reports.definitions import Period
from casework.reports.suppression import OFFICIAL, PUBLIC

ADX_SCHEMA = Path(__file__).parent / "data" / "adx.xsd"
FIGURE = re.compile(r'data-figure="([^"]+)">(?:<span class="hidden-figure">)?([^<]*)<')


@pytest.fixture
def supervisor(story, signed_in):
    browser, _account = signed_in("supervisor")
    return browser


def download(browser, fmt: str, period: str, profile: str = "official"):
    response = browser.client.get(f"/reports/export/{fmt}?period={period}&profile={profile}")
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Disposition"] == f'attachment; filename="casework-{period}-{profile}.' \
        f'{exports.FORMATS[fmt].extension}"'
    return response


def payload_figures(payload: dict) -> dict[str, object]:
    """table/row/column -> value, for every figure the screen also shows."""
    found = {f"headline/{row}": payload["headline"][row] for row in d.HEADLINE_ROWS}
    for table, rows in payload["tables"].items():
        for entry in rows:
            for column, value in entry["values"].items():
                found[f"{table}/{entry['row']}/{column}"] = value
    return found


def screen_text(value: object) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


@pytest.mark.parametrize("profile", ["official", "public"])
def test_every_format_hides_exactly_what_the_screen_hides(supervisor, profile):
    # Given the first quarter of the story year, where many figures are small
    period = "2025Q1"
    page = supervisor.get(f"/reports/?period={period}&profile={profile}").get_data(as_text=True)
    on_screen = {name: html.unescape(text) for name, text in FIGURE.findall(page)}
    payload = json.loads(download(supervisor, "json", period, profile).get_data(as_text=True))
    figures = payload_figures(payload)
    # Then the screen shows every figure of the JSON export, with the same value or marker
    assert {name: screen_text(v) for name, v in figures.items()} == on_screen
    hidden = {name for name, v in figures.items() if isinstance(v, str)}
    assert hidden, "the story quarter must have hidden figures"
    # and the CSV carries the same values, line by line
    rows = list(csv.DictReader(io.StringIO(download(supervisor, "csv", period, profile).get_data(as_text=True)
                                           .lstrip("\ufeff"))))
    from_csv = {f"{r['table']}/{r['row']}/{r['column']}".replace("/value", ""): r["value"] for r in rows}
    for name, value in figures.items():
        assert from_csv[name] == str(value), name
    # and the workbook's sheets show the same markers where the screen does
    book = openpyxl.load_workbook(io.BytesIO(download(supervisor, "xlsx", period, profile).get_data()))
    markers_in_book = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row
                       if isinstance(c.value, str) and c.value in ("<5", "<10", "x")]
    assert len(markers_in_book) == sum(1 for v in figures.values() if isinstance(v, str))
    # and DHIS2 and ADX leave the hidden figures out and carry the shown ones
    dhis2 = json.loads(download(supervisor, "dhis2", period, profile).get_data(as_text=True))
    shown_headline = {row: v for row, v in payload["headline"].items()
                      if row in d.HEADLINE_ROWS and isinstance(v, int)}
    codes = exports.load_mapping(None)["headline"]
    sent = {item["dataElement"]: int(item["value"]) for item in dhis2["dataValues"]
            if "categoryOptionCombo" not in item}
    assert {row: sent[codes[row]] for row in shown_headline} == shown_headline
    assert not {codes[row] for row, v in payload["headline"].items() if row in codes and isinstance(v, str)} & set(sent)


def test_dhis2_export_has_the_documented_structure_and_period_codes(supervisor):
    for period, code in (("2025", "2025"), ("2025Q3", "2025Q3"), ("202507", "202507")):
        document = json.loads(download(supervisor, "dhis2", period).get_data(as_text=True))
        assert set(document) == {"dataSet", "period", "orgUnit", "completeDate", "dataValues"}
        assert document["period"] == code and document["dataSet"] == "CW_HRS_IND"
        assert document["orgUnit"] == "TAN_HUNG_WARD"
        assert date.fromisoformat(document["completeDate"]) == date(2026, 2, 1)
        assert document["dataValues"], period
        for item in document["dataValues"]:
            assert set(item) <= {"dataElement", "categoryOptionCombo", "value"}
            assert isinstance(item["dataElement"], str) and re.fullmatch(r"CW_[A-Z0-9_]+", item["dataElement"])
            assert isinstance(item["value"], str) and item["value"].isdigit()
            if "categoryOptionCombo" in item:
                assert re.fullmatch(r"CW_[A-Z0-9_]+", item["categoryOptionCombo"])


def test_adx_export_is_valid_adx_with_iso_periods(supervisor):
    schema = xmlschema.XMLSchema(str(ADX_SCHEMA))
    for period, adx_period in (("2025", "2025-01-01/P1Y"), ("2025Q2", "2025-04-01/P3M"), ("202511", "2025-11-01/P1M")):
        text = download(supervisor, "adx", period).get_data(as_text=True)
        schema.validate(text)
        # casework's own export, just validated against the schema above
        group = ElementTree.fromstring(text).find("adx:group", {"adx": exports.ADX_NAMESPACE})  # noqa: S314
        assert group.get("period") == adx_period and group.get("dataSet") == "CW_HRS_IND"
        assert group.get("completed") == "true" and group.get("orgUnit") == "TAN_HUNG_WARD"
        by_age = [v for v in group if v.get("dataElement") == "CW_IND_D_AGE"]
        assert by_age and all(v.get("CW_AGE") in ("LT18", "Y18_24", "Y25_34", "Y35_49", "Y50P", "UNKNOWN")
                              for v in by_age)


def test_a_broken_adx_document_fails_the_structure_check():
    # The check can fail: a group without its period is not ADX
    schema = xmlschema.XMLSchema(str(ADX_SCHEMA))
    bad = ('<adx xmlns="urn:ihe:qrph:adx:2015" exported="2026-01-01T00:00:00Z"><group orgUnit="X" dataSet="Y">'
           '<dataValue dataElement="A" value="1"/></group></adx>')
    assert not schema.is_valid(bad)


def test_every_view_and_download_is_audited_without_a_figure(supervisor, database):
    supervisor.get("/reports/?period=2025&profile=public")
    for fmt in exports.FORMATS:
        download(supervisor, fmt, "2025Q4")
    supervisor.get("/reports/print?period=2025&profile=official")
    with database.snapshot() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.actor_role, AuditEvent.details)
                                 .where(AuditEvent.object_type == "report").order_by(AuditEvent.id)).all()
    actions = [(a, json.loads(details)) for a, role, details in events if role == "supervisor"]
    assert ("report.viewed", {"period": "2025", "profile": "public"}) in actions
    assert [details["format"] for action, details in actions if action == "report.exported"] == list(exports.FORMATS)
    assert ("report.printed", {"period": "2025", "profile": "official"}) in actions
    for _action, details in actions:
        assert set(details) <= {"period", "profile", "format"}


def test_a_format_that_does_not_exist_is_not_found(supervisor):
    assert supervisor.get("/reports/export/pdf?period=2025").status_code == 404


def test_a_period_not_in_the_list_gets_the_form_back_with_a_message(supervisor):
    page = supervisor.get("/reports/?period=2031Q9&profile=official")
    assert page.status_code == 200
    assert 'class="error"' in page.get_data(as_text=True)


# --- memory -----------------------------------------------------------------------------------


def _peak_export_memory(database, today: date) -> int:
    tracemalloc.start()
    try:
        payload = services.live_report(database, Period("year", today.year), OFFICIAL, settings=SETTINGS,
                                       today=today, now=clock_module.utcnow(), refresh=True)
        for piece in exports.write_csv(payload, None):
            del piece
        for piece in exports.write_xlsx(payload, [("t", [[1, 2, 3]] * 50)]):
            del piece
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_number_of_clients(app, database, clock):
    # Given 60 clients, then ten times as many
    from casework.demo_data import generate

    with app.app_context():
        generate(database, clients=60, seed=5, collaborators=2)
        today = clock.now.date()
        small = _peak_export_memory(database, today)
        generate(database, clients=540, seed=6, collaborators=2)
        large = _peak_export_memory(database, today)
    # Then the peak memory of counting and writing an export is about the same: aggregates only,
    # never a row per client
    assert large < small * 1.5 + 2_000_000, (small, large)


def test_profiles_are_what_the_design_says():
    assert (OFFICIAL.k, OFFICIAL.rounding, PUBLIC.k, PUBLIC.rounding) == (5, 0, 10, 5)
    assert PUBLIC.indicator_min_denominator == 50


def test_a_report_with_every_figure_hidden_is_not_sent_as_an_empty_dhis2_file(supervisor, monkeypatch):
    # Given a report of which DHIS2 could receive nothing (every figure hidden: ADX forbids an empty group)
    monkeypatch.setattr(exports, "data_values", lambda payload, mapping: iter(()))
    for fmt in ("dhis2", "adx"):
        response = supervisor.client.get(f"/reports/export/{fmt}?period=2025Q1&profile=public")
        # Then there is no file, but the report again with a message
        assert response.status_code == 302 and "/reports/" in response.headers["Location"]
    page = supervisor.get("/reports/?period=2025Q1&profile=public").get_data(as_text=True)
    assert 'class="flash flash-error"' in page
