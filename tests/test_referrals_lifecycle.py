"""The closed loop through the web forms: a collaborator refers, a provider answers,
the collaborator sees every step (docs/DESIGN.md §4, §5)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from test_referrals_support import make_client, make_referral, make_service, post_and_follow, referral_state

from casework.audit import AuditEvent
from casework.referrals.models import Referral, ReferralEvent


@pytest.fixture
def world(make_organisation, make_user, database):
    station = make_organisation("Trạm Y tế phường Tân Hưng", "health_station")
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    provider = make_user("provider", organisation_id=station)
    client_id, display_code = make_client(database, collaborator.user_id)
    from casework.referrals.services import client_code_for

    with database.transaction() as session:
        provider_code = client_code_for(session, client_id, station)  # how the station knows the client
    return {"station": station, "place": place, "collaborator": collaborator, "provider": provider,
            "client_id": client_id, "display_code": display_code, "provider_code": provider_code}


def _referral(database, referral_id):
    with database.transaction() as session:
        return session.get(Referral, referral_id)


def _send_referral(browser, world, **extra):
    url = f"/clients/{world['client_id']}/referrals/new"
    browser.get(url)
    data = {"service_id": world["place"].service_id, "urgency": "urgent",
            "note_to_receiver": "Cần tư vấn trước xét nghiệm", "consent": "y", "action": "send", **extra}
    return browser.post(url, data)


def test_whole_lifecycle_from_referral_to_completed_outcome(world, new_browser, database):
    # Given a collaborator with a client who agreed to share, and a provider at the health station
    collaborator, provider = new_browser(), new_browser()
    collaborator.login(world["collaborator"])
    provider.login(world["provider"])

    # When the collaborator sends a referral from the client's need
    response = _send_referral(collaborator, world)
    # Then a code is issued and the slip is shown
    assert response.status_code == 302 and "/slip" in response.headers["Location"]
    with database.transaction() as session:
        referral = session.scalar(select(Referral))
        referral_id, code = referral.id, referral.code
        assert referral.status == "requested" and referral.urgency == "urgent"
        assert referral.note_to_receiver_enc and "Cần" not in referral.note_to_receiver_enc
    slip = collaborator.get(response.headers["Location"]).get_data(as_text=True)
    assert code in slip and "<svg" in slip

    # When the provider finds it by the code typed carelessly (lower case, spaces)
    provider.get("/inbox")
    typed = code.lower().replace("-", " ")
    found = provider.post("/inbox/find", {"code": typed})
    assert found.status_code == 302
    page = provider.get(found.headers["Location"])
    # Then opening it marks it received and shows the minimal dataset
    assert page.status_code == 200 and world["provider_code"] in provider.last_html
    assert world["display_code"] not in provider.last_html
    assert "Cần tư vấn trước xét nghiệm" in provider.last_html
    assert _referral(database, referral_id).status == "received"

    # When the provider accepts, starts, puts on hold, resumes and completes with feedback
    steps = [
        {"to": "accepted"},
        {"to": "in-progress"},
        {"to": "on-hold", "reason_code": "waiting-for-client"},
        {"to": "in-progress"},
        {"to": "completed", "business_status": "test-done-result-given", "outcome": "Đã xét nghiệm",
         "feedback": "Khách đã nhận kết quả"},
    ]
    for step in steps:
        version = _referral(database, referral_id).version
        response = post_and_follow(provider, f"/referrals/{referral_id}/status", {**step, "version": version})
        assert response.status_code == 302
        assert _referral(database, referral_id).status == step["to"]

    # Then the collaborator sees the outcome, the feedback and the whole timeline
    collaborator.get(f"/referrals/{referral_id}")
    html = collaborator.last_html
    assert "Khách đã nhận kết quả" in html and "Đã xét nghiệm" in html
    with database.transaction() as session:
        events = session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                                 .order_by(ReferralEvent.at)).all()
        assert [e.to_status for e in events] == [
            "requested", "received", "accepted", "in-progress", "on-hold", "in-progress", "completed"]
        assert [e.actor_id for e in events][1:] == [world["provider"].user_id] * 6
        audits = session.scalars(select(AuditEvent).where(AuditEvent.object_id == referral_id)).all()
        actions = {a.action for a in audits}
        # (codes only: no note, outcome or feedback text in the audit log)
        assert not any(text in str(a.details) for a in audits
                       for text in ("Cần tư vấn", "Đã xét nghiệm", "Khách đã nhận"))
        assert {"referral.created", "referral.received", "referral.accepted", "referral.completed"} <= actions
        referral = session.get(Referral, referral_id)
        assert referral.completed_at is not None and referral.outcome_recorded_by_referrer is False
    assert html.count("<tr>") >= 8  # header + seven events


def test_referral_without_consent_confirmation_is_not_made(world, new_browser, database):
    # Given a collaborator on the referral form
    browser = new_browser()
    browser.login(world["collaborator"])
    # When they send without ticking the consent box
    response = _send_referral(browser, world, consent="")
    # Then the form comes back with a message and no referral exists
    assert response.status_code == 200
    assert "đồng ý" in browser.last_html
    with database.transaction() as session:
        assert session.scalar(select(Referral)) is None


def test_no_referral_when_sharing_consent_is_missing(make_user, make_organisation, database, new_browser):
    # Given a client who gave registration consent but not sharing consent
    station = make_organisation()
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    client_id, _code = make_client(database, collaborator.user_id, consents=("registration",))
    browser = new_browser()
    browser.login(collaborator)
    # When the collaborator tries to send a referral
    url = f"/clients/{client_id}/referrals/new"
    browser.get(url)
    response = browser.post(url, {"service_id": place.service_id, "urgency": "routine", "consent": "y",
                                  "action": "send"})
    # Then it is refused with the reason and nothing is stored
    assert response.status_code == 200
    assert "chia sẻ" in browser.last_html
    with database.transaction() as session:
        assert session.scalar(select(Referral)) is None


def test_preview_shows_exactly_the_provider_dataset(world, new_browser):
    # Given a collaborator filling in a referral with phone sharing on
    browser = new_browser()
    browser.login(world["collaborator"])
    url = f"/clients/{world['client_id']}/referrals/new"
    browser.get(url)
    # When they ask to see what will be shared
    browser.post(url, {"service_id": world["place"].service_id, "urgency": "routine", "share_phone": "y",
                       "note_to_receiver": "Ghi chú chia sẻ", "action": "preview"})
    # Then the preview shows the code the service will know the client by, the shared phone and the note,
    # but no alias or UIC
    html = browser.last_html
    assert world["provider_code"] in html and "0999 777 555" in html and "Ghi chú chia sẻ" in html
    assert "SENTINEL-ALIAS" not in html and "SEUIC1990F" not in html


def test_refer_elsewhere_after_a_rejection_links_the_new_referral(world, new_browser, database):
    # Given a referral the provider rejected
    referral_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                                referred_by=world["collaborator"].user_id, status="received")
    provider = new_browser()
    provider.login(world["provider"])
    provider.get(f"/inbox/{referral_id}")
    post_and_follow(provider, f"/referrals/{referral_id}/status",
                  {"to": "rejected", "reason_code": "no-capacity", "version": referral_state(database, referral_id)[1]})
    assert referral_state(database, referral_id)[0] == "rejected"
    # When the collaborator follows "Refer elsewhere"
    collaborator = new_browser()
    collaborator.login(world["collaborator"])
    collaborator.get(f"/referrals/{referral_id}")
    link = re.search(r'href="([^"]*previous=[^"]*)"', collaborator.last_html).group(1).replace("&amp;", "&")
    collaborator.get(link)
    other = make_service(database, world["station"], name="Dịch vụ khác")
    response = collaborator.post(link, {"service_id": other.service_id, "urgency": "routine", "consent": "y",
                                        "action": "send"})
    # Then the new referral points back at the rejected one
    assert response.status_code == 302
    with database.transaction() as session:
        new = session.scalar(select(Referral).where(Referral.previous_referral_id == referral_id))
        assert new is not None and new.status == "requested"


def test_referrer_records_outcome_for_an_organisation_without_accounts(make_organisation, make_user, database,
                                                                       new_browser):
    # Given a referral accepted by an organisation that has no provider accounts
    school = make_organisation("Trường nghề", "vocational_training")
    place = make_service(database, school, need="vocational_training")
    collaborator = make_user("collaborator")
    client_id, _ = make_client(database, collaborator.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                                status="accepted")
    browser = new_browser()
    browser.login(collaborator)
    browser.get(f"/referrals/{referral_id}")
    # When the collaborator records what the client reports
    browser.post(f"/referrals/{referral_id}/status", {"to": "completed", "business_status": "enrolled-in-course",
                                                      "version": referral_state(database, referral_id)[1]})
    # Then it is completed and marked as recorded by the referrer
    referral = _referral(database, referral_id)
    assert referral.status == "completed" and referral.outcome_recorded_by_referrer is True


def test_referrer_cannot_record_outcome_when_the_organisation_has_accounts(world, new_browser, database):
    # Given an accepted referral to an organisation whose staff use casework
    referral_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                                referred_by=world["collaborator"].user_id, status="accepted")
    browser = new_browser()
    browser.login(world["collaborator"])
    browser.get(f"/referrals/{referral_id}")
    before = referral_state(database, referral_id)
    # When the collaborator tries to record completion
    browser.post(f"/referrals/{referral_id}/status", {"to": "completed", "business_status": "job-placed",
                                                      "version": before[1]})
    # Then nothing changes
    assert referral_state(database, referral_id) == before


def test_admin_marks_a_referral_entered_in_error_by_its_code(world, new_browser, make_user, database):
    # Given a referral and an administrator
    referral_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                                referred_by=world["collaborator"].user_id)
    code = _referral(database, referral_id).code
    admin = new_browser()
    admin.login(make_user("admin"))
    # When the admin finds it by code and marks it with a reason
    admin.get("/referrals/correct")
    admin.post("/referrals/correct", {"code": code})
    assert code in admin.last_html and world["display_code"] not in admin.last_html
    admin.post(f"/referrals/{referral_id}/status", {"to": "entered-in-error", "reason_code": "duplicate-record",
                                                     "version": referral_state(database, referral_id)[1]})
    # Then it is entered-in-error with the reason
    referral = _referral(database, referral_id)
    assert referral.status == "entered-in-error" and referral.reason_code == "duplicate-record"


def test_a_stale_form_is_told_the_referral_changed(world, new_browser, database):
    # Given a provider looking at a received referral
    referral_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                                referred_by=world["collaborator"].user_id, status="received")
    provider = new_browser()
    provider.login(world["provider"])
    provider.get(f"/inbox/{referral_id}")
    seen = referral_state(database, referral_id)[1]
    # And the referrer cancels it meanwhile
    collaborator = new_browser()
    collaborator.login(world["collaborator"])
    collaborator.get(f"/referrals/{referral_id}")
    post_and_follow(collaborator, f"/referrals/{referral_id}/status",
                    {"to": "cancelled", "reason_code": "withdrawn-by-referrer", "version": seen})
    # When the provider accepts with the version they saw
    response = provider.post(f"/referrals/{referral_id}/status", {"to": "accepted", "version": seen})
    # Then the provider is told it changed, in Vietnamese, and the cancellation stands
    provider.get(response.headers["Location"])
    assert "đã thay đổi" in provider.last_html
    assert referral_state(database, referral_id)[0] == "cancelled"


def test_what_was_delivered_fits_the_service_and_results_are_not_asked_for(world, new_browser, database):
    # Given an accepted HIV-testing referral at the health station, opened by its staff
    from casework.referrals.models import Referral

    referral_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                                referred_by=world["collaborator"].user_id, status="accepted")
    provider = new_browser()
    provider.login(world["provider"])
    html = provider.get(f"/inbox/{referral_id}").get_data(as_text=True)
    # Then "what was delivered" offers what a test service delivers, not a job placement
    assert 'value="test-done-result-given"' in html and 'value="job-placed"' not in html
    assert "không bao giờ ghi kết quả xét nghiệm hay chẩn đoán" in html
    # And a job placement sent by hand is refused
    version = referral_state(database, referral_id)[1]
    provider.post(f"/referrals/{referral_id}/status", {"to": "completed", "business_status": "job-placed",
                                                       "version": version})
    with database.transaction() as session:
        assert session.get(Referral, referral_id).status == "accepted"
