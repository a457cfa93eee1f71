"""The supervisor's reports and the collaborator's worklist in a real browser, on a 360-px phone
and at desktop width: the pages fit, the charts draw under the strict CSP, a report downloads,
prints and is submitted. Screenshots go to ``CASEWORK_SCREENSHOTS`` when it is set (for people
to look at), else to the test's temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .pages import follow

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PAGES = [
    ("dashboard-2025", "/reports/?period=2025&profile=official"),
    ("dashboard-2025Q1-public", "/reports/?period=2025Q1&profile=public"),
    ("print-2025", "/reports/print?period=2025&profile=official"),
    ("submit-2025", "/reports/submit?period=2025&profile=official"),
    ("submitted", "/reports/submitted"),
]


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide on a {viewport}px screen"


def test_the_supervisor_reads_prints_exports_and_submits_the_years_report(
    story, page, live_server, make_user, sign_in, console, shots
):
    supervisor = make_user("supervisor")
    sign_in(page, supervisor)
    # The start page is the indicator report
    assert page.url.endswith("/reports/")
    for width in (360, DESKTOP["width"]):
        page.set_viewport_size({"width": width, "height": 800})
        for name, path in PAGES:
            page.goto(live_server(path))
            _fits(page)
            page.screenshot(path=str(shots / f"reports-{name}-{width}.png"), full_page=True)
    assert console.errors() == []
    # The charts are drawn, labelled for screen readers
    page.goto(live_server("/reports/?period=2025&profile=official"))
    charts = page.locator("svg.chart-svg[role=img]")
    assert charts.count() == 2
    assert page.locator("svg.chart-svg title").first.text_content()
    assert page.locator('[data-figure="headline/D"]').inner_text() == "13"
    # The JSON export downloads with the same figures
    with page.expect_download() as download:
        page.locator("a[href*='/reports/export/json']").click()
    payload = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert payload["headline"]["D"] == 13 and payload["period"]["key"] == "2025"
    # Submitting asks for confirmation, then shows the frozen report
    follow(page.locator("a[href*='/reports/submit?']"))
    follow(page.locator("main form button.primary"))  # not confirmed: the form comes back
    assert page.locator("#confirm").count() == 1 and page.locator(".error").count() >= 1
    page.check("#confirm")
    follow(page.locator("main form button.primary"))
    assert "/reports/submitted/" in page.url
    assert page.locator("[data-intact=yes]").count() == 1
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(shots / "reports-frozen-360.png"), full_page=True)
    _fits(page)
    assert console.errors() == []


def test_the_collaborator_sees_their_worklist_on_a_phone(story, ward, page, live_server, sign_in, console, shots):
    sign_in(page, ward.collaborator)
    follow(page.locator("nav.mainnav a[href='/clients/worklist']"))
    _fits(page)
    assert page.locator("[data-waiting]").count() == 1
    page.screenshot(path=str(shots / "worklist-360.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.reload()
    page.screenshot(path=str(shots / "worklist-1280.png"), full_page=True)
    assert console.errors() == []
