"""Given-steps for the report tests (no tests here): a ward whose history is entered through
the real services — registration with consent, assessments, referrals walked through the
lifecycle, closures, withdrawals, erasure — on a clock the test moves, so every stored row is
what the screens would have stored on those days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from test_referrals_support import Place, make_service

from casework import clock as clock_module
from casework import vocab
from casework.auth.models import User
from casework.clients import services as clients
from casework.clients.models import Client, Consent
from casework.referrals import lifecycle
from casework.referrals import services as referrals
from casework.referrals.models import Referral
from casework.reports.services import ReportSettings

ZONE = clock_module.LOCAL_ZONE
SETTINGS = ReportSettings(zone=ZONE, target_percent=80)
SENTINELS = {
    "uic": "SEPT1991F",
    "alias": "Biệt-danh-REPORT-SENTINEL",
    "phone": "0988 123 457",
    "note": "REPORT-NOTE-SENTINEL",
    "birth_year": "1991",
}


def local_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), ZONE).astimezone(UTC).replace(tzinfo=None)


@dataclass
class Ward:
    """A small ward: one collaborator, one health station (staffed) and one legal-aid office."""

    app: Any
    database: Any
    clock: Any
    collaborator_id: str
    provider_id: str
    health: Place
    legal: Place
    collaborator: Any = None  # the Account that keeps every client of the ward (to sign in as)
    extra: dict[str, Place] = field(default_factory=dict)

    def on(self, day: date, hour: int = 12) -> None:
        """Move the clock to ``day`` at ``hour`` local time (a datetime: that local moment)."""
        local = day if isinstance(day, datetime) else datetime.combine(day, time(hour))
        self.clock.now = local.replace(tzinfo=ZONE).astimezone(UTC).replace(tzinfo=None)

    def _user(self, session: Any, user_id: str) -> User:
        return session.get(User, user_id)

    def register(self, day: date, *, sex: str = "female", birth_year: str | None = SENTINELS["birth_year"],
                 age_band: str = "unknown", uic: str | None = SENTINELS["uic"], share: bool = True) -> str:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            client = clients.register_client(session, self._user(session, self.collaborator_id), clients.Registration(
                consent_method="verbal", consent_date=day, uic=uic, sex_gender=sex, birth_year=birth_year,
                age_band=age_band, outreach_source="venue", contact_preference="call",
                alias=SENTINELS["alias"], phone=SENTINELS["phone"], residence=None, share_consent=share,
                contact_consent=True))
            return client.id

    def assess(self, client_id: str, day: date, *, eligible: bool = True, needs: dict[str, str] | None = None,
               note: str | None = SENTINELS["note"]) -> None:
        self.on(day)
        levels = {code: ((needs or {}).get(code, "none"), note if code in (needs or {}) else None)
                  for code in vocab.NEED_DOMAINS}
        with self.app.app_context(), self.database.transaction() as session:
            client = session.get(Client, client_id)
            clients.add_assessment(session, self._user(session, self.collaborator_id), client, assessed_on=day,
                                   eligible=eligible, needs=levels)

    def refer(self, client_id: str, day: date, place: Place | None = None) -> str:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            client = session.get(Client, client_id)
            referral = referrals.create(session, self._user(session, self.collaborator_id), client,
                                        referrals.NewReferral(service_id=(place or self.health).service_id,
                                                              urgency="routine", share_phone=False,
                                                              note_to_receiver=SENTINELS["note"],
                                                              consent_confirmed=True))
            return referral.id

    def move(self, referral_id: str, day: date, to: str, **change: Any) -> None:
        """One lifecycle step by the receiving provider (``to`` "cancelled" by the referrer)."""
        self.on(day)
        defaults = {"completed": {"business_status": "support-provided"},
                    "rejected": {"reason_code": "no-capacity"}, "failed": {"reason_code": "no-show"},
                    "cancelled": {"reason_code": "withdrawn-by-referrer"},
                    "entered-in-error": {"reason_code": "wrong-client"}}
        kinds = {"cancelled": lifecycle.REFERRER, "entered-in-error": frozenset({"admin"})}.get(to, lifecycle.PROVIDER)
        with self.app.app_context(), self.database.transaction() as session:
            referral = session.get(Referral, referral_id)
            lifecycle.apply(session, referral, lifecycle.Change(to=to, **(defaults.get(to, {}) | change)),
                            actor_id=self.provider_id, actor_role="provider", actor_kinds=kinds)

    def walk(self, referral_id: str, *steps: tuple[date, str]) -> None:
        for day, to in steps:
            self.move(referral_id, day, to)

    def complete(self, client_id: str, made: date, done: date, place: Place | None = None) -> str:
        """A referral made, accepted and completed (accepted the day it was made)."""
        referral_id = self.refer(client_id, made, place)
        self.walk(referral_id, (made, "accepted"), (done, "completed"))
        return referral_id

    def expire(self, day: date) -> int:
        self.on(day, hour=1)
        with self.app.app_context(), self.database.transaction() as session:
            return referrals.expire_due(session)

    def close(self, client_id: str, day: date, reason: str = "moved") -> None:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            clients.close_client(session, self._user(session, self.collaborator_id),
                                 session.get(Client, client_id), reason)

    def withdraw_registration(self, client_id: str, day: date) -> None:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            client = session.get(Client, client_id)
            consent = clients.current_consents(session, client_id)["registration"]
            clients.withdraw_consent(session, self._user(session, self.collaborator_id), client, consent)

    def consent_again(self, client_id: str, day: date) -> None:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            session.add(Consent(client_id=client_id, purpose="registration", method="verbal", given_on=day,
                                recorded_by=self.collaborator_id))

    def erase(self, client_id: str, day: date) -> None:
        self.on(day)
        with self.app.app_context(), self.database.transaction() as session:
            clients.erase_client(session, client_id, actor=self._user(session, self.collaborator_id),
                                 reason="client_request")


def make_ward(app: Any, database: Any, clock: Any, make_user: Any, make_organisation: Any) -> Ward:
    health_org = make_organisation("Trạm Y tế phường", "health_station")
    legal_org = make_organisation("Trợ giúp pháp lý", "legal_aid")
    collaborator = make_user("collaborator")
    provider = make_user("provider", organisation_id=health_org)
    health = make_service(database, health_org, need="hiv_sti_testing", accept=3, complete=30)
    legal = make_service(database, legal_org, need="legal_aid", name="Trợ giúp pháp lý", accept=3, complete=30)
    return Ward(app, database, clock, collaborator.user_id, provider.user_id, health, legal, collaborator)


# --- fixtures (made available to every test module by tests/conftest.py) -------------------------

Y = 2025


@pytest.fixture
def ward(app, database, clock, make_user, make_organisation):
    # No app context is held for the test: requests of the test client must each get their own.
    return make_ward(app, database, clock, make_user, make_organisation)


@pytest.fixture
def story(ward):
    """Year 2025 of a small ward. Letters name the clients; comments say what each one tests."""
    w, D = ward, date
    hr, reint = {"hiv_sti_testing": "urgent"}, {"legal_aid": "some"}
    ids = {}
    # a: the plain case — in need, referred, completed in February
    ids["a"] = a = w.register(D(Y, 1, 10))
    w.assess(a, D(Y, 1, 10), needs=hr)
    w.complete(a, D(Y, 1, 12), D(Y, 2, 5))
    # b: in need, never referred
    ids["b"] = b = w.register(D(Y, 3, 1), sex="male")
    w.assess(b, D(Y, 3, 1), needs=reint)
    # c: closed before the year began
    ids["c"] = c = w.register(D(Y - 1, 6, 1))
    w.assess(c, D(Y - 1, 6, 1), needs=hr)
    w.close(c, D(Y - 1, 12, 15))
    # dd: closed during the year (1 July)
    ids["dd"] = dd = w.register(D(Y, 1, 5))
    w.assess(dd, D(Y, 1, 5), needs={"hiv_sti_testing": "some"})
    w.close(dd, D(Y, 7, 1))
    # e: registration consent withdrawn before the year began
    ids["e"] = e = w.register(D(Y - 1, 3, 1))
    w.assess(e, D(Y - 1, 3, 1), needs={"legal_aid": "urgent"})
    w.withdraw_registration(e, D(Y - 1, 11, 1))
    # f: consent withdrawn during the year (15 June); needs of both kinds
    ids["f"] = f = w.register(D(Y, 2, 1), sex="trans_woman")
    w.assess(f, D(Y, 2, 1), needs={"hiv_sti_testing": "urgent", "legal_aid": "some"})
    w.withdraw_registration(f, D(Y, 6, 15))
    # g: registered in November, first assessed only after the year's end
    ids["g"] = g = w.register(D(Y, 11, 20))
    # h: assessed not eligible; i: eligible but no need
    ids["h"] = h = w.register(D(Y, 4, 1))
    w.assess(h, D(Y, 4, 1), eligible=False, needs=hr)
    ids["i"] = i = w.register(D(Y, 4, 2))
    w.assess(i, D(Y, 4, 2), needs={})
    # j: referral completed after the year's end
    ids["j"] = j = w.register(D(Y, 10, 1), sex="male")
    w.assess(j, D(Y, 10, 1), needs=reint)
    j_ref = w.refer(j, D(Y, 12, 20), w.legal)
    w.move(j_ref, D(Y, 12, 20), "accepted")
    # k: unsuccessful outcomes only (failed, rejected)
    ids["k"] = k = w.register(D(Y, 5, 1))
    w.assess(k, D(Y, 5, 1), needs={"hiv_sti_testing": "some"})
    k1, k2 = w.refer(k, D(Y, 5, 2)), w.refer(k, D(Y, 5, 2), w.legal)
    w.walk(k1, (D(Y, 5, 3), "accepted"), (D(Y, 6, 1), "failed"))
    w.move(k2, D(Y, 5, 4), "rejected")
    # l: several referrals, both kinds of support
    ids["l"] = el = w.register(D(Y, 3, 10))
    w.assess(el, D(Y, 3, 10), needs={"hiv_sti_testing": "urgent", "legal_aid": "urgent"})
    w.complete(el, D(Y, 3, 11), D(Y, 3, 20))
    w.complete(el, D(Y, 4, 1), D(Y, 4, 15))
    w.complete(el, D(Y, 5, 1), D(Y, 9, 1), w.legal)
    # m: supported, then erased: nothing of m counts
    ids["m"] = m = w.register(D(Y, 2, 10))
    w.assess(m, D(Y, 2, 10), needs=hr)
    w.complete(m, D(Y, 2, 11), D(Y, 2, 20))
    w.erase(m, D(Y, 12, 1))
    # n: a child (born 2010), supported in June
    ids["n"] = n = w.register(D(Y, 6, 1), birth_year="2010")
    w.assess(n, D(Y, 6, 1), needs={"child_protection": "urgent"})
    w.complete(n, D(Y, 6, 2), D(Y, 6, 10))
    # o: reassessed in August with no need left
    ids["o"] = o = w.register(D(Y, 1, 15))
    w.assess(o, D(Y, 1, 15), needs=reint)
    w.assess(o, D(Y, 8, 1), needs={})
    # p: completed referral later marked entered-in-error
    ids["p"] = p = w.register(D(Y, 2, 15))
    w.assess(p, D(Y, 2, 15), needs={"hiv_sti_testing": "some"})
    p_ref = w.complete(p, D(Y, 2, 16), D(Y, 3, 1))
    w.move(p_ref, D(Y, 3, 5), "entered-in-error")
    # q: referral nobody acted on, expired
    ids["q"] = q = w.register(D(Y, 9, 1))
    w.assess(q, D(Y, 9, 1), needs={"hiv_sti_testing": "some"})
    w.refer(q, D(Y, 9, 2))
    assert w.expire(D(Y, 9, 20)) == 1
    # r: consent withdrawn in the year before, given again on 3 March
    ids["r"] = r = w.register(D(Y - 1, 5, 1))
    w.assess(r, D(Y - 1, 5, 1), needs={"hiv_sti_testing": "some"})
    w.withdraw_registration(r, D(Y - 1, 10, 1))
    w.consent_again(r, D(Y, 3, 3))
    # s: registered at 23:30 on the year's last evening (local time)
    ids["s"] = s = w.register(datetime(Y, 12, 31, 23, 30))
    w.assess(s, D(Y, 12, 31), needs={"hiv_sti_testing": "some"})
    # t: referral completed at 00:30 local on New Year's Day (still 31 December in UTC)
    ids["t"] = t = w.register(D(Y, 11, 1))
    w.assess(t, D(Y, 11, 1), needs=hr)
    t_ref = w.refer(t, D(Y, 12, 15))
    w.move(t_ref, D(Y, 12, 15), "accepted")
    w.move(t_ref, datetime(Y + 1, 1, 1, 0, 30), "completed")
    # after the year: j completed, g assessed
    w.move(j_ref, D(Y + 1, 1, 10), "completed")
    w.assess(g, D(Y + 1, 1, 5), needs=hr)
    w.on(D(Y + 1, 2, 1))
    return ids
