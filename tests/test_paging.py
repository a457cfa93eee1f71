"""Every list is paged and none drops or repeats a row, even when every row ties on the sort keys."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from test_attacks import make_client, make_place, make_referral, signed_in_as

REFERRAL_CODE = re.compile(r">(RF-[0-9A-Z]{4}-[0-9A-Z*~$=]{4})<")
CLIENT_CODE = re.compile(r">(KH-[0-9A-Z]{4}-[0-9A-Z]{4})<")


def _walk(browser: Any, first_url: str, pattern: re.Pattern[str]) -> list[str]:
    """Every code on every page, following the 'next page' link until there is none."""
    seen, url, pages = [], first_url, 0
    while url:
        html = browser.get(url).get_data(as_text=True)
        seen += pattern.findall(html)
        found = re.search(r'<a class="button" href="([^"]+)" rel="next">', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
        assert pages < 50
    return seen


def _same_time(database: Any, table: str, column: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = '2026-11-20 08:00:00.000000'"))  # noqa: S608


def test_the_inbox_shows_every_referral_once_across_its_pages(make_organisation, make_user, new_browser, database):
    # Given 61 new referrals to one organisation, all sent at the same moment with the same urgency
    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_place(database, station)
    owner = make_user("collaborator")
    client_id, _ = make_client(database, owner.user_id, history=False)
    ids = [make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id) for _ in range(61)]
    _same_time(database, "referrals", "created_at")
    with database.engine.connect() as conn:
        codes = {r[0] for r in conn.execute(text("SELECT code FROM referrals"))}
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=station))
    # When the provider pages through the "new" tab
    shown = _walk(provider, "/inbox?tab=new", REFERRAL_CODE)
    # Then the tab is shown a page at a time, each referral exactly once, and it says how many there are
    first_page = provider.get("/inbox?tab=new").get_data(as_text=True)
    assert 0 < len(REFERRAL_CODE.findall(first_page)) < 61 and "(61)" in first_page
    assert len(shown) == len(set(shown)) == len(ids) and set(shown) == codes


def test_the_sent_list_and_the_caseload_show_every_row_once(make_organisation, make_user, new_browser, database):
    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_place(database, station)
    owner = make_user("collaborator")
    clients = [make_client(database, owner.user_id, uic=f"PAGE{1950 + n}F", history=False) for n in range(65)]
    for client_id, _code in clients[:55]:
        make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    _same_time(database, "referrals", "created_at")
    _same_time(database, "clients", "registered_at")
    browser = signed_in_as(new_browser, owner)
    # The caseload: 65 clients registered at the same moment, a page at a time
    assert len(CLIENT_CODE.findall(browser.get("/clients/").get_data(as_text=True))) < 65
    shown = _walk(browser, "/clients/", CLIENT_CODE)
    assert sorted(shown) == sorted(code for _id, code in clients)
    assert "(65)" in browser.get("/clients/").get_data(as_text=True)
    # The sent list: 55 referrals sent at the same moment
    sent = _walk(browser, "/referrals/sent", REFERRAL_CODE)
    assert len(sent) == len(set(sent)) == 55


def test_the_admin_finds_accounts_by_name_and_pages_through_all_of_them(make_user, new_browser):
    for n in range(35):
        make_user("collaborator", username=f"ctv.page{n:02d}")
    admin = signed_in_as(new_browser, make_user("admin"))
    usernames = re.compile(r'">(ctv\.page\d\d)</a>')
    shown = _walk(admin, "/admin/users", usernames)
    assert sorted(shown) == [f"ctv.page{n:02d}" for n in range(35)]
    assert len(usernames.findall(admin.get("/admin/users").get_data(as_text=True))) < 35
    # A search finds one, also in capitals, and a % in it is only a character
    assert usernames.findall(admin.get("/admin/users?q=PAGE07").get_data(as_text=True)) == ["ctv.page07"]
    assert usernames.findall(admin.get("/admin/users?q=%25").get_data(as_text=True)) == []


def test_overdue_follow_ups_show_ten_on_the_caseload_and_all_on_their_page(make_user, new_browser, database, clock):
    from datetime import timedelta

    from casework.clients.models import FollowUp
    from casework.db import new_id

    owner = make_user("collaborator")
    client_id, code = make_client(database, owner.user_id, history=False)
    with database.transaction() as session:
        for n in range(15):
            follow = FollowUp(id=new_id(), client_id=client_id, created_by=owner.user_id,
                              due_on=clock.now.date() - timedelta(days=n + 1))
            session.add(follow)
            follow.description = f"Gọi lại lần {n}"
    browser = signed_in_as(new_browser, owner)
    caseload = browser.get("/clients/").get_data(as_text=True)
    section = caseload.split('id="overdue-h"')[1].split("</section>")[0]
    assert section.count(f">{code}<") == 10 and ">15<" in section and "/clients/follow-ups/overdue" in section
    page = browser.get("/clients/follow-ups/overdue").get_data(as_text=True)
    assert page.count(f">{code}<") == 15 and "Gọi lại" not in page  # dates and codes only
