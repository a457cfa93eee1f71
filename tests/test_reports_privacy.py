"""What a supervisor can reach holds aggregates only: every page and every export of the
reports area, fed with a ward whose records carry sentinel values, is searched for anything
that belongs to a person — display code, referral code, UIC, alias, phone, note text, birth
year — and for the name of the collaborator who keeps the records."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select
from test_reports_support import SENTINELS

from casework.clients.models import Client
from casework.referrals.models import Referral
from casework.reports import exports

PAGES = [
    "/reports/", "/reports/?period=2025&profile=official", "/reports/?period=2025Q1&profile=public",
    "/reports/?period=202512&profile=official", "/reports/print?period=2025&profile=official",
    "/reports/submit?period=2025Q4&profile=public", "/reports/submitted",
]


@pytest.fixture
def supervisor(story, signed_in):
    browser, _account = signed_in("supervisor")
    return browser


def forbidden_strings(database, ward) -> list[str]:
    with database.snapshot() as session:
        codes = list(session.scalars(select(Client.display_code)))
        codes += list(session.scalars(select(Referral.code)))
        collaborator = session.scalar(select(Client.owner_id))
    from casework.auth.models import User

    with database.snapshot() as session:
        name = session.get(User, ward.collaborator_id).display_name
    assert collaborator == ward.collaborator_id and codes
    return [*codes, SENTINELS["uic"], SENTINELS["alias"], SENTINELS["phone"], SENTINELS["note"],
            SENTINELS["birth_year"], "2010", name]


def text_of(response) -> str:
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
        return "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row)
    return response.get_data(as_text=True)


def test_no_page_or_export_of_the_reports_area_names_a_person(supervisor, database, ward):
    forbidden = forbidden_strings(database, ward)
    # Given a submitted report as well
    supervisor.get("/reports/submit?period=2025&profile=official")
    figures = re.search(r'name="figures" type="hidden" value="([0-9a-f]{64})"', supervisor.last_html).group(1)
    response = supervisor.post("/reports/submit", {"period": "2025", "profile": "official", "figures": figures,
                                                   "confirm": "y"})
    frozen = response.headers["Location"]
    urls = [*PAGES, frozen, f"{frozen}/print"]
    urls += [f"/reports/export/{fmt}?period=2025&profile={p}" for fmt in exports.FORMATS
             for p in ("official", "public")]
    urls += [f"{frozen}/export/{fmt}" for fmt in exports.FORMATS]
    for url in urls:
        response = supervisor.client.get(url)
        assert response.status_code == 200, url
        body = text_of(response)
        for value in forbidden:
            assert value not in body, f"{value!r} on {url}"


def test_the_programme_is_not_named_on_the_printed_report(supervisor):
    # The printout travels: it says what the figures are without saying who the people are
    body = supervisor.get("/reports/print?period=2025&profile=official").get_data(as_text=True)
    for word in ("mại dâm", "bán dâm", "sex work"):
        assert word not in body.lower()
