"""No path shows client data without an audit row.

Every view that can show what is stored about a client (decrypted details, notes, the referral's
minimal dataset, the phone) is walked, through its normal showing and through every way a request can
fail: invalid input, a missing token, text too long or with hidden characters. Whenever an answer
contains any stored sentinel, an audit read of that record must have been written by that very request.

A route that names a client or a referral and is missing from the walk fails the coverage test, so a
view added later cannot escape the walk unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from test_referrals_support import SENTINELS, make_client, make_referral, make_service

from casework import clock
from casework.audit.models import AuditEvent
from casework.clients.models import FollowUp

READS = ("client.viewed", "referral.viewed", "referral.slip_viewed")
FEEDBACK_SENTINEL = "FEEDBACK-SENTINEL"
FOLLOW_UP_SENTINEL = "FOLLOW-UP-SENTINEL"
REFERRAL_NOTE_SENTINEL = "REFERRAL-NOTE-SENTINEL"
SHOWN = (*SENTINELS.values(), FEEDBACK_SENTINEL, FOLLOW_UP_SENTINEL, REFERRAL_NOTE_SENTINEL)
TOO_LONG = "a" * 5001
HIDDEN = "Khách \u202eđã đến"


@dataclass(frozen=True)
class Step:
    endpoint: str
    who: str  # owner | provider | admin
    method: str
    url: str  # with {client}, {referral}, {follow_up}, {note}, {consent}, {owner}
    data: dict | None = None
    csrf: bool = True

    def label(self) -> str:
        kind = "no-token" if not self.csrf else ",".join(sorted(self.data or {})) or "plain"
        return f"{self.who}:{self.method}:{self.endpoint}:{kind}"


def _steps() -> list[Step]:
    c = "/clients/{client}"
    r = "/referrals/{referral}"
    bad_transition = {"to": "cancelled", "reason_code": "withdrawn-by-referrer", "reason_text": HIDDEN,
                      "version": "{version}"}
    provider_bad = {"to": "completed", "business_status": "service-provided", "outcome": HIDDEN,
                    "feedback": TOO_LONG, "version": "{version}"}
    steps = [
        Step("clients.caseload", "owner", "GET", "/clients/"),
        Step("clients.worklist_view", "owner", "GET", "/clients/worklist"),
        Step("clients.view", "owner", "GET", c),
        Step("clients.assess", "owner", "GET", c + "/assessment"),
        Step("clients.consent_withdraw_confirm", "owner", "GET", c + "/consents/{consent}/withdraw/confirm"),
        Step("clients.assess", "owner", "POST", c + "/assessment", {"assessed_on": "not-a-date"}),
        Step("clients.assess", "owner", "POST", c + "/assessment", {"note_hiv_sti_testing": HIDDEN}),
        Step("clients.assessments", "owner", "GET", c + "/assessments"),
        Step("clients.assessment_correct", "owner", "GET", c + "/assessment/notes"),
        Step("clients.assessment_correct", "owner", "POST", c + "/assessment/notes",
             {"note_hiv_sti_testing": TOO_LONG}),
        Step("clients.close", "owner", "GET", c + "/close"),
        Step("clients.close", "owner", "POST", c + "/close", {"reason": "no-such-reason"}),
        Step("clients.consent_add", "owner", "POST", c + "/consents", {"purpose": "nonsense"}),
        Step("clients.consent_withdraw", "owner", "POST", c + "/consents/{consent}/withdraw", {}, csrf=False),
        Step("clients.correct", "owner", "GET", c + "/correct"),
        Step("clients.correct", "owner", "POST", c + "/correct", {"birth_year": "1066", "alias": HIDDEN}),
        Step("clients.erase", "owner", "GET", c + "/erase"),
        Step("clients.erase", "owner", "POST", c + "/erase", {"display_code": "WRONG-CODE"}),
        Step("clients.follow_up_add", "owner", "POST", c + "/follow-ups", {"due_on": "someday"}),
        Step("clients.follow_up_correct", "owner", "GET", c + "/follow-ups/{follow_up}/correct"),
        Step("clients.follow_up_correct", "owner", "POST", c + "/follow-ups/{follow_up}/correct",
             {"due_on": "someday", "description": TOO_LONG}),
        Step("clients.follow_up_done", "owner", "POST", c + "/follow-ups/{follow_up}/done", {}, csrf=False),
        Step("clients.note_add", "owner", "POST", c + "/notes", {"body": ""}),
        Step("clients.note_add", "owner", "POST", c + "/notes", {"body": HIDDEN}),
        Step("clients.note_correct", "owner", "GET", c + "/notes/{note}/correct"),
        Step("clients.note_correct", "owner", "POST", c + "/notes/{note}/correct", {"body": TOO_LONG}),
        Step("clients.record_sheet", "owner", "GET", c + "/record"),
        Step("clients.reopen", "owner", "POST", c + "/reopen", {}, csrf=False),
        Step("clients.coassignee_remove", "owner", "POST", c + "/co-assignees/{owner}/remove", {},
             csrf=False),
        Step("referrals.new", "owner", "GET", c + "/referrals/new"),
        Step("referrals.new", "owner", "POST", c + "/referrals/new",
             {"service_id": "{service}", "urgency": "routine", "share_phone": "y", "action": "preview"}),
        Step("referrals.new", "owner", "POST", c + "/referrals/new",
             {"service_id": "{service}", "urgency": "routine", "share_phone": "y", "action": "send"}),
        Step("referrals.new", "owner", "POST", c + "/referrals/new",
             {"service_id": "{service}", "urgency": "routine", "note_to_receiver": HIDDEN, "consent": "y",
              "action": "send"}),
        Step("referrals.sent", "owner", "GET", "/referrals/sent"),
        Step("referrals.detail", "owner", "GET", r),
        Step("referrals.slip", "owner", "GET", r + "/slip"),
        Step("referrals.transition", "owner", "POST", r + "/status", bad_transition),
        Step("referrals.transition", "owner", "POST", r + "/status", {"to": "cancelled"}, csrf=False),
        Step("referrals.inbox", "provider", "GET", "/inbox"),
        Step("referrals.find", "provider", "POST", "/inbox/find", {"code": "{code}"}),
        Step("referrals.received", "provider", "GET", "/inbox/{referral}"),
        Step("referrals.feedback", "provider", "POST", "/inbox/{referral}/feedback",
             {"note": TOO_LONG, "version": "{version}"}),
        Step("referrals.feedback", "provider", "POST", "/inbox/{referral}/feedback",
             {"note": HIDDEN, "version": "{version}"}),
        Step("referrals.feedback", "provider", "POST", "/inbox/{referral}/feedback",
             {"note": "ok", "version": "{version}"}, csrf=False),
        Step("referrals.transition", "provider", "POST", r + "/status", provider_bad),
        Step("referrals.transition", "admin", "POST", r + "/status",
             {"to": "entered-in-error", "reason_code": "duplicate-record", "reason_text": TOO_LONG,
              "version": "{version}"}),
        Step("referrals.correct", "admin", "GET", "/referrals/correct"),
        Step("referrals.correct", "admin", "POST", "/referrals/correct", {"code": "{code}"}),
        Step("clients.admin_reassign", "admin", "GET", "/clients/admin/reassign"),
        Step("clients.admin_reassign_client", "admin", "POST", "/clients/admin/reassign/client",
             {"display_code": "{display_code}"}),
        Step("clients.admin_coassignment_remove", "admin", "POST",
             "/clients/admin/co-assignments/{client}/{owner}/remove", {}, csrf=False),
    ]
    return steps


STEPS = _steps()

# Routes that name a client or a referral but cannot show anything stored about one: each with its reason.
NOT_SHOWING = {
    "clients.request_coassign": "answers with a redirect and one sentence, the same for every UIC",
    "clients.admin_coassign": "an admin decision on a request: redirects, shows no record",
}


@pytest.fixture
def walk(make_organisation, make_user, new_browser, database):
    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_service(database, station)
    owner = make_user("collaborator")
    provider = make_user("provider", organisation_id=station)
    admin = make_user("admin")
    client_id, display_code = make_client(database, owner.user_id, with_history=True)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id,
                                status="accepted", note=REFERRAL_NOTE_SENTINEL, share_phone=True)
    with database.transaction() as session:
        from casework.clients.models import CaseNote, Consent
        from casework.referrals.models import Referral

        follow_up = FollowUp(client_id=client_id, due_on=clock.local_today(), created_by=owner.user_id)
        follow_up.description = FOLLOW_UP_SENTINEL
        session.add(follow_up)
        session.flush()
        note_id = session.scalar(select(CaseNote.id).where(CaseNote.client_id == client_id))
        consent_id = session.scalar(select(Consent.id).where(Consent.client_id == client_id))
        referral = session.get(Referral, referral_id)
        referral.feedback = FEEDBACK_SENTINEL
        code, follow_up_id = referral.code, follow_up.id
    browsers = {"owner": new_browser(), "provider": new_browser(), "admin": new_browser()}
    browsers["owner"].login(owner)
    browsers["provider"].login(provider)
    browsers["admin"].login(admin)
    values = {"client": client_id, "referral": referral_id, "follow_up": follow_up_id, "note": note_id,
              "consent": consent_id, "owner": owner.user_id, "service": place.service_id, "code": code,
              "display_code": display_code}
    return browsers, values


def _reads(database, ids: tuple[str, ...]) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.in_(READS), AuditEvent.object_id.in_(ids)))


def _version(database, referral_id: str) -> int:
    from casework.referrals.models import Referral

    with database.transaction() as session:
        return session.get(Referral, referral_id).version


def test_every_route_naming_a_client_or_a_referral_is_walked(app):
    walked = {step.endpoint for step in STEPS}
    for rule in app.url_map.iter_rules():
        names_a_record = any(part in rule.rule for part in ("<client_id>", "<referral_id>"))
        if names_a_record:
            assert rule.endpoint in walked or rule.endpoint in NOT_SHOWING, \
                f"{rule.rule} ({rule.endpoint}) names a record but is not in the audited-read walk"


def test_no_answer_shows_client_data_without_an_audit_row_of_that_request(walk, database):
    browsers, values = walk
    ids = (values["client"], values["referral"])
    showed: list[str] = []
    for step in STEPS:
        browser = browsers[step.who]
        values["version"] = _version(database, values["referral"])
        url = step.url.format(**values)
        before = _reads(database, ids)
        if step.method == "GET":
            response = browser.get(url)
        else:
            data = {k: (v.format(**values) if isinstance(v, str) else v) for k, v in (step.data or {}).items()}
            response = browser.post(url, data, csrf=step.csrf, page="/account")
        body = response.get_data(as_text=True)
        assert response.status_code < 500, step.label()
        leaked = [s for s in SHOWN if s in body]
        if leaked:
            showed.append(step.label())
            assert _reads(database, ids) > before, f"{step.label()} showed {leaked} without an audit read"
    # The walk is not vacuous: the pages and error paths that do show client data were reached
    for expected in ("owner:GET:clients.view", "owner:POST:referrals.new", "owner:POST:referrals.transition",
                     "provider:GET:referrals.received", "provider:POST:referrals.feedback",
                     "provider:POST:referrals.transition"):
        assert any(label.startswith(expected) for label in showed), f"{expected} never showed the record"


def test_an_invalid_feedback_shown_again_is_audited_and_opens_the_referral(walk, database, make_organisation):
    # Given a referral the provider has not opened yet (still "requested")
    browsers, values = walk
    from casework.referrals.models import Referral

    with database.transaction() as session:
        referral = session.get(Referral, values["referral"])
        referral.status = "requested"
        version = referral.version
    provider = browsers["provider"]
    provider.get("/inbox")
    before = _reads(database, (values["referral"],))
    # When the provider posts a feedback note over the length limit straight to the referral
    response = provider.post(f"/inbox/{values['referral']}/feedback", {"note": TOO_LONG, "version": version})
    # Then the page shown again with the minimal dataset and phone is an audited read,
    # and showing it marked the referral received, as opening it from the inbox does
    assert response.status_code == 200 and SENTINELS["phone"] in response.get_data(as_text=True)
    assert _reads(database, (values["referral"],)) == before + 1
    with database.transaction() as session:
        assert session.get(Referral, values["referral"]).status == "received"


def test_an_admin_cannot_learn_a_referral_by_id_from_a_refused_change(walk, database):
    browsers, values = walk
    admin = browsers["admin"]
    admin.get("/referrals/correct")
    response = admin.post(f"/referrals/{values['referral']}/status",
                          {"to": "entered-in-error", "reason_code": "duplicate-record", "reason_text": TOO_LONG,
                           "version": _version(database, values["referral"])})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert values["code"] not in page and values["code"] not in response.get_data(as_text=True)
