"""A collaborator's worklist toward the target: their own clients who are in D for the period
but not yet in N, with each open need and where its referral stands — and nobody else's."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from casework.clients.models import Client

CODE = re.compile(r"KH-[0-9A-Z]{4}-[0-9A-Z]{4}")


def codes_of(database, story, *letters: str) -> set[str]:
    with database.snapshot() as session:
        return set(session.scalars(select(Client.display_code).where(Client.id.in_([story[x] for x in letters]))))


def test_the_worklist_holds_the_clients_in_need_not_yet_supported(story, ward, database, browser):
    # Given the story's collaborator on the last day of the story's year
    ward.on(date(2025, 12, 31))
    browser.login(ward.collaborator)
    # When they open their worklist for the year so far
    page = browser.get("/clients/worklist").get_data(as_text=True)
    # Then it is D(2025) without N(2025): in need and eligible, no completed referral this year
    assert set(CODE.findall(page)) == codes_of(database, story, "b", "dd", "f", "j", "k", "p", "q", "r", "s", "t")
    assert 'data-waiting="10"' in page
    # and each need shows where its referral stands (q's expired, k's failed, j's still under way)
    assert page.count('href="/referrals/') >= 4
    # For the quarter, people supported earlier in the year are waiting again
    quarter = browser.get("/clients/worklist?scope=quarter").get_data(as_text=True)
    assert set(CODE.findall(quarter)) == codes_of(database, story, "a", "b", "j", "k", "l", "n", "p", "q", "r",
                                                  "s", "t")


def test_another_collaborator_sees_none_of_these_clients(story, signed_in):
    browser, _account = signed_in("collaborator")
    page = browser.get("/clients/worklist").get_data(as_text=True)
    assert CODE.findall(page) == [] and 'data-waiting="0"' in page
    assert browser.get("/clients/worklist?scope=month").status_code == 200


def test_the_worklist_is_paged_without_losing_anyone(story, ward, database, browser, monkeypatch):
    from casework.clients import worklist

    monkeypatch.setattr(worklist, "PER_PAGE", 3)
    ward.on(date(2025, 12, 31))
    browser.login(ward.collaborator)
    seen: list[str] = []
    for page in range(1, 6):
        seen += CODE.findall(browser.get(f"/clients/worklist?page={page}").get_data(as_text=True))
    assert len(seen) == len(set(seen)) == 10
