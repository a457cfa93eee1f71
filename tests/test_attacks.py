"""Adversarial review: attacks as a real attacker would observe them, through the web (and raw SQL
for someone who can write to the database).

Each test is Given/When/Then. A test that passes guards a promise that holds; a test marked
``xfail(strict=True, reason="VULN: ...")`` demonstrates a vulnerability that is still open.

Helpers here are self-contained (no imports from other test modules) so that this file keeps
working while the shared support modules change.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from approvals_support import approve_all
from conftest import BACKEND
from sqlalchemy import func, select, text

from casework import clock, codes
from casework.audit import AuditEvent
from casework.auth import totp
from casework.auth.models import User
from casework.clients import storage
from casework.clients.models import Assessment, AssessmentNeed, CaseNote, Client, Consent, FollowUp
from casework.db import new_id
from casework.directory.models import Location, Service, ServiceAtLocation
from casework.referrals.models import Referral, ReferralEvent

# Client facts an attacker must never get at. ASCII, so they survive JSON escaping in cookies.
S = {
    "uic": "ZQXW1987F",
    "alias": "ALIASSENTINELZQ",
    "phone": "0911 478 236",
    "residence": "RESIDSENTINELZQ",
    "note": "CASENOTESENTINELZQ",
    "need": "NEEDNOTESENTINELZQ",
    "follow": "FOLLOWSENTINELZQ",
    "receiver": "RECEIVERSENTINELZQ",
    "other_alias": "OTHERALIASSENTINELZQ",
    "other_phone": "0988 123 765",
}
FORBIDDEN_WORDS = ("mại dâm", "bán dâm", "sex work", "selling sex", "sells sex", "prostitut")
SEC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# --- Given steps --------------------------------------------------------------------------------


@dataclass
class Place:
    organisation_id: str
    service_id: str


def make_place(database: Any, organisation_id: str, *, name: str = "Xét nghiệm HIV",
               need: str = "hiv_sti_testing") -> Place:
    with database.transaction() as session:
        location = Location(id=new_id(), organisation_id=organisation_id, name="Cơ sở chính",
                            address_1="Số 9 đường Thử", address_locality="Phường Tân Hưng",
                            address_region="Hải Phòng", address_country="VN")
        service = Service(id=new_id(), organisation_id=organisation_id, name=name, need_domain=need,
                          opening_hours="7:30–11:30", phone="0225 000 0101", is_free=True,
                          no_id_needed=True, confidential=True, accept_within_days=3,
                          complete_within_days=30, status="active")
        session.add_all([location, service])
        session.flush()
        session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))
        return Place(organisation_id, service.id)


def make_client(database: Any, owner_id: str, *, alias: str = S["alias"], phone: str = S["phone"],
                uic: str = S["uic"], age_band: str = "25-34",
                consents: tuple[str, ...] = ("registration", "share_with_provider", "contact"),
                history: bool = True) -> tuple[str, str]:
    """A client with sentinel contents in ``owner_id``'s caseload: (id, display code)."""
    today = clock.local_today()
    with database.transaction() as session:
        client = storage.new_client(session, owner_id=owner_id, uic=uic, age_band=age_band,
                                    is_minor=age_band == "lt18", sex_gender="female",
                                    contact_preference="call", outreach_source="venue")
        client.alias = alias
        client.phone = phone
        client.residence = S["residence"]
        session.flush()
        for purpose in consents:
            session.add(Consent(id=new_id(), client_id=client.id, purpose=purpose, method="verbal",
                                given_on=today, recorded_by=owner_id))
        if history:
            assessment = Assessment(id=new_id(), client_id=client.id, assessed_on=today, assessed_by=owner_id,
                                    eligible=True)
            session.add(assessment)
            session.flush()
            need = AssessmentNeed(id=new_id(), assessment_id=assessment.id, domain="hiv_sti_testing",
                                  level="urgent")
            session.add(need)
            need.note = S["need"]
            note = CaseNote(id=new_id(), client_id=client.id, author_id=owner_id)
            session.add(note)
            note.body = S["note"]
            follow = FollowUp(id=new_id(), client_id=client.id, created_by=owner_id,
                              due_on=today + timedelta(days=3))
            session.add(follow)
            follow.description = S["follow"]
        return client.id, client.display_code


def make_referral(database: Any, *, client_id: str, place: Place, referred_by: str, status: str = "requested",
                  share_phone: bool = False, note: str | None = S["receiver"]) -> str:
    today = clock.local_today()
    with database.transaction() as session:
        referral = Referral(
            id=new_id(), code=codes.referral_code(), client_id=client_id, service_id=place.service_id,
            organisation_id=place.organisation_id, need_domain="hiv_sti_testing", referred_by=referred_by,
            status=status, urgency="routine", share_phone=share_phone,
            accept_due_on=today + timedelta(days=3), complete_due_on=today + timedelta(days=30),
            expires_on=today + timedelta(days=14),
        )
        session.add(referral)
        referral.note_to_receiver = note
        session.add(ReferralEvent(id=new_id(), referral_id=referral.id, actor_id=referred_by, from_status=None,
                                  to_status="requested"))
        return referral.id


def snapshot(database: Any, client_id: str | None = None, referral_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    """Everything an attack could change, as stored."""
    with database.transaction() as session:
        state: dict[str, Any] = {}
        if client_id:
            client = session.get(Client, client_id)
            state["client"] = None if client is None else (
                client.owner_id, client.status, client.alias_enc, client.phone_enc, client.uic_enc,
                client.version, sorted(a.user_id for a in client.co_assignees))
            state["notes"] = session.scalar(select(func.count()).select_from(CaseNote)
                                            .where(CaseNote.client_id == client_id))
            state["follow_ups"] = sorted((f.id, f.done_at is None) for f in session.scalars(
                select(FollowUp).where(FollowUp.client_id == client_id)))
            state["consents"] = sorted((c.purpose, c.withdrawn_on is None) for c in session.scalars(
                select(Consent).where(Consent.client_id == client_id)))
            state["assessments"] = session.scalar(select(func.count()).select_from(Assessment)
                                                  .where(Assessment.client_id == client_id))
            state["referrals"] = session.scalar(select(func.count()).select_from(Referral)
                                                .where(Referral.client_id == client_id))
        for rid in referral_ids:
            referral = session.get(Referral, rid)
            events = session.scalar(select(func.count()).select_from(ReferralEvent)
                                    .where(ReferralEvent.referral_id == rid))
            state[rid] = (referral.status, referral.version, events, referral.organisation_id,
                          referral.share_phone, referral.feedback_enc, referral.client_id)
        return state


def referral_code_of(database: Any, referral_id: str) -> str:
    with database.transaction() as session:
        return session.get(Referral, referral_id).code


def audit_rows(database: Any) -> list[tuple[Any, ...]]:
    with database.transaction() as session:
        return [tuple(row) for row in session.execute(select(AuditEvent.__table__)).all()]


def cookie_payload(browser: Any) -> str:
    """The readable part of Flask's signed session cookie (base64, maybe zlib)."""
    cookie = browser.client.get_cookie("casework_session")
    if cookie is None:
        return ""
    value = cookie.value
    compressed = value.startswith(".")
    body = (value[1:] if compressed else value).split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if compressed:
        raw = zlib.decompress(raw)
    return raw.decode("utf-8")


def strip_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", html)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', html)


def assert_no_sentinel(where: str, blob: str, keys: tuple[str, ...] = tuple(S)) -> None:
    for key in keys:
        value = S[key]
        assert value not in blob, f"{key} sentinel found in {where}"
        assert value.replace(" ", "") not in blob.replace(" ", "") or not value.replace(" ", "").isdigit(), \
            f"{key} sentinel (digits) found in {where}"


@pytest.fixture
def world(make_organisation, make_user, database):
    """Two organisations with a service each; an owner with a rich client and two referrals."""
    station = make_organisation("Trạm Y tế phường", "health_station")
    legal = make_organisation("Trợ giúp pháp lý", "legal_aid")
    station_place = make_place(database, station)
    legal_place = make_place(database, legal, name="Tư vấn pháp lý", need="legal_aid")
    owner = make_user("collaborator")
    client_id, display_code = make_client(database, owner.user_id)
    referral_id = make_referral(database, client_id=client_id, place=station_place, referred_by=owner.user_id)
    legal_referral_id = make_referral(database, client_id=client_id, place=legal_place,
                                      referred_by=owner.user_id)
    with database.transaction() as session:
        follow_up_id = session.scalar(select(FollowUp.id).where(FollowUp.client_id == client_id))
        consent_id = session.scalar(select(Consent.id).where(Consent.client_id == client_id,
                                                             Consent.purpose == "registration"))
    return {"station": station, "legal": legal, "station_place": station_place, "legal_place": legal_place,
            "owner": owner, "client_id": client_id, "display_code": display_code,
            "referral_id": referral_id, "legal_referral_id": legal_referral_id,
            "follow_up_id": follow_up_id, "consent_id": consent_id}


def signed_in_as(new_browser: Any, account: Any) -> Any:
    browser = new_browser()
    browser.login(account)
    return browser


# --- IDOR: every object URL with ids that belong to someone else ---------------------------------


def _client_attack_urls(w: dict[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    cid, rid, fid, consent = w["client_id"], w["referral_id"], w["follow_up_id"], w["consent_id"]
    today = clock.local_today().isoformat()
    gets = [f"/clients/{cid}", f"/clients/{cid}/assessment", f"/clients/{cid}/assessments",
            f"/clients/{cid}/record", f"/clients/{cid}/correct", f"/clients/{cid}/erase",
            f"/clients/{cid}/close", f"/clients/{cid}/referrals/new", f"/referrals/{rid}",
            f"/referrals/{rid}/slip", f"/referrals/{w['legal_referral_id']}"]
    posts = [
        (f"/clients/{cid}/notes", {"body": "planted note"}),
        (f"/clients/{cid}/follow-ups", {"due_on": today, "description": "planted"}),
        (f"/clients/{cid}/follow-ups/{fid}/done", {}),
        (f"/clients/{cid}/consents", {"purpose": "contact", "method": "verbal", "given_on": today}),
        (f"/clients/{cid}/consents/{consent}/withdraw", {}),
        (f"/clients/{cid}/close", {"reason": "moved"}),
        (f"/clients/{cid}/reopen", {}),
        (f"/clients/{cid}/correct", {"uic_declined": "y", "alias": "PWNED", "sex_gender": "other",
                                     "age_band": "unknown", "outreach_source": "other",
                                     "contact_preference": "sms"}),
        (f"/clients/{cid}/erase", {"display_code": w["display_code"]}),
        (f"/clients/{cid}/assessment", {"assessed_on": today, "eligible": "y"}),
        (f"/clients/{cid}/referrals/new", {"service_id": w["station_place"].service_id, "urgency": "urgent",
                                          "share_phone": "y", "consent": "y", "action": "send"}),
        (f"/referrals/{rid}/status", {"to": "cancelled", "version": "1", "reason_code": "withdrawn-by-referrer"}),
    ]
    return gets, posts


@pytest.mark.parametrize("attacker", ["other_collaborator", "receiving_provider", "other_provider",
                                      "supervisor", "admin"])
def test_nobody_outside_the_caseload_reaches_any_client_or_referral_url(attacker, world, make_user, new_browser,
                                                                         database):
    # Given someone who is not in the client's caseload (but may be signed in with any role)
    org = {"receiving_provider": world["station"], "other_provider": world["legal"]}.get(attacker)
    role = {"other_collaborator": "collaborator"}.get(attacker, "provider" if org else attacker)
    browser = signed_in_as(new_browser, make_user(role, organisation_id=org))
    before = snapshot(database, world["client_id"], (world["referral_id"], world["legal_referral_id"]))
    gets, posts = _client_attack_urls(world)
    if attacker != "receiving_provider":
        gets.append(f"/inbox/{world['referral_id']}")
    gets.append(f"/inbox/{world['legal_referral_id']}") if attacker != "other_provider" else None
    # When they try every client and referral URL with the victim's ids, reading and writing
    for url in gets:
        response = browser.get(url)
        # Then each is refused (403/404) and shows nothing of the client
        assert response.status_code in (403, 404), (url, response.status_code)
        assert_no_sentinel(url, browser.last_html)
        assert world["display_code"] not in browser.last_html, url
    for url, data in posts:
        response = browser.post(url, data, page="/account")
        if attacker in ("admin", "receiving_provider") and url.endswith("/status"):
            # they may reach the status endpoint (admin: entered-in-error only; the provider cannot
            # cancel a requested referral): the cancel is refused with a message
            assert response.status_code == 302
        else:
            assert response.status_code in (403, 404), (url, response.status_code)
        assert_no_sentinel(url, browser.last_html)
    # And nothing about the client or its referrals changed
    assert snapshot(database, world["client_id"], (world["referral_id"], world["legal_referral_id"])) == before


def test_a_collaborator_cannot_reach_anothers_follow_up_or_consent_through_their_own_client(
        world, make_user, new_browser, database):
    # Given a collaborator with a client of their own
    mallory = make_user("collaborator")
    mine, _code = make_client(database, mallory.user_id, alias="MALLORYS OWN", history=False)
    browser = signed_in_as(new_browser, mallory)
    before = snapshot(database, world["client_id"])
    # When they send the victim's follow-up and consent ids under their own client's URL
    answers = [
        browser.post(f"/clients/{mine}/follow-ups/{world['follow_up_id']}/done", {}, page="/account").status_code,
        browser.post(f"/clients/{mine}/consents/{world['consent_id']}/withdraw", {}, page="/account").status_code,
    ]
    # Then both are 404 and the victim's records are untouched
    assert answers == [404, 404]
    assert snapshot(database, world["client_id"]) == before


def test_refer_elsewhere_with_another_clients_referral_leaks_nothing_and_is_refused(
        world, make_user, new_browser, database):
    # Given the victim's referral was declined (so it could be followed up), and Mallory's own client
    legal = world["legal_referral_id"]
    with database.transaction() as session:
        session.get(Referral, legal).status = "rejected"
    mallory = make_user("collaborator")
    mine, _code = make_client(database, mallory.user_id, alias="MALLORYS OWN", history=False)
    browser = signed_in_as(new_browser, mallory)
    victim_code = referral_code_of(database, legal)
    # When Mallory opens "refer elsewhere" for her client with the victim's referral as previous
    browser.get(f"/clients/{mine}/referrals/new?previous={legal}")
    assert victim_code not in browser.last_html
    response = browser.post(f"/clients/{mine}/referrals/new?previous={legal}", {
        "service_id": world["station_place"].service_id, "urgency": "routine", "consent": "y",
        "action": "send", "previous_referral_id": legal})
    # Then no referral is linked to the victim's one
    assert response.status_code == 200
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Referral)
                              .where(Referral.previous_referral_id == legal)) == 0


def test_a_reassigned_client_is_gone_for_the_previous_owner(world, make_user, new_browser):
    # Given an admin moves the client to another collaborator
    admin = signed_in_as(new_browser, make_user("admin"))
    bob = make_user("collaborator")
    admin.get("/clients/admin/reassign")
    response = admin.post("/clients/admin/reassign/client", {"display_code": world["display_code"],
                                                             "client_to": bob.user_id, "client_reason": "workload"})
    assert response.status_code == 302
    approve_all(new_browser, make_user)
    # When the previous owner opens the client, its referral and slip
    old = signed_in_as(new_browser, world["owner"])
    answers = [old.get(url).status_code for url in (f"/clients/{world['client_id']}",
                                                    f"/referrals/{world['referral_id']}",
                                                    f"/referrals/{world['referral_id']}/slip")]
    # Then all are gone for them, and the new owner has it
    assert answers == [404, 404, 404]
    assert signed_in_as(new_browser, bob).get(f"/clients/{world['client_id']}").status_code == 200


def test_unsafe_methods_and_head_do_not_bypass_the_checks(world, make_user, new_browser, app):
    # Given another collaborator and an anonymous visitor
    mallory = signed_in_as(new_browser, make_user("collaborator"))
    anonymous = new_browser().client
    url = f"/clients/{world['client_id']}"
    # When they use HEAD, OPTIONS, PUT and DELETE on a client URL
    answers = [mallory.client.head(url).status_code, mallory.client.options(url).status_code,
               anonymous.head(url).status_code, anonymous.open(url, method="PUT").status_code,
               mallory.client.delete(url).status_code]
    # Then nothing is served (OPTIONS only says which methods exist)
    assert answers[0] == 404 and answers[2] in (302, 403) and answers[3] in (403, 405) and answers[4] == 405
    assert answers[1] in (200, 403, 404)


# --- mass assignment -----------------------------------------------------------------------------


def test_registration_ignores_extra_fields_for_owner_status_code_and_id(make_user, new_browser, database):
    # Given a collaborator and a victim collaborator whose caseload she wants to plant a record in
    victim = make_user("collaborator")
    mallory = make_user("collaborator")
    browser = signed_in_as(new_browser, mallory)
    forced_id = new_id()
    # When she registers a client adding owner, status, code, id, minor flag and version fields
    browser.get("/clients/register")
    response = browser.post("/clients/register", {
        "consent_given": "y", "consent_method": "verbal", "consent_date": clock.local_today().isoformat(),
        "uic_declined": "y", "sex_gender": "female", "age_band": "25-34", "outreach_source": "venue",
        "contact_preference": "sms", "owner_id": victim.user_id, "status": "closed",
        "display_code": "KH-AAAA-AAAA", "id": forced_id, "is_minor": "y", "version": "99",
        "co_assignees": victim.user_id, "organisation_id": "x"})
    # Then the record is hers, open, with a random code and id
    assert response.status_code == 302
    client_id = response.headers["Location"].rsplit("/", 1)[1]
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.owner_id, client.status, client.is_minor) == (mallory.user_id, "open", False)
        assert client.version < 99
        assert client.display_code != "KH-AAAA-AAAA" and client.id != forced_id and not client.co_assignees


def test_a_status_change_ignores_extra_fields(world, make_user, new_browser, database):
    # Given the receiving provider opened the referral
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    rid = world["referral_id"]
    provider.get(f"/inbox/{rid}")
    version = snapshot(database, None, (rid,))[rid][1]
    # When they accept it and add fields to move it, re-address it and share the phone
    provider.post(f"/referrals/{rid}/status", {
        "to": "accepted", "version": str(version), "status": "completed", "organisation_id": world["legal"],
        "client_id": new_id(), "share_phone": "y", "business_status": "job-placed", "code": "RF-0000-0000"})
    # Then only the allowed change happened
    with database.transaction() as session:
        referral = session.get(Referral, rid)
        assert (referral.status, referral.organisation_id, referral.share_phone, referral.business_status,
                referral.client_id) == ("accepted", world["station"], False, None, world["client_id"])


def test_the_referrer_cannot_write_the_providers_feedback(world, new_browser, database):
    # Given the referring collaborator
    browser = signed_in_as(new_browser, world["owner"])
    rid = world["referral_id"]
    browser.get(f"/referrals/{rid}")
    # When they cancel it and slip in "feedback from the service"
    browser.post(f"/referrals/{rid}/status", {"to": "cancelled", "version": "1",
                                              "reason_code": "withdrawn-by-referrer",
                                              "feedback": "FAKE FEEDBACK FROM SERVICE"})
    # Then the cancel is recorded but no feedback is stored in the provider's name
    with database.transaction() as session:
        referral = session.get(Referral, rid)
        assert referral.status == "cancelled" and referral.feedback_enc is None


def test_admin_details_form_cannot_change_role_username_or_activity(make_user, new_browser, database):
    # Given an admin editing a collaborator's details (not access)
    admin = signed_in_as(new_browser, make_user("admin"))
    target = make_user("collaborator")
    other = signed_in_as(new_browser, target)
    admin.get(f"/admin/users/{target.user_id}")
    # When the details form carries role, username, active and password fields
    admin.post(f"/admin/users/{target.user_id}/details", {
        "display_name": "Renamed", "work_phone": "", "locale": "vi", "role": "admin", "username": "root",
        "active": "n", "organisation_id": new_id(), "must_change_password": "y", "totp_secret_enc": ""})
    # Then only the name changed; role, username, activity and second factor stay, and the session lives
    with database.transaction() as session:
        user = session.get(User, target.user_id)
        assert (user.display_name, user.role, user.username, user.active, user.must_change_password) == (
            "Renamed", "collaborator", target.username, True, False)
        assert user.totp_secret_enc is not None
    assert other.get("/clients/").status_code == 200


# --- referral lifecycle: out of order, wrong party, stale versions ------------------------------


TRANSITION_ATTACKS = [
    # (who, status before, to, reason/business) — every one must be refused
    ("provider", "requested", "completed", {"business_status": "test-done-result-given"}),
    ("provider", "requested", "in-progress", {}),
    ("provider", "received", "on-hold", {"reason_code": "other"}),
    ("provider", "requested", "cancelled", {"reason_code": "withdrawn-by-referrer"}),
    ("provider", "completed", "in-progress", {}),
    ("provider", "rejected", "accepted", {}),
    ("provider", "accepted", "entered-in-error", {"reason_code": "other"}),
    ("provider", "accepted", "requested", {}),
    ("referrer", "requested", "accepted", {}),
    ("referrer", "received", "rejected", {"reason_code": "no-capacity"}),
    ("referrer", "requested", "cancelled", {"reason_code": "expired"}),
    ("referrer", "accepted", "completed", {"business_status": "test-done-result-given"}),
    ("referrer", "cancelled", "requested", {}),
    ("admin", "requested", "cancelled", {"reason_code": "withdrawn-by-referrer"}),
    ("admin", "accepted", "completed", {"business_status": "test-done-result-given"}),
    ("other_provider", "accepted", "completed", {"business_status": "test-done-result-given"}),
]


@pytest.mark.parametrize(("who", "start", "to", "extra"), TRANSITION_ATTACKS)
def test_transitions_out_of_order_or_by_the_wrong_party_are_refused(who, start, to, extra, world, make_user,
                                                                    new_browser, database):
    # Given a referral in some status, and the organisation has a provider account
    rid = world["referral_id"]
    with database.transaction() as session:
        session.get(Referral, rid).status = start
    provider = make_user("provider", organisation_id=world["station"])
    account = {"provider": provider, "referrer": world["owner"],
               "admin": make_user("admin") if who == "admin" else None,
               "other_provider": make_user("provider", organisation_id=world["legal"])
               if who == "other_provider" else None}[who]
    browser = signed_in_as(new_browser, account)
    before = snapshot(database, None, (rid,))
    # When they post the change with the current version
    browser.post(f"/referrals/{rid}/status", {"to": to, "version": str(before[rid][1]), **extra},
                 page="/account")
    # Then nothing changed
    assert snapshot(database, None, (rid,)) == before


def test_a_stale_version_is_refused_even_for_an_allowed_change(world, make_user, new_browser, database):
    # Given the provider opened the referral (version moved on) and a colleague accepted it
    rid = world["referral_id"]
    first = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    first.get(f"/inbox/{rid}")
    seen = snapshot(database, None, (rid,))[rid][1]
    second = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    second.get(f"/inbox/{rid}")
    second.post(f"/referrals/{rid}/status", {"to": "accepted", "version": str(seen)})
    after_accept = snapshot(database, None, (rid,))
    assert after_accept[rid][0] == "accepted"
    # When the first provider, still on the old page, puts it on hold with the old version
    response = first.post(f"/referrals/{rid}/status", {"to": "on-hold", "version": str(seen),
                                                       "reason_code": "other"})
    # Then it is refused and they are told it changed
    assert snapshot(database, None, (rid,)) == after_accept
    first.get(response.headers["Location"])
    assert any("changed" in m or "thay đổi" in m for m in flashes(first.last_html)), flashes(first.last_html)


# --- provider: find by code ----------------------------------------------------------------------


def test_another_organisations_valid_code_looks_exactly_like_a_wrong_code(world, make_user, new_browser,
                                                                         database):
    # Given a provider of the legal-aid organisation who learnt a health-station referral's code
    browser = signed_in_as(new_browser, make_user("provider", organisation_id=world["legal"]))
    foreign = referral_code_of(database, world["referral_id"])
    well_formed = codes.referral_code()
    before = snapshot(database, None, (world["referral_id"],))
    audit_before = len(audit_rows(database))
    answers = []
    # When they type the foreign code (in several spellings), a well-formed unknown code and garbage
    for typed in (foreign, foreign.lower().replace("-", " "), well_formed, "RF-XXXX-XXXX", "nonsense"):
        browser.get("/inbox")
        response = browser.post("/inbox/find", {"code": typed})
        page = browser.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], page.status_code,
                        flashes(browser.last_html)))
    # Then every answer is identical, the referral is not marked received and no read is audited
    assert all(answer == answers[0] for answer in answers), answers
    assert snapshot(database, None, (world["referral_id"],)) == before
    actions = [row for row in audit_rows(database)[audit_before:] if "referral" in str(row)]
    assert actions == []


# --- open redirects ------------------------------------------------------------------------------


def _browser_target(location: str) -> str:
    """Where a browser goes: it drops tab/CR/LF from URLs and reads a backslash as a slash."""
    return re.sub(r"[\t\r\n]", "", location).replace("\\", "/")


def _leaves_the_site(location: str) -> bool:
    target = _browser_target(location).strip()
    return target.startswith("//") or bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target))


@pytest.mark.parametrize("next_url", [
    "//evil.example/", "https://evil.example/", "/\\evil.example/", "\\\\evil.example", "javascript:alert(1)",
    " //evil.example", "/%2F%2Fevil.example", "///evil.example", "http:evil.example",
])
def test_the_language_switch_never_redirects_off_the_site(next_url, browser):
    # Given an anonymous visitor on the sign-in page
    browser.get("/login")
    # When the language form is posted with a crafted "next"
    response = browser.post("/language", {"locale": "en", "next": next_url})
    # Then the redirect stays on this site
    assert response.status_code == 302
    assert not _leaves_the_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("next_url", ["/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/"])
def test_the_language_switch_is_not_fooled_by_control_characters(next_url, browser):
    # Given an anonymous visitor on the sign-in page
    browser.get("/login")
    # When the language form is posted with a "next" hiding a second slash behind a control character
    response = browser.post("/language", {"locale": "en", "next": next_url})
    # Then the redirect stays on this site (Werkzeug drops the control character: '//evil.example/')
    assert not _leaves_the_site(response.headers["Location"]), response.headers["Location"]


def test_a_crafted_link_does_not_turn_the_language_button_into_an_open_redirect(browser):
    # Given a victim who follows a link to this site whose path hides '//' behind a tab
    browser.get("/%09/evil.example/login")
    hidden = re.search(r'name="next" value="([^"]*)"', browser.last_html).group(1)
    # When they press the language button on that page (a same-site form with a valid token)
    response = browser.post("/language", {"locale": "en", "next": hidden})
    # Then they stay on this site
    assert not _leaves_the_site(response.headers["Location"]), response.headers["Location"]


def test_sign_in_ignores_a_next_parameter(browser, make_user):
    # Given a link to the sign-in page carrying a next= to another site
    account = make_user("collaborator")
    browser.get("/login?next=https://evil.example/")
    # When the person signs in
    browser.clock.advance(seconds=31)
    browser.post("/login?next=https://evil.example/", {"username": account.username,
                                                        "password": account.password})
    code = totp.code_at(account.totp_secret, browser.clock.now)
    response = browser.post("/login/code?next=//evil.example", {"code": code}, page="/login/code")
    # Then they land on this site
    assert response.status_code == 302 and not _leaves_the_site(response.headers["Location"])


# --- CSRF and sessions -----------------------------------------------------------------------------


def test_a_csrf_token_from_another_session_is_refused(world, make_user, new_browser, database):
    # Given Mallory's own valid CSRF token (from her own session)
    mallory = signed_in_as(new_browser, make_user("collaborator"))
    stolen = mallory.csrf_token("/account")
    victim = signed_in_as(new_browser, world["owner"])
    before = snapshot(database, world["client_id"])
    # When a forged request in the victim's session carries Mallory's token
    response = victim.post(f"/clients/{world['client_id']}/notes", {"body": "forged", "csrf_token": stolen})
    # Then it is refused and nothing is written
    assert response.status_code == 400
    assert snapshot(database, world["client_id"]) == before


def test_a_token_from_before_sign_in_does_not_work_after_it(world, new_browser, database):
    # Given a token taken from the sign-in page before the victim signed in, on the same browser
    victim = new_browser()
    early = victim.csrf_token("/login")
    victim.login(world["owner"])
    before = snapshot(database, world["client_id"])
    # When it is used after sign-in
    response = victim.post(f"/clients/{world['client_id']}/notes", {"body": "forged", "csrf_token": early})
    # Then it is refused
    assert response.status_code == 400
    assert snapshot(database, world["client_id"]) == before


def test_a_cross_site_post_is_refused_even_with_a_valid_token(world, new_browser, database):
    # Given the victim's own valid token
    victim = signed_in_as(new_browser, world["owner"])
    token = victim.csrf_token(f"/clients/{world['client_id']}")
    before = snapshot(database, world["client_id"])
    # When a page on another site makes the browser post (the browser says so in Sec-Fetch-Site)
    answers = [victim.client.post(url, data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code
               for url, data in ((f"/clients/{world['client_id']}/notes", {"body": "x", "csrf_token": token}),
                                 ("/language", {"locale": "en", "next": "/", "csrf_token": token}),
                                 ("/logout", {"csrf_token": token}))]
    # Then every one is refused
    assert answers == [400, 400, 400]
    assert snapshot(database, world["client_id"]) == before


def test_a_planted_cookie_does_not_become_the_victims_session(world, new_browser, app):
    # Given an attacker who got an anonymous cookie from the site and planted it in the victim's browser
    attacker = new_browser()
    attacker.get("/login")
    planted = attacker.client.get_cookie("casework_session").value
    victim = new_browser()
    victim.client.set_cookie("casework_session", planted)
    # When the victim signs in
    victim.login(world["owner"])
    # Then the attacker's copy of the planted cookie is still anonymous
    assert attacker.get(f"/clients/{world['client_id']}").status_code == 302
    assert victim.client.get_cookie("casework_session").value != planted
    # And a copy of the signed-in cookie dies with sign-out
    signed = victim.client.get_cookie("casework_session").value
    victim.post("/logout", {}, page="/account")
    thief = new_browser()
    thief.client.set_cookie("casework_session", signed)
    assert thief.get(f"/clients/{world['client_id']}").status_code == 302


def test_a_pending_sign_in_cookie_cannot_be_swapped_to_another_account(make_user, new_browser):
    # Given Mallory passed the password step for her own account
    mallory = make_user("collaborator")
    victim = make_user("collaborator")
    browser = new_browser()
    browser.clock.advance(seconds=31)
    browser.post("/login", {"username": mallory.username, "password": mallory.password}, page="/login")
    # When she sends the victim's current code at the second step
    code = totp.code_at(victim.totp_secret, browser.clock.now)
    response = browser.post("/login/code", {"code": code}, page="/login/code")
    # Then she is not signed in as anybody
    assert response.status_code == 200
    assert browser.get("/clients/").status_code == 302


def test_state_changing_urls_refuse_get(world, new_browser, database):
    # Given the owner is signed in
    browser = signed_in_as(new_browser, world["owner"])
    before = snapshot(database, world["client_id"], (world["referral_id"],))
    cid = world["client_id"]
    # When links (GET) point at actions
    urls = ["/logout", "/account/sessions/revoke", f"/clients/{cid}/notes",
            f"/clients/{cid}/reopen", f"/clients/{cid}/consents/{world['consent_id']}/withdraw",
            f"/clients/{cid}/follow-ups/{world['follow_up_id']}/done", f"/referrals/{world['referral_id']}/status",
            "/clients/find", "/language"]
    answers = {url: browser.get(url).status_code for url in urls}
    # Then none acts, and the session is still alive
    assert set(answers.values()) <= {404, 405}, answers
    assert snapshot(database, cid, (world["referral_id"],)) == before
    assert browser.get(f"/clients/{cid}").status_code == 200


# --- second factor and lockout ----------------------------------------------------------------------


def test_a_shoulder_surfed_code_cannot_be_replayed_from_another_device(make_user, new_browser):
    # Given the victim just signed in with a code (the attacker saw the password and the code)
    account = make_user("collaborator")
    victim = new_browser()
    victim.login(account)
    used = totp.code_at(account.totp_secret, victim.clock.now)
    # When the attacker, in the same 30 seconds, signs in with them on another device
    attacker = new_browser()
    attacker.post("/login", {"username": account.username, "password": account.password}, page="/login")
    response = attacker.post("/login/code", {"code": used}, page="/login/code")
    # Then the code is refused
    assert response.status_code == 200
    assert attacker.get("/clients/").status_code == 302


def test_a_recovery_code_cannot_be_replayed_in_another_spelling(signed_in, new_browser, database):
    # Given a user who printed recovery codes and used one
    browser, account = signed_in("collaborator")
    browser.get("/account/recovery-codes")
    html = browser.post("/account/recovery-codes", {"current_password": account.password}).get_data(as_text=True)
    recovery = re.findall(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", html)[0]
    first = new_browser()
    first.post("/login", {"username": account.username, "password": account.password}, page="/login")
    assert first.post("/login/code", {"code": recovery}, page="/login/code").status_code == 302
    # When someone replays it, lower-case, without the dash, with spaces
    for spelling in (recovery, recovery.lower(), recovery.replace("-", ""), " ".join(recovery)):
        again = new_browser()
        again.post("/login", {"username": account.username, "password": account.password}, page="/login")
        response = again.post("/login/code", {"code": spelling}, page="/login/code")
        # Then every replay is refused
        assert response.status_code == 200, spelling


def test_lockout_cannot_be_dodged_by_changing_the_usernames_case_or_spaces(make_user, new_browser, database):
    # Given an attacker guessing a password under spellings of the same username
    account = make_user("collaborator", username="lan.nguyen")
    browser = new_browser()
    for spelling in ("LAN.NGUYEN", " lan.nguyen", "Lan.Nguyen ", "lan.nguyen\t", "LaN.nGuYeN"):
        browser.post("/login", {"username": spelling, "password": "wrong password guess 1"}, page="/login")
    # When the right password is then tried (any spelling)
    response = browser.post("/login", {"username": account.username, "password": account.password},
                            page="/login")
    # Then the account is locked
    assert response.status_code == 200
    with database.transaction() as session:
        user = session.get(User, account.user_id)
        assert user.locked_until is not None and user.locked_until > clock.utcnow()


def test_failure_messages_do_not_tell_which_accounts_exist(make_user, new_browser, database):
    # Given a normal, a locked and a deactivated account, and a name that does not exist
    normal = make_user("collaborator")
    locked = make_user("collaborator")
    inactive = make_user("collaborator")
    with database.transaction() as session:
        session.get(User, locked.user_id).locked_until = clock.utcnow() + timedelta(minutes=10)
        session.get(User, inactive.user_id).active = False
    pages = {}
    # When each is tried with a wrong password (and the locked/inactive ones with the right one)
    for label, username, password in (("unknown", "nobody.here", "whatever password 1"),
                                      ("wrong", normal.username, "whatever password 1"),
                                      ("locked", locked.username, locked.password),
                                      ("inactive", inactive.username, inactive.password)):
        browser = new_browser()
        response = browser.post("/login", {"username": username, "password": password}, page="/login")
        page = strip_tokens(browser.last_html).replace(username, "USERNAME")
        pages[label] = (response.status_code, page)
    # Then every answer is the same page with the same message
    assert len(set(pages.values())) == 1, {k: v[0] for k, v in pages.items()}


def test_the_current_password_check_on_account_pages_is_not_an_unlimited_oracle(signed_in, database):
    # Given an attacker at an unlocked, signed-in screen trying to learn the password
    browser, account = signed_in("collaborator")
    browser.get("/account/password")
    # When they try five wrong "current passwords"
    for n in range(5):
        browser.post("/account/password", {"current_password": f"guess number {n} here",
                                           "new_password": "a brand new passphrase 9",
                                           "confirm": "a brand new passphrase 9"}, page="/account/password")
    # Then the account is locked like at sign-in (or the session ended)
    with database.transaction() as session:
        user = session.get(User, account.user_id)
        locked = user.locked_until is not None and user.locked_until > clock.utcnow()
    assert locked or browser.get("/clients/").status_code == 302


# --- client data leaking into URLs, cookies, flashes, logs, the audit table ---------------------------


@dataclass
class Recorder:
    """Keeps every place an observer outside the page body could read: URLs, Location headers, cookies."""

    urls: list[str]
    locations: list[str]
    cookies: list[str]

    def __call__(self, browser: Any, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        self.urls.append(url)
        response = browser.get(url) if method == "GET" else browser.post(url, data or {})
        if "Location" in response.headers:
            self.locations.append(response.headers["Location"])
        self.cookies.append(cookie_payload(browser))
        return response


def _assessment_form(note: str) -> dict[str, str]:
    from casework import vocab

    data = {"assessed_on": clock.local_today().isoformat(), "eligible": "y"}
    for code in vocab.NEED_DOMAINS:
        data[f"level_{code}"] = "urgent" if code == "hiv_sti_testing" else "none"
        data[f"note_{code}"] = note if code == "hiv_sti_testing" else ""
    return data


def test_client_data_never_reaches_urls_cookies_flashes_logs_or_the_audit_table(
        make_user, make_organisation, new_browser, database, caplog):
    # Given an observer of URLs, Location headers, the (readable) session cookie, DEBUG logs and the audit table
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "casework", "werkzeug", "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)
    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_place(database, station)
    owner = make_user("collaborator")
    provider_account = make_user("provider", organisation_id=station)
    rec = Recorder([], [], [])
    worker = signed_in_as(new_browser, owner)
    # When a case worker does the whole job through the web with sentinel client data
    rec(worker, "GET", "/clients/register")
    response = rec(worker, "POST", "/clients/register", {
        "consent_given": "y", "consent_method": "verbal", "consent_date": clock.local_today().isoformat(),
        "uic": S["uic"], "sex_gender": "female", "birth_year": "1990", "age_band": "unknown",
        "outreach_source": "venue", "contact_preference": "call", "alias": S["alias"], "phone": S["phone"],
        "residence": S["residence"], "consent_share": "y", "consent_contact": "y"})
    client_id = response.headers["Location"].rsplit("/", 1)[1]
    rec(worker, "GET", "/clients/")
    found = rec(worker, "POST", "/clients/find", {"query": S["uic"].lower()})
    assert found.headers["Location"].endswith(client_id)
    rec(worker, "GET", "/clients/")
    rec(worker, "POST", "/clients/find", {"query": "ZZZZ1999M"})  # a UIC that is nowhere
    rec(worker, "GET", f"/clients/{client_id}/correct")
    rec(worker, "POST", f"/clients/{client_id}/correct", {
        "uic": S["uic"], "alias": S["other_alias"], "phone": S["other_phone"], "birth_year": "1990",
        "residence": S["residence"], "sex_gender": "female", "age_band": "unknown", "outreach_source": "venue",
        "contact_preference": "call"})
    rec(worker, "GET", f"/clients/{client_id}")
    rec(worker, "POST", f"/clients/{client_id}/notes", {"body": S["note"]})
    rec(worker, "GET", f"/clients/{client_id}")
    rec(worker, "POST", f"/clients/{client_id}/follow-ups", {"due_on": clock.local_today().isoformat(),
                                                            "description": S["follow"]})
    rec(worker, "GET", f"/clients/{client_id}/assessment")
    rec(worker, "POST", f"/clients/{client_id}/assessment", _assessment_form(S["need"]))
    rec(worker, "GET", f"/clients/{client_id}/referrals/new")
    sent = rec(worker, "POST", f"/clients/{client_id}/referrals/new", {
        "service_id": place.service_id, "urgency": "urgent", "share_phone": "y",
        "note_to_receiver": S["receiver"], "consent": "y", "action": "send", "previous_referral_id": ""})
    assert sent.status_code == 302, flashes(worker.last_html)
    rec(worker, "GET", sent.headers["Location"])
    with database.transaction() as session:
        referral_id = session.scalar(select(Referral.id).where(Referral.client_id == client_id))
    provider = signed_in_as(new_browser, provider_account)
    rec(provider, "GET", "/inbox")
    rec(provider, "POST", "/inbox/find", {"code": referral_code_of(database, referral_id)})
    rec(provider, "GET", f"/inbox/{referral_id}")
    rec(provider, "POST", f"/referrals/{referral_id}/status", {
        "to": "rejected", "version": str(snapshot(database, None, (referral_id,))[referral_id][1]),
        "reason_code": "no-capacity", "reason_text": "REASONSENTINELZQ", "feedback": "FEEDBACKSENTINELZQ"})
    rec(worker, "GET", f"/referrals/{referral_id}")
    assert "FEEDBACKSENTINELZQ" in worker.last_html  # the flow really ran
    rec(worker, "GET", f"/clients/{client_id}/record")
    rec(worker, "GET", f"/clients/{client_id}/erase")
    rec(worker, "POST", f"/clients/{client_id}/erase", {"display_code": "KH-0000-0000"})
    # Then no sentinel is in any URL, Location header, session cookie (flashes live there), log line,
    # or audit row
    extra = ("REASONSENTINELZQ", "FEEDBACKSENTINELZQ")
    for where, blob in (("urls", "\n".join(rec.urls)), ("locations", "\n".join(rec.locations)),
                        ("cookies", "\n".join(rec.cookies)), ("logs", caplog.text),
                        ("audit", "\n".join(map(str, audit_rows(database))))):
        assert_no_sentinel(where, blob)
        assert not any(value in blob for value in extra), where
        assert S["uic"].lower() not in blob.lower(), where
    assert rec.cookies and all(rec.cookies), "the session cookie was readable"


def test_a_searched_uic_is_not_echoed_into_a_get_url_or_cookie(world, new_browser):
    # Given the owner searches by UIC and the UIC also exists in another caseload
    browser = signed_in_as(new_browser, world["owner"])
    browser.get("/clients/")
    response = browser.post("/clients/find", {"query": "ZZZZ2000M"})
    # When the page answers (no match) and offers to request co-assignment
    # Then the UIC is carried only in the POST form, never in a link or the cookie
    links = re.findall(r'(?:href|action)="([^"]*)"', browser.last_html)
    assert response.status_code == 200
    assert not any("ZZZZ2000M" in link.upper() for link in links)
    assert "ZZZZ2000M" not in cookie_payload(browser).upper()


# --- stored HTML injection ------------------------------------------------------------------------------

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def _unescaped(html: str) -> bool:
    return "<script>alert(1)" in html or "<img src=x onerror" in html


def test_stored_markup_in_every_free_text_field_is_shown_as_text(world, make_user, new_browser, database):
    # Given markup planted in an HSDS import (organisation and service names, hours), in a client's alias,
    # residence and note, in the note to the receiver, the provider's feedback and a staff display name
    import io

    admin = signed_in_as(new_browser, make_user("admin"))
    document = json.loads(admin.get("/directory/export.json").get_data(as_text=True))
    for org in document["organizations"]:
        if org["id"] == world["station"]:
            org["name"] = "Trạm " + PAYLOAD
            for service in org["services"]:
                service["name"] = "Dịch vụ " + PAYLOAD
                for schedule in service.get("schedules", []):
                    schedule["description"] = PAYLOAD
    admin.get("/directory/import")
    response = admin.post("/directory/import", {"file": (io.BytesIO(json.dumps(document).encode()), "d.json")})
    assert response.status_code == 302, flashes(admin.last_html) or admin.last_html[-1500:]
    provider_account = make_user("provider", organisation_id=world["station"])
    admin.get(f"/admin/users/{world['owner'].user_id}")
    admin.post(f"/admin/users/{world['owner'].user_id}/details",
               {"display_name": "Chị " + PAYLOAD, "work_phone": "", "locale": "vi"})
    with database.transaction() as session:
        client = session.get(Client, world["client_id"])
        client.alias = PAYLOAD[:80]
        client.residence = PAYLOAD
        note = CaseNote(id=new_id(), client_id=client.id, author_id=world["owner"].user_id)
        session.add(note)
        note.body = PAYLOAD + "\nline two " + PAYLOAD
        referral = session.get(Referral, world["referral_id"])
        referral.note_to_receiver = PAYLOAD
        referral.feedback = PAYLOAD
    # When every page that shows them is opened by the people who see them
    owner = signed_in_as(new_browser, world["owner"])
    provider = signed_in_as(new_browser, provider_account)
    pages = {}
    for who, browser, urls in (
            ("owner", owner, [f"/clients/{world['client_id']}", f"/clients/{world['client_id']}/record",
                              f"/clients/{world['client_id']}/correct", f"/referrals/{world['referral_id']}",
                              f"/referrals/{world['referral_id']}/slip", "/referrals/sent", "/clients/",
                              f"/clients/{world['client_id']}/referrals/new", "/directory/",
                              f"/directory/services/{world['station_place'].service_id}"]),
            ("provider", provider, ["/inbox", f"/inbox/{world['referral_id']}"]),
            ("admin", admin, ["/admin/users", f"/admin/users/{world['owner'].user_id}", "/admin/organisations",
                              "/directory/", "/clients/admin/reassign"])):
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, (who, url)
            pages[(who, url)] = browser.last_html
    # Then the markup appears only escaped, never as live HTML
    assert any("&lt;script&gt;alert(1)" in html for html in pages.values())
    live = [key for key, html in pages.items() if _unescaped(html)]
    assert live == []


# --- headers on error responses ---------------------------------------------------------------------


def assert_locked_down(response: Any) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp
    for name, value in SEC_HEADERS.items():
        assert headers.get(name) == value, (response.status_code, name, headers.get(name))


def test_error_responses_carry_the_security_headers(world, new_browser, app, database):
    # Given a signed-in owner and an anonymous visitor
    owner = signed_in_as(new_browser, world["owner"])
    anonymous = new_browser()
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    # When they provoke 400, 403, 404, 405, 413 (also behind login) and a 500 integrity page
    answers = [
        anonymous.client.post("/login", data={"username": "a", "password": "b"}),  # no CSRF → 400
        anonymous.client.post(f"/clients/{world['client_id']}/notes", data={"body": "x"}),  # 400 (CSRF first)
        owner.get("/admin/users"),  # 403
        owner.get(f"/clients/{new_id()}"),  # 404
        anonymous.get("/no/such/page"),  # 404
        owner.get("/logout"),  # 405
        owner.post(f"/clients/{world['client_id']}/notes", {"body": big}, page="/account"),  # 413
    ]
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET alias_enc = :bad WHERE id = :id"),
                        {"bad": "cw1.nokey.AAAA", "id": world["client_id"]})
    answers.append(owner.get(f"/clients/{world['client_id']}"))  # integrity failure → 500
    # Then each has its status and every security header, and no stack trace
    assert [r.status_code for r in answers] == [400, 400, 403, 404, 404, 405, 413, 500]
    for response in answers:
        assert_locked_down(response)
        assert "Traceback" not in response.get_data(as_text=True)


def test_the_rate_limit_page_has_the_headers_and_forged_forwarding_headers_do_not_reset_it(
        settings, request, make_user):
    # Given a sign-in limit of 3 per minute and no trusted proxy
    settings.login_rate_limit = "3 per minute"
    browser = request.getfixturevalue("browser")
    answers = []
    # When an attacker keeps guessing, changing X-Forwarded-For and X-Real-IP each time
    for n in range(6):
        token = browser.csrf_token("/login")
        response = browser.client.post("/login", data={"username": "someone", "password": f"guess {n} x",
                                                       "csrf_token": token},
                                       headers={"X-Forwarded-For": f"10.0.0.{n}", "X-Real-IP": f"10.1.0.{n}"})
        answers.append(response)
    # Then after three tries the limit holds, with the 429 page and its headers
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429, 429]
    assert_locked_down(answers[-1])


# --- integrity: a ciphertext moved to another row ----------------------------------------------------


def test_a_ciphertext_copied_from_another_client_shows_the_integrity_page_and_is_audited(
        world, make_user, new_browser, database):
    # Given someone with database access copies client B's alias and phone ciphertexts into client A
    other_owner = make_user("collaborator")
    b_id, _ = make_client(database, other_owner.user_id, alias=S["other_alias"], phone=S["other_phone"],
                          uic="QQQQ1990F", history=False)
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET alias_enc = (SELECT alias_enc FROM clients WHERE id = :b), "
                             "phone_enc = (SELECT phone_enc FROM clients WHERE id = :b) WHERE id = :a"),
                        {"a": world["client_id"], "b": b_id})
    owner = signed_in_as(new_browser, world["owner"])
    audit_before = len(audit_rows(database))
    # When A's owner opens A's page, its access sheet and its correction form
    answers = [owner.get(url) for url in (f"/clients/{world['client_id']}", f"/clients/{world['client_id']}/record",
                                          f"/clients/{world['client_id']}/correct")]
    # Then each is a clear integrity page, never B's data, and each failure is audited against A
    for response in answers:
        html = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "integrity" in html.lower() or "toàn vẹn" in html.lower(), html[-800:]
        assert S["other_alias"] not in html and S["other_phone"] not in html
    failures = [row for row in audit_rows(database)[audit_before:] if "integrity.failure" in row]
    assert len(failures) == 3 and all(world["client_id"] in row for row in failures)
    assert all(world["owner"].user_id in row for row in failures)


def test_a_moved_phone_or_note_shows_the_provider_an_integrity_page(world, make_user, new_browser, database):
    # Given the phone is shared on this referral, and someone copies another client's phone and
    # another referral's note into it
    other_owner = make_user("collaborator")
    b_id, _ = make_client(database, other_owner.user_id, alias=S["other_alias"], phone=S["other_phone"],
                          uic="QQQQ1990F", history=False)
    b_ref = make_referral(database, client_id=b_id, place=world["station_place"], referred_by=other_owner.user_id,
                          note="OTHER CLIENTS NOTE ZQ")
    with database.transaction() as session:
        session.get(Referral, world["referral_id"]).share_phone = True
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET phone_enc = (SELECT phone_enc FROM clients WHERE id = :b) "
                             "WHERE id = :a"), {"a": world["client_id"], "b": b_id})
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    first = provider.get(f"/inbox/{world['referral_id']}")
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET phone_enc = NULL WHERE id = :a"), {"a": world["client_id"]})
        session.execute(text("UPDATE referrals SET note_to_receiver_enc = (SELECT note_to_receiver_enc FROM "
                             "referrals WHERE id = :b) WHERE id = :a"), {"a": world["referral_id"], "b": b_ref})
    # When the provider opens the referral
    second = provider.get(f"/inbox/{world['referral_id']}")
    # Then they see an integrity page, never the other client's phone or note
    for response in (first, second):
        html = response.get_data(as_text=True)
        assert response.status_code == 500
        assert S["other_phone"] not in html and "OTHER CLIENTS NOTE ZQ" not in html


# --- audit log tampering -------------------------------------------------------------------------------


def _tamper(database: Any, statement: str, **params: Any) -> None:
    """Write to audit_events as a database owner would: around the append-only triggers."""
    with database.engine.begin() as conn:
        if BACKEND == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for name in ("audit_events_no_update", "audit_events_no_delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text(statement), params)


def _cli_verify(settings: Any, monkeypatch: Any, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from casework.cli import cli

    monkeypatch.setenv("CASEWORK_MODE", settings.mode)
    monkeypatch.setenv("CASEWORK_INSTANCE_PATH", str(settings.instance_path))
    monkeypatch.setenv("CASEWORK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASEWORK_KEYS_DIR", str(settings.keys_dir))
    result = CliRunner().invoke(cli, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_audit_tampering_is_named_by_audit_verify(world, new_browser, database, settings, monkeypatch):
    # Given a trail of real reads and changes, and its head kept elsewhere
    owner = signed_in_as(new_browser, world["owner"])
    owner.get(f"/clients/{world['client_id']}")
    owner.get(f"/clients/{world['client_id']}/record")
    from casework.audit import head

    with database.transaction() as session:
        _last, kept_head = head(session)
        view_id = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "client.viewed")
                                 .order_by(AuditEvent.id))
    code, output = _cli_verify(settings, monkeypatch)
    assert code == 0 and output.startswith("OK")
    # When an insider erases who looked at the record (rewrites the actor of the first view)
    _tamper(database, "UPDATE audit_events SET actor_id = NULL WHERE id = :id", id=view_id)
    # Then `casework audit verify` fails and names that row
    code, output = _cli_verify(settings, monkeypatch)
    assert code == 1 and f"row {view_id}" in output
    # And an insider who also recomputes every later hash is caught by the head kept elsewhere
    from casework.audit.chain import row_hash

    with database.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(AuditEvent.__table__)
                                                       .where(AuditEvent.id >= view_id).order_by(AuditEvent.id))]
        prev = conn.execute(select(AuditEvent.hash).where(AuditEvent.id == view_id - 1)).scalar()
    for row in rows:
        row["prev_hash"] = prev or "0" * 64
        row["hash"] = prev = row_hash(row)
        _tamper(database, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id",
                p=row["prev_hash"], h=row["hash"], id=row["id"])
    # Then the rewritten chain follows on, but its seals (keyed) do not hold from the first rewritten row
    code, output = _cli_verify(settings, monkeypatch)
    assert code == 1 and f"row {view_id}" in output and "seal" in output
    code, output = _cli_verify(settings, monkeypatch, "--expect-head", kept_head)
    assert code == 1 and "BROKEN" in output


def test_cutting_the_tail_of_the_audit_log_is_caught_with_the_kept_head(world, new_browser, database, settings,
                                                                       monkeypatch):
    # Given reads of the record and the head hash kept elsewhere
    owner = signed_in_as(new_browser, world["owner"])
    owner.get(f"/clients/{world['client_id']}")
    from casework.audit import head

    with database.transaction() as session:
        last, kept_head = head(session)
    # When an insider deletes the newest rows (their own last reads)
    _tamper(database, "DELETE FROM audit_events WHERE id > :keep", keep=last - 2)
    # Then verify reports it from the head casework recorded outside the database, as it does with a kept head
    code, output = _cli_verify(settings, monkeypatch)
    assert code == 1 and "recorded outside the database" in output
    code, output = _cli_verify(settings, monkeypatch, "--expect-head", kept_head)
    assert code == 1 and "BROKEN" in output


# --- what a provider and the slip may show --------------------------------------------------------------


def _withdraw(browser: Any, client_id: str, consent_id: str) -> None:
    browser.get(f"/clients/{client_id}")
    response = browser.post(f"/clients/{client_id}/consents/{consent_id}/withdraw", {})
    assert response.status_code == 302


@pytest.mark.parametrize("purpose", ["share_with_provider", "registration"])
def test_after_consent_is_withdrawn_the_provider_no_longer_sees_the_phone(purpose, world, make_user, new_browser,
                                                                          database):
    # Given a referral on which the client agreed to share the phone, open at the provider
    with database.transaction() as session:
        session.get(Referral, world["referral_id"]).share_phone = True
        consent_id = session.scalar(select(Consent.id).where(Consent.client_id == world["client_id"],
                                                             Consent.purpose == purpose))
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    provider.get(f"/inbox/{world['referral_id']}")
    assert S["phone"] in provider.last_html
    # When the client withdraws that consent with their case worker
    _withdraw(signed_in_as(new_browser, world["owner"]), world["client_id"], consent_id)
    # Then the provider no longer sees the phone number
    provider.get(f"/inbox/{world['referral_id']}")
    assert S["phone"] not in provider.last_html


def test_a_corrected_phone_is_not_shared_beyond_what_was_agreed(world, make_user, new_browser, database):
    # Given a referral that shares the phone, and later the worker corrects the phone number
    with database.transaction() as session:
        session.get(Referral, world["referral_id"]).share_phone = True
    owner = signed_in_as(new_browser, world["owner"])
    owner.get(f"/clients/{world['client_id']}/correct")
    owner.post(f"/clients/{world['client_id']}/correct", {
        "uic": S["uic"], "alias": S["alias"], "phone": S["other_phone"], "residence": S["residence"],
        "sex_gender": "female", "age_band": "25-34", "outreach_source": "venue", "contact_preference": "call"})
    # When the provider of ANOTHER organisation's old referral and of this one look
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=world["legal"]))
    provider.get(f"/inbox/{world['legal_referral_id']}")
    # Then the organisation whose referral did not share the phone sees neither number
    assert S["phone"] not in provider.last_html and S["other_phone"] not in provider.last_html


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_provider_pages_and_slip_of_a_minor_say_nothing_about_selling_sex(locale, make_organisation, make_user,
                                                                         new_browser, database, settings):
    # Given a child client referred for child protection, and the programme's public name
    org = make_organisation("Trung tâm bảo vệ trẻ em", "social_protection")
    place = make_place(database, org, name="Hỗ trợ trẻ em", need="child_protection")
    owner = make_user("collaborator")
    client_id, display_code = make_client(database, owner.user_id, age_band="lt18")
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    pages = []
    # When the provider (inbox, referral page) and the client (slip) read them in either language
    for account, urls in ((make_user("provider", organisation_id=org), ["/inbox", f"/inbox/{referral_id}",
                                                                         "/inbox?tab=closed"]),
                          (owner, [f"/referrals/{referral_id}/slip"])):
        browser = signed_in_as(new_browser, account)
        browser.get("/account")
        browser.post("/language", {"locale": locale, "next": "/account"})
        for url in urls:
            assert browser.get(url).status_code == 200, url
            pages.append((url, browser.last_html.lower()))
    # Then no page says what the programme is about, and the slip carries no client code or name
    for url, html in pages:
        assert not any(word in html for word in FORBIDDEN_WORDS), url
        assert_no_sentinel(url, html, ("uic", "alias", "phone", "residence", "note", "need", "follow"))
    slip = pages[-1][1]
    assert display_code.lower() not in slip


def test_admin_screens_never_show_client_contents(world, make_user, new_browser, database):
    # Given a rich client record, a co-assignment request and an admin
    mallory = signed_in_as(new_browser, make_user("collaborator"))
    mallory.get("/clients/")
    mallory.post("/clients/find", {"query": S["uic"]})
    request_form = re.search(r'name="uic"[^>]*value="([^"]*)"', mallory.last_html)
    mallory.post("/clients/co-assignment-requests", {"uic": request_form.group(1) if request_form else S["uic"]})
    admin = signed_in_as(new_browser, make_user("admin"))
    code = referral_code_of(database, world["referral_id"])
    # When the admin goes through every admin screen, including finding the referral by code
    html = []
    for url in ("/admin/users", "/admin/organisations", "/admin/audit", "/admin/keys", "/clients/admin/reassign",
                "/referrals/correct", "/directory/", f"/admin/users/{world['owner'].user_id}"):
        assert admin.get(url).status_code == 200, url
        html.append(admin.last_html)
    admin.post("/referrals/correct", {"code": code})
    html.append(admin.last_html)
    # Then no client content appears (the display code on the reassignment screen is allowed)
    for page in html:
        assert_no_sentinel("admin", page)
    assert code in html[-1]


def test_a_provider_moved_to_another_organisation_loses_the_old_inbox(world, make_user, new_browser, database):
    # Given a provider of the health station who can open its referral
    account = make_user("provider", organisation_id=world["station"])
    provider = signed_in_as(new_browser, account)
    assert provider.get(f"/inbox/{world['referral_id']}").status_code == 200
    # When an admin moves them to the legal-aid organisation
    admin = signed_in_as(new_browser, make_user("admin"))
    admin.get(f"/admin/users/{account.user_id}")
    admin.post(f"/admin/users/{account.user_id}/access", {"role": "provider", "organisation_id": world["legal"]})
    # Then the old session is over, and after signing in again the old referral is out of reach
    assert provider.get("/inbox").status_code == 302
    provider.login(account)
    assert provider.get(f"/inbox/{world['referral_id']}").status_code == 404
    assert provider.get(f"/inbox/{world['legal_referral_id']}").status_code == 200


# --- reads without a trace, account takeover from an unlocked screen, erasure ------------------------------


def test_the_referral_preview_that_shows_the_phone_is_audited(world, new_browser, database):
    # Given the case worker on the new-referral page
    owner = signed_in_as(new_browser, world["owner"])
    owner.get(f"/clients/{world['client_id']}/referrals/new")
    before = len(audit_rows(database))
    # When they ask to see what will be shared, phone included (a read of the phone number)
    owner.post(f"/clients/{world['client_id']}/referrals/new", {
        "service_id": world["station_place"].service_id, "urgency": "routine", "share_phone": "y",
        "action": "preview", "previous_referral_id": ""})
    assert S["phone"] in owner.last_html
    # Then the read is in the audit log, like every other read of client data
    reads = [row for row in audit_rows(database)[before:] if world["client_id"] in row]
    assert reads, "no audit entry for a page that displayed the phone"


def test_an_unlocked_screen_is_not_enough_to_mint_recovery_codes(signed_in, database):
    # Given someone at a colleague's unlocked, signed-in screen
    browser, account = signed_in("collaborator")
    from casework.auth.models import RecoveryCode

    def stored() -> list[str]:
        with database.transaction() as session:
            return sorted(session.scalars(select(RecoveryCode.code_hash)
                                          .where(RecoveryCode.user_id == account.user_id)))

    before = stored()
    # When they ask for new recovery codes by link, with no password, or with a guessed one
    pages = [browser.get("/account/recovery-codes")]
    pages.append(browser.post("/account/recovery-codes", {}, page="/account"))
    pages.append(browser.post("/account/recovery-codes", {"current_password": "a guess at the password"},
                              page="/account"))
    # Then no codes are shown and the stored ones are unchanged (the password is asked for first)
    for response in pages:
        assert not re.findall(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", response.get_data(as_text=True))
    assert stored() == before


def test_erasure_leaves_nothing_but_ids_in_the_audit_log(world, new_browser, database):
    # Given the client's ciphertexts and codes as stored before erasure
    code = referral_code_of(database, world["referral_id"])
    with database.transaction() as session:
        client = session.get(Client, world["client_id"])
        secrets_ = [client.alias_enc, client.phone_enc, client.uic_enc, client.residence_enc, world["display_code"]]
        secrets_ += [code]
        secrets_ += list(session.scalars(select(CaseNote.body_enc).where(CaseNote.client_id == client.id)))
    owner = signed_in_as(new_browser, world["owner"])
    # When the client exercises the right to erasure through the web
    owner.get(f"/clients/{world['client_id']}/erase")
    response = owner.post(f"/clients/{world['client_id']}/erase", {"display_code": world["display_code"].lower()})
    assert response.status_code == 302
    # Then no table holds the client id, code or any ciphertext, except audit rows holding the id only
    with database.engine.connect() as conn:
        tables = [t for t in conn.dialect.get_table_names(conn) if t not in ("alembic_version",)]
        for table in tables:
            query = text(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema itself)
            dump = "\n".join(map(str, conn.execute(query).all()))
            for value in secrets_:
                assert value not in dump, (table, value[:20])
            if table != "audit_events":
                assert world["client_id"] not in dump, table
    # And on SQLite the ciphertexts are not left in the database file or its write-ahead log
    if BACKEND == "sqlite":
        from pathlib import Path

        path = Path(database.engine.url.database)
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        for value in secrets_[:4]:
            assert value.encode() not in raw


def test_a_referral_entered_in_error_for_the_wrong_client_is_withdrawn_from_the_provider(
        world, make_user, new_browser, database):
    # Given a referral that shared the phone, opened by the provider
    rid = world["referral_id"]
    with database.transaction() as session:
        session.get(Referral, rid).share_phone = True
    provider = signed_in_as(new_browser, make_user("provider", organisation_id=world["station"]))
    provider.get(f"/inbox/{rid}")
    assert S["phone"] in provider.last_html
    # When an admin marks it entered in error: it was recorded for the wrong client
    admin = signed_in_as(new_browser, make_user("admin"))
    admin.get("/referrals/correct")
    admin.post("/referrals/correct", {"code": referral_code_of(database, rid)})
    version = snapshot(database, None, (rid,))[rid][1]
    admin.post(f"/referrals/{rid}/status", {"to": "entered-in-error", "version": str(version),
                                            "reason_code": "wrong-client"})
    assert snapshot(database, None, (rid,))[rid][0] == "entered-in-error"
    # Then the provider, who kept the link, no longer sees that person's details
    provider.get(f"/inbox/{rid}")
    assert S["phone"] not in provider.last_html and world["display_code"] not in provider.last_html


# --- races: parallel requests against per-account counters ---------------------------------------------


def _in_parallel(monkeypatch: Any, module: Any, name: str, calls: list[Any], wait: float = 2.0) -> list[Any]:
    """Run ``calls`` in threads that all pause inside ``module.name`` until every one got there (or
    ``wait`` passed: a backend that serialises the requests never lets them meet)."""
    import threading

    original = getattr(module, name)
    barrier = threading.Barrier(len(calls))

    def meeting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        try:
            barrier.wait(timeout=wait)
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(module, name, meeting)
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.setattr(module, name, original)
    return results


def test_parallel_password_guesses_still_lock_the_account(make_user, new_browser, database, monkeypatch):
    # Given an attacker with eight connections (e.g. eight addresses) guessing one account's password
    from casework.auth import passwords

    account = make_user("collaborator")
    browsers = [new_browser() for _ in range(8)]
    tokens = [b.csrf_token("/login") for b in browsers]
    calls = [lambda b=b, t=t, n=n: b.client.post("/login", data={
        "username": account.username, "password": f"wrong guess number {n}", "csrf_token": t})
        for n, (b, t) in enumerate(zip(browsers, tokens, strict=True))]
    # When the eight guesses arrive at the same moment
    _in_parallel(monkeypatch, passwords, "verify_password", calls)
    # Then at least five failures were counted and the account is locked
    with database.transaction() as session:
        user = session.get(User, account.user_id)
        assert user.locked_until is not None and user.locked_until > clock.utcnow(), user.failed_logins


def test_one_code_cannot_open_two_sessions_in_parallel(make_user, new_browser, monkeypatch):
    # Given an attacker who has the password and sees the victim type a code, both at the code step
    from casework.auth import totp as totp_module

    account = make_user("collaborator")
    victim, attacker = new_browser(), new_browser()
    victim.clock.advance(seconds=31)
    for browser in (victim, attacker):
        browser.post("/login", {"username": account.username, "password": account.password}, page="/login")
    code = totp.code_at(account.totp_secret, victim.clock.now)
    tokens = [b.csrf_token("/login/code") for b in (victim, attacker)]
    calls = [lambda b=b, t=t: b.client.post("/login/code", data={"code": code, "csrf_token": t})
             for b, t in ((victim, tokens[0]), (attacker, tokens[1]))]
    # When both send the same code at the same moment
    results = _in_parallel(monkeypatch, totp_module, "matching_step", calls)
    # Then only one of them is signed in
    assert sorted(r.status_code for r in results) == [200, 302]


def test_one_recovery_code_cannot_open_two_sessions_in_parallel(signed_in, new_browser, monkeypatch):
    # Given a printed recovery code known to an attacker, who is at the code step alongside the owner
    from casework.auth import passwords

    browser, account = signed_in("collaborator")
    browser.get("/account/recovery-codes")
    html = browser.post("/account/recovery-codes", {"current_password": account.password}).get_data(as_text=True)
    recovery = re.findall(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", html)[0]
    pair = [new_browser(), new_browser()]
    for b in pair:
        b.post("/login", {"username": account.username, "password": account.password}, page="/login")
    tokens = [b.csrf_token("/login/code") for b in pair]
    calls = [lambda b=b, t=t: b.client.post("/login/code", data={"code": recovery, "csrf_token": t})
             for b, t in zip(pair, tokens, strict=True)]
    # When both send it at the same moment
    results = _in_parallel(monkeypatch, passwords, "verify_password", calls)
    # Then it works once only
    assert sorted(r.status_code for r in results) == [200, 302]


def test_one_time_passwords_and_recovery_codes_stay_out_of_cookies_logs_and_audit(
        make_user, new_browser, database, caplog):
    # Given an admin and a collaborator, with every logger at DEBUG
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "casework"):
        caplog.set_level(logging.DEBUG, logger=name)
    admin = signed_in_as(new_browser, make_user("admin"))
    target = make_user("collaborator")
    cookies = []
    # When the admin creates an account and resets a password, and the collaborator makes recovery codes
    admin.get("/admin/users/new")
    created = admin.post("/admin/users/new", {"username": "new.worker", "display_name": "New Worker",
                                              "role": "collaborator", "organisation_id": "", "work_phone": "",
                                              "locale": "vi"}).get_data(as_text=True)
    cookies.append(cookie_payload(admin))
    admin.get(f"/admin/users/{target.user_id}")
    reset = admin.post(f"/admin/users/{target.user_id}/password", {}).get_data(as_text=True)
    cookies.append(cookie_payload(admin))
    worker_account = make_user("collaborator")
    worker = signed_in_as(new_browser, worker_account)
    worker.get("/account/recovery-codes")
    codes_page = worker.post("/account/recovery-codes", {"current_password": worker_account.password})
    cookies.append(cookie_payload(worker))
    secrets_shown = re.findall(r"\b[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}\b", created + reset)
    assert len(secrets_shown) >= 2, "the one-time passwords were not shown"
    recovery = re.findall(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", codes_page.get_data(as_text=True))
    assert len(recovery) == 10, "the recovery codes were not shown"
    secrets_shown += recovery + [code.replace("-", "") for code in recovery]
    # Then none of them is in a cookie, a log line or the audit table
    blob = "\n".join(cookies) + caplog.text + "\n".join(map(str, audit_rows(database)))
    for secret in secrets_shown:
        assert secret not in blob


# --- deny by default, seen from the least trusted roles ---------------------------------------------------

SUPERVISOR_MAY_REACH = {"core.home", "auth.account", "auth.logout", "auth.logout_everywhere", "auth.change_password",
                        "auth.enrol_second_factor", "auth.new_enrolment_key", "auth.new_recovery_codes",
                        "auth.set_language", "auth.login", "auth.keepalive", "auth.held_forms",
                        "auth.discard_held_form",
                        "auth.login_second_factor", "core.health", "static",
                        # The second person of a caseload move or co-assignment: names and counts only
                        "approvals.index", "approvals.decide"}


def test_a_supervisor_reaches_no_endpoint_that_touches_clients_referrals_or_accounts(world, make_user,
                                                                                   new_browser, app):
    # Given a signed-in supervisor (reports only) and every route the application has
    from casework import policy

    browser = signed_in_as(new_browser, make_user("supervisor"))
    reachable = set()
    with app.test_request_context():
        for endpoint in app.view_functions:
            if "supervisor" in policy.allowed_roles(endpoint):
                reachable.add(endpoint)
    # Then only their own account pages and (if built) the reports are declared for them
    assert {e for e in reachable if not e.startswith("reports.")} <= SUPERVISOR_MAY_REACH, reachable
    # And when they call every other route with real ids, each is refused without content
    ids = {"client_id": world["client_id"], "referral_id": world["referral_id"], "user_id": world["owner"].user_id,
           "consent_id": world["consent_id"], "follow_up_id": world["follow_up_id"], "request_id": new_id(),
           "organisation_id": world["station"], "service_id": world["station_place"].service_id,
           "location_id": new_id(), "note_id": new_id(), "filename": "casework.css", "change_id": new_id(),
           "act": "deactivate", "held_id": new_id()}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in reachable:
            continue
        url = rule.build({k: ids[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = (browser.get(url) if method == "GET"
                        else browser.post(url, {}, page="/account"))
            assert response.status_code in (403, 405), (method, url, response.status_code)
            assert_no_sentinel(url, browser.last_html)
            assert world["display_code"] not in browser.last_html


@pytest.mark.parametrize("path", ["/static/../keys/session.key", "/static/%2e%2e/%2e%2e/pyproject.toml",
                                  "/static/..%2f..%2fpyproject.toml", "/static//etc/passwd",
                                  "/static/%252e%252e/pyproject.toml"])
def test_static_files_cannot_reach_outside_the_static_folder(path, browser):
    # When a path-traversal URL is asked for, Then nothing outside the static folder is served
    response = browser.get(path)
    if response.status_code == 308:  # merged slashes: the same path, on this site
        assert response.headers["Location"].startswith("http://localhost/static/")
        response = browser.get(response.headers["Location"])
    assert response.status_code in (302, 400, 403, 404)
    body = response.get_data(as_text=True)
    assert "[project]" not in body and "root:" not in body


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite: covered by the erasure test (secure_delete, WAL)")
@pytest.mark.xfail(strict=True, reason="VULN: on PostgreSQL an erased client's ciphertexts stay in dead tuples "
                                       "(no VACUUM, no per-client key), and the keyring still decrypts them")
def test_an_erased_alias_cannot_be_recovered_from_the_postgresql_pages(world, new_browser, database):
    # Given the client's stored alias ciphertext
    with database.transaction() as session:
        token = session.get(Client, world["client_id"]).alias_enc
    # When the client is erased through the web, and later the server's data files are seized
    owner = signed_in_as(new_browser, world["owner"])
    owner.get(f"/clients/{world['client_id']}/erase")
    owner.post(f"/clients/{world['client_id']}/erase", {"display_code": world["display_code"]})
    with database.engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        pages = conn.execute(text("SELECT pg_relation_size('clients') / 8192")).scalar()
        raw = b"".join(row[0] or b"" for n in range(pages) for row in conn.execute(
            text("SELECT t_data FROM heap_page_items(get_raw_page('clients', :n))"), {"n": n}))
    # Then the erased alias is not in them (or, if it is, the kept keys cannot open it)
    found = token.encode() in raw
    recovered = database.cipher.decrypt(token, table="clients", column="alias_enc",
                                        row_id=world["client_id"]) if found else None
    assert recovered != S["alias"]


def test_page_titles_kept_in_browser_history_name_nobody(world, new_browser):
    # Given a shared computer whose browser history keeps every URL and page title
    owner = signed_in_as(new_browser, world["owner"])
    cid, rid = world["client_id"], world["referral_id"]
    titles = []
    # When the case worker goes through the client's pages
    for url in (f"/clients/{cid}", f"/clients/{cid}/record", f"/clients/{cid}/correct", f"/clients/{cid}/assessment",
                f"/clients/{cid}/assessments", f"/referrals/{rid}", f"/referrals/{rid}/slip", "/clients/"):
        owner.get(url)
        titles.append(re.search(r"<title>(.*?)</title>", owner.last_html, re.S).group(1))
    # Then no title carries client data (the random display code is allowed)
    for title in titles:
        assert_no_sentinel("title", title)
        assert not any(word in title.lower() for word in FORBIDDEN_WORDS)


def test_no_page_or_log_carries_key_material(make_user, new_browser, app, caplog):
    # Given the application's keys, in every form an attacker might recognise
    import hashlib
    import hmac

    caplog.set_level(logging.DEBUG)
    keyring = app.extensions["casework"].keyring
    keys = [*keyring.data_keys.values(), keyring.index_root, keyring.session_secret]
    forms_ = set()
    for key in keys:
        forms_ |= {key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode().rstrip("=")}
    forms_.add(hmac.new(keyring.session_secret, b"flask-session", hashlib.sha256).hexdigest())
    # When an admin opens the keys page and other screens, and errors are provoked
    admin = signed_in_as(new_browser, make_user("admin"))
    pages = [admin.get(url).get_data(as_text=True) for url in ("/admin/keys", "/admin/users", "/admin/audit",
                                                                "/no/such/page", "/directory/export.json")]
    # Then no key, in any encoding, is shown or logged
    blob = "\n".join(pages) + caplog.text + cookie_payload(admin)
    assert not any(form in blob for form in forms_)


# --- probing whether a person is in the programme ------------------------------------------------------------


def _registration_probe(uic: str) -> dict[str, str]:
    return {"consent_given": "y", "consent_method": "verbal", "consent_date": clock.local_today().isoformat(),
            "uic": uic, "sex_gender": "female", "age_band": "25-34", "outreach_source": "venue",
            "contact_preference": "sms"}


def test_probing_a_uic_through_the_registration_form_leaves_a_trace(world, make_user, new_browser, database):
    # Given a collaborator who knows a person's parents' initials, birth year and sex (their UIC)
    mallory = signed_in_as(new_browser, make_user("collaborator"))
    mallory.get("/clients/register")
    before = len(audit_rows(database))
    # When she starts a registration with it, learns it matches a record elsewhere, and walks away
    response = mallory.post("/clients/register", _registration_probe(S["uic"]))
    assert response.status_code == 200 and "co-assignment-requests" in mallory.last_html
    # Then the probe is in the audit log, linked to the record it revealed
    rows = audit_rows(database)[before:]
    assert any(world["client_id"] in row for row in rows), rows


def test_a_uic_search_that_reveals_a_record_elsewhere_is_linked_to_that_record(world, make_user, new_browser,
                                                                              database):
    # Given a collaborator searching by a UIC she guessed
    mallory = signed_in_as(new_browser, make_user("collaborator"))
    mallory.get("/clients/")
    before = len(audit_rows(database))
    # When the search tells her the UIC is in another caseload
    mallory.post("/clients/find", {"query": S["uic"]})
    assert "co-assignment-requests" in mallory.last_html
    # Then the audit row names the record, so the owner's access history shows who probed it
    rows = audit_rows(database)[before:]
    assert any(world["client_id"] in row for row in rows), rows


def test_a_collaborator_cannot_sweep_uics_to_find_who_is_in_the_programme(signed_in):
    # Given a collaborator (or someone on their unlocked screen) trying UIC after UIC
    browser, _account = signed_in("collaborator")
    statuses = []
    for n in range(65):
        response = browser.post("/clients/find", {"query": f"NGTR{1950 + n}1"}, page="/clients/")
        statuses.append(response.status_code)
    # Then after a working day's worth of lookups the answers stop
    assert statuses[:60] == [200] * 60
    assert statuses[-1] == 429


def test_after_erasure_the_audit_log_says_nothing_about_what_the_client_was(signed_in, database):
    # Given a minor registered, assessed with health needs and referred-ready, then erased
    from test_clients_support import assessment, register

    from casework import vocab
    from casework.audit import AuditEvent
    from casework.clients import services as client_services

    browser, account = signed_in("collaborator")
    client_id = register(browser, birth_year="2011", uic="HOLA2011N")
    browser.post(f"/clients/{client_id}/assessment",
                 assessment(levels={"hiv_treatment": "urgent", "child_protection": "some"}),
                 page=f"/clients/{client_id}/assessment")
    with database.transaction() as session:
        client_services.erase_client(session, client_id, actor=session.get(User, account.user_id),
                                     reason="client_request")
    # When someone reads the audit log afterwards
    with database.transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
        details = " ".join(session.scalars(select(AuditEvent.details)))
    assert {"client.registered", "client.assessed", "client.erased"} <= actions
    # Then no need domain, age band or minor flag is left there
    for code in [*vocab.NEED_DOMAINS, "lt18", "is_minor", "age_band", "needs"]:
        assert code not in details, code
