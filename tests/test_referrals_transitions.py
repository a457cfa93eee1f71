"""Every status pair × every kind of person, through the web form (docs/DESIGN.md §4).

The expected table below is written out from the design document, not read
from the code, so a wrong entry in ``casework.referrals.lifecycle`` fails here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_referrals_support import make_client, make_referral, make_service, referral_state

from casework.audit import AuditEvent

STATUSES = ("requested", "received", "accepted", "in-progress", "on-hold", "completed", "rejected",
            "cancelled", "failed", "entered-in-error")
EARLY = ("requested", "received")
UNDER_WAY = ("accepted", "in-progress", "on-hold")

# docs/DESIGN.md §4, by who may act (the receiving organisation has provider accounts).
ALLOWED = {
    "provider": {("requested", "received")}
    | {(s, t) for s in EARLY for t in ("accepted", "rejected")}
    | {("accepted", "in-progress"), ("on-hold", "in-progress"), ("accepted", "on-hold"), ("in-progress", "on-hold")}
    | {(s, t) for s in UNDER_WAY for t in ("completed", "failed", "cancelled")},
    "referrer": {(s, "cancelled") for s in EARLY + UNDER_WAY},
    "admin": {(s, "entered-in-error") for s in STATUSES if s != "entered-in-error"},
    "other_provider": set(),
    "other_collaborator": set(),
    "supervisor": set(),
}
# What each change carries, so that only the table decides.
FIELDS = {
    "rejected": {"reason_code": "not-eligible"},
    "cancelled": {"reason_code": "withdrawn-by-referrer"},
    "on-hold": {"reason_code": "waiting-for-client"},
    "failed": {"reason_code": "no-show"},
    "entered-in-error": {"reason_code": "duplicate-record"},
    "completed": {"business_status": "test-done-result-given"},
}
HOME = {"provider": "/inbox", "other_provider": "/inbox", "referrer": "/referrals/sent",
        "other_collaborator": "/referrals/sent", "admin": "/referrals/correct", "supervisor": "/account"}


@pytest.fixture
def people(make_organisation, make_user, database):
    station = make_organisation("Trạm Y tế", "health_station")
    elsewhere = make_organisation("Trung tâm khác", "legal_aid")
    place = make_service(database, station)
    referrer = make_user("collaborator")
    accounts = {
        "provider": make_user("provider", organisation_id=station),
        "other_provider": make_user("provider", organisation_id=elsewhere),
        "referrer": referrer,
        "other_collaborator": make_user("collaborator"),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
    }
    client_id, _ = make_client(database, referrer.user_id)
    return {"place": place, "client_id": client_id, "accounts": accounts}


def _audit_count(database, referral_id):
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.object_id == referral_id, AuditEvent.action.like("referral.%")))


@pytest.mark.parametrize("who", list(ALLOWED))
def test_every_status_pair_is_allowed_or_refused_exactly_as_designed(who, people, new_browser, database):
    # Given a person of this kind, signed in
    browser = new_browser()
    browser.login(people["accounts"][who])
    browser.get(HOME[who])
    unexpected = []
    for start in STATUSES:
        for target in STATUSES:
            # Given a referral in the start status
            referral_id = make_referral(database, client_id=people["client_id"], place=people["place"],
                                        referred_by=people["accounts"]["referrer"].user_id, status=start)
            before = referral_state(database, referral_id)
            audits = _audit_count(database, referral_id)
            # When they submit the change through the status form
            response = browser.post(f"/referrals/{referral_id}/status",
                                    {"to": target, "version": before[1], **FIELDS.get(target, {})},
                                    page=HOME[who])
            after = referral_state(database, referral_id)
            allowed = (start, target) in ALLOWED[who]
            # Then an allowed change is made and recorded; anything else changes nothing
            if allowed:
                ok = (after[0] == target and after[1] == before[1] + 1 and after[2] == before[2] + 1
                      and _audit_count(database, referral_id) == audits + 1)
            else:
                ok = after == before and _audit_count(database, referral_id) == audits
                ok = ok and response.status_code in (302, 403, 404)
            if not ok:
                unexpected.append(f"{who}: {start} → {target} (allowed={allowed}) got {after}, "
                                  f"HTTP {response.status_code}")
    assert unexpected == []


def test_a_refused_change_says_why(people, new_browser, database):
    # Given a provider and a completed referral
    browser = new_browser()
    browser.login(people["accounts"]["provider"])
    referral_id = make_referral(database, client_id=people["client_id"], place=people["place"],
                                referred_by=people["accounts"]["referrer"].user_id, status="completed")
    browser.get(f"/inbox/{referral_id}")
    # When they try to accept it
    response = browser.post(f"/referrals/{referral_id}/status", {"to": "accepted", "version": 1})
    # Then they are told the change is not possible, in Vietnamese
    browser.get(response.headers["Location"])
    assert "Không thể thực hiện thay đổi này" in browser.last_html


def test_a_change_that_needs_a_reason_is_refused_without_one(people, new_browser, database):
    # Given a provider and a received referral
    browser = new_browser()
    browser.login(people["accounts"]["provider"])
    referral_id = make_referral(database, client_id=people["client_id"], place=people["place"],
                                referred_by=people["accounts"]["referrer"].user_id, status="received")
    browser.get(f"/inbox/{referral_id}")
    before = referral_state(database, referral_id)
    # When they decline without a reason, and with a reason from another list
    browser.post(f"/referrals/{referral_id}/status", {"to": "rejected", "version": before[1]})
    browser.get(f"/inbox/{referral_id}")
    assert "Hãy chọn một lý do" in browser.last_html
    browser.post(f"/referrals/{referral_id}/status", {"to": "rejected", "reason_code": "no-show",
                                                      "version": before[1]})
    # Then nothing changes
    assert referral_state(database, referral_id) == before


def test_nobody_may_claim_expiry_by_hand(people, new_browser, database):
    # Given the referrer and a requested referral
    browser = new_browser()
    browser.login(people["accounts"]["referrer"])
    referral_id = make_referral(database, client_id=people["client_id"], place=people["place"],
                                referred_by=people["accounts"]["referrer"].user_id)
    browser.get(f"/referrals/{referral_id}")
    before = referral_state(database, referral_id)
    # When they cancel it giving "expired" as the reason
    browser.post(f"/referrals/{referral_id}/status", {"to": "cancelled", "reason_code": "expired",
                                                      "version": before[1]})
    # Then it is refused
    assert referral_state(database, referral_id) == before
