"""Needs show their state: from the latest assessment and the referrals made for each need since."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from test_referrals_support import make_client, make_referral, make_service

from casework.clients.models import Assessment, AssessmentNeed
from casework.clients.needs import state_of
from casework.db import new_id
from casework.referrals.models import Referral

T0 = datetime(2026, 11, 1, 3, 0)


@pytest.mark.parametrize(("referrals", "state"), [
    ([], "open"),
    ([("requested", T0, "a")], "referred"),
    ([("received", T0, "a")], "referred"),
    ([("accepted", T0, "a")], "in_progress"),
    ([("in-progress", T0, "a")], "in_progress"),
    ([("on-hold", T0, "a")], "in_progress"),
    ([("completed", T0, "a")], "met"),
    ([("rejected", T0, "a")], "not_met"),
    ([("failed", T0, "a"), ("requested", T0 + timedelta(days=1), "b")], "referred"),  # referred again
    ([("completed", T0, "a"), ("cancelled", T0 + timedelta(days=1), "b")], "met"),  # once met, it was met
])
def test_the_state_of_a_need_from_its_referrals(referrals, state):
    assert state_of(referrals)[0] == state


def _need_item(html: str, domain: str) -> str:
    match = re.search(rf'<li data-need="{domain}"[^>]*>.*?</li>', html, re.S)
    assert match, f"{domain} not on the page: " + html[html.find("needs-h"):html.find("needs-h") + 1500]
    return match.group(0)


@pytest.fixture
def case(database, make_user, make_organisation, signed_in, clock):
    browser, account = signed_in("collaborator")
    station = make_organisation()
    place = make_service(database, station)
    client_id, _code = make_client(database, account.user_id)
    with database.transaction() as session:
        assessment = Assessment(id=new_id(), client_id=client_id, assessed_on=clock.now.date(),
                                assessed_by=account.user_id, eligible=True)
        session.add(assessment)
        session.flush()
        for domain in ("hiv_sti_testing", "legal_aid"):
            session.add(AssessmentNeed(id=new_id(), assessment_id=assessment.id, domain=domain, level="urgent"))
    return {"browser": browser, "client_id": client_id, "place": place, "owner": account.user_id}


def test_a_need_shows_as_met_after_its_referral_is_completed(case, database, clock):
    # Given an urgent need whose referral the health station completed
    clock.advance(minutes=1)
    referral_id = make_referral(database, client_id=case["client_id"], place=case["place"],
                                referred_by=case["owner"], status="completed")
    # When the worker opens the record
    response = case["browser"].get(f"/clients/{case['client_id']}")
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    html = response.get_data(as_text=True)
    # Then that need reads "met", not "urgent", with its referral, and offers no new referral
    item = _need_item(html, "hiv_sti_testing")
    assert 'data-state="met"' in item and "Đã đáp ứng" in item and "Khẩn cấp" not in item
    assert f"/referrals/{referral_id}" in item and "Đã hoàn thành" in item
    assert "Chuyển gửi</button>" not in item
    # And the other urgent need, never referred, still asks for a referral, listed first
    other = _need_item(html, "legal_aid")
    assert 'data-state="open"' in other and "Khẩn cấp" in other and "Chưa chuyển gửi" in other
    assert html.index('data-need="legal_aid"') < html.index('data-need="hiv_sti_testing"')
    # And the caseload lists only the need still open
    caseload = case["browser"].get("/clients/").get_data(as_text=True)
    assert 'data-need="legal_aid"' in caseload and 'data-need="hiv_sti_testing"' not in caseload


@pytest.mark.parametrize(("status", "state", "label"), [
    ("accepted", "in_progress", "Đang được hỗ trợ"),
    ("requested", "referred", "Đã chuyển gửi"),
    ("rejected", "not_met", "cần chuyển gửi lại"),
])
def test_a_need_shows_where_its_referral_stands(case, database, clock, status, state, label):
    clock.advance(minutes=1)
    make_referral(database, client_id=case["client_id"], place=case["place"], referred_by=case["owner"],
                  status=status)
    item = _need_item(case["browser"].get(f"/clients/{case['client_id']}").get_data(as_text=True),
                      "hiv_sti_testing")
    assert f'data-state="{state}"' in item and label in item


def test_a_referral_made_before_the_latest_assessment_does_not_meet_the_need_again(case, database, clock):
    # Given a referral completed long before, and a new assessment that lists the need again
    referral_id = make_referral(database, client_id=case["client_id"], place=case["place"],
                                referred_by=case["owner"], status="completed")
    with database.transaction() as session:
        session.get(Referral, referral_id).created_at = clock.now - timedelta(days=40)
    item = _need_item(case["browser"].get(f"/clients/{case['client_id']}").get_data(as_text=True),
                      "hiv_sti_testing")
    assert 'data-state="open"' in item


def test_the_new_referral_page_shows_services_for_waiting_needs_first_and_folds_the_rest(case, database,
                                                                                      make_organisation):
    # Given services for the client's urgent needs and for needs the client does not have
    legal = make_organisation("Trung tâm trợ giúp pháp lý", "legal_aid")
    make_service(database, legal, need="legal_aid", name="Tư vấn pháp lý miễn phí")
    jobs = make_organisation("Trung tâm dịch vụ việc làm", "employment")
    make_service(database, jobs, need="employment", name="Giới thiệu việc làm")
    # When the worker opens the generic "new referral" page
    html = case["browser"].get(f"/clients/{case['client_id']}/referrals/new").get_data(as_text=True)
    # Then the services for the two waiting needs come first, unfolded; the job service is folded away
    folded = html.index('<details class="more"')
    assert html.index("Tư vấn pháp lý miễn phí") < folded and html.index("Xét nghiệm HIV") < folded
    assert html.index("Giới thiệu việc làm") > folded
    assert "<details class=\"more\" open" not in html
