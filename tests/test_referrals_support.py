"""Given-step helpers shared by the referral and directory tests (no tests here).

Everything is stored through the real storage layer (encryption, blind index),
so what a page shows or hides is what production would show or hide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from casework import clock
from casework.clients import storage
from casework.clients.models import Assessment, AssessmentNeed, CaseNote, Consent
from casework.db import new_id
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation
from casework.referrals.models import Referral, ReferralEvent

SENTINELS = {
    "uic": "SEUIC1990F",
    "alias": "Biệt-danh-SENTINEL-ALIAS",
    "phone": "0999 777 555",
    "assessment": "ASSESSMENT-NOTE-SENTINEL",
    "case_note": "CASE-NOTE-SENTINEL",
    "other_referral_note": "OTHER-REFERRAL-SENTINEL",
    "programme": "PROGRAMME-NAME-SENTINEL",
}


@dataclass
class Place:
    organisation_id: str
    service_id: str
    location_id: str


def make_service(database: Any, organisation_id: str, *, need: str = "hiv_sti_testing",
                 name: str = "Xét nghiệm HIV", accept: int = 3, complete: int = 30) -> Place:
    with database.transaction() as session:
        location = Location(id=new_id(), organisation_id=organisation_id, name="Cơ sở chính",
                            address_1="Số 1 đường Minh Hoạ", address_locality="Phường Tân Hưng",
                            address_region="Hải Phòng", address_country="VN")
        service = Service(id=new_id(), organisation_id=organisation_id, name=name, need_domain=need,
                          opening_hours="Thứ Hai – Thứ Sáu, 7:30–11:30", phone="0225 000 0101",
                          is_free=True, no_id_needed=True, confidential=True,
                          accept_within_days=accept, complete_within_days=complete, status="active")
        session.add_all([location, service])
        session.flush()
        session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))
        return Place(organisation_id, service.id, location.id)


def make_client(database: Any, owner_id: str, *, consents: tuple[str, ...] = ("registration",
                "share_with_provider", "contact"), with_history: bool = False) -> tuple[str, str]:
    """A client in ``owner_id``'s caseload; returns (client id, display code)."""
    today = clock.local_today()
    with database.transaction() as session:
        client = storage.new_client(session, owner_id=owner_id, uic=SENTINELS["uic"], age_band="25-34",
                                    sex_gender="female", contact_preference="call", outreach_source="venue")
        client.alias = SENTINELS["alias"]
        client.phone = SENTINELS["phone"]
        session.flush()
        for purpose in consents:
            session.add(Consent(client_id=client.id, purpose=purpose, method="verbal", given_on=today,
                                recorded_by=owner_id))
        if with_history:
            assessment = Assessment(id=new_id(), client_id=client.id, assessed_on=today, assessed_by=owner_id,
                                    eligible=True)
            session.add(assessment)
            session.flush()
            need = AssessmentNeed(id=new_id(), assessment_id=assessment.id, domain="hiv_sti_testing",
                                  level="urgent")
            session.add(need)
            need.note = SENTINELS["assessment"]
            note = CaseNote(id=new_id(), client_id=client.id, author_id=owner_id)
            session.add(note)
            note.body = SENTINELS["case_note"]
        return client.id, client.display_code


def make_referral(database: Any, *, client_id: str, place: Place, referred_by: str, status: str = "requested",
                  note: str | None = None, share_phone: bool = False, expires_in_days: int = 14,
                  accept_in_days: int = 3, complete_in_days: int = 30) -> str:
    """A referral stored directly in a given status (for table-driven Given steps)."""
    from casework.codes import referral_code

    today = clock.local_today()
    with database.transaction() as session:
        need = session.get(Service, place.service_id).need_domain  # as the referral form copies it
        referral = Referral(
            id=new_id(), code=referral_code(), client_id=client_id, service_id=place.service_id,
            organisation_id=place.organisation_id, need_domain=need, referred_by=referred_by,
            status=status, urgency="routine", share_phone=share_phone,
            accept_due_on=today + timedelta(days=accept_in_days),
            complete_due_on=today + timedelta(days=complete_in_days),
            expires_on=today + timedelta(days=expires_in_days),
        )
        session.add(referral)
        referral.note_to_receiver = note
        session.add(ReferralEvent(referral_id=referral.id, actor_id=referred_by, from_status=None,
                                  to_status="requested"))
        return referral.id


def referral_state(database: Any, referral_id: str) -> tuple[str, int, int]:
    """(status, version, number of events) as stored."""
    with database.transaction() as session:
        referral = session.get(Referral, referral_id)
        events = session.scalar(select(func.count()).select_from(ReferralEvent)
                                .where(ReferralEvent.referral_id == referral_id))
        return referral.status, referral.version, events


def organisation_count(database: Any) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Organisation))


def post_and_follow(browser: Any, url: str, data: dict[str, Any]) -> Any:
    """Post a form and, like a browser, land on the page it redirects to (whose token the next form uses)."""
    response = browser.post(url, data)
    if response.status_code in (302, 303):
        browser.get(response.headers["Location"])
    return response
