"""Feedback from the receiving service without a change of status, and the referrer's
"feedback received" marker (closed loop, docs/DESIGN.md §4)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_referrals_support import make_client, make_referral, make_service, post_and_follow, referral_state

from casework.audit import AuditEvent
from casework.referrals.models import Referral

FIRST = "Khách đã đến, hẹn xét nghiệm lại sau 3 tháng"
SECOND = "Đã gọi nhắc lịch hẹn, khách xác nhận"


@pytest.fixture
def world(make_organisation, make_user, database, new_browser):
    station = make_organisation("Trạm Y tế phường Tân Hưng", "health_station")
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    provider = make_user("provider", organisation_id=station)
    client_id, _ = make_client(database, collaborator.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                                status="accepted")
    referrer, receiver = new_browser(), new_browser()
    referrer.login(collaborator)
    receiver.login(provider)
    return {"referral_id": referral_id, "referrer": referrer, "receiver": receiver, "place": place,
            "client_id": client_id, "collaborator": collaborator, "make_user": make_user, "station": station}


def _send_feedback(world, note, *, version=None, database=None):
    receiver, referral_id = world["receiver"], world["referral_id"]
    receiver.get(f"/inbox/{referral_id}")
    if version is None:
        version = referral_state(database, referral_id)[1]
    return receiver.post(f"/inbox/{referral_id}/feedback", {"note": note, "version": version})


def _stored(database, referral_id):
    with database.transaction() as session:
        referral = session.get(Referral, referral_id)
        return referral.status, referral.feedback_enc, referral.feedback


# --- sending a note -----------------------------------------------------------------------------


def test_provider_sends_feedback_without_changing_status_and_referrer_reads_it(world, database):
    # Given an accepted referral the provider has open
    before = referral_state(database, world["referral_id"])

    # When the provider sends a feedback note through the form
    response = _send_feedback(world, FIRST, database=database)

    # Then they are told it was sent, the status is unchanged, and the version moved on
    assert response.status_code == 302
    world["receiver"].get(response.headers["Location"])
    assert "Đã gửi phản hồi" in world["receiver"].last_html
    status, ciphertext, plaintext = _stored(database, world["referral_id"])
    after = referral_state(database, world["referral_id"])
    assert status == "accepted" and after[0] == before[0] and after[1] == before[1] + 1
    assert after[2] == before[2]  # no status event
    # And the note is stored encrypted, audited with codes only
    assert ciphertext.startswith("cw1.") and "xét nghiệm" not in ciphertext
    assert FIRST in plaintext
    with database.transaction() as session:
        entries = session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.feedback_sent")).all()
        assert len(entries) == 1 and entries[0].object_id == world["referral_id"]
        assert "xét nghiệm" not in entries[0].details and json.loads(entries[0].details) == {"status": "accepted"}
    # And the referrer sees it on the referral's page
    page = world["referrer"].get(f"/referrals/{world['referral_id']}").get_data(as_text=True)
    assert FIRST in page


def test_a_second_note_is_added_after_the_first_and_both_are_shown_in_order(world, database):
    # Given a note already sent
    _send_feedback(world, FIRST, database=database)

    # When the provider sends another one
    response = _send_feedback(world, SECOND, database=database)

    # Then both are kept, oldest first, on the referrer's page and on the provider's page
    assert response.status_code == 302
    page = world["referrer"].get(f"/referrals/{world['referral_id']}").get_data(as_text=True)
    assert FIRST in page and SECOND in page and page.index(FIRST) < page.index(SECOND)
    provider_page = world["receiver"].get(f"/inbox/{world['referral_id']}").get_data(as_text=True)
    assert provider_page.index(FIRST) < provider_page.index(SECOND)


def test_feedback_given_with_a_status_change_joins_the_same_list(world, database):
    # Given a note sent on its own
    _send_feedback(world, FIRST, database=database)

    # When the provider completes the referral with feedback
    world["receiver"].get(f"/inbox/{world['referral_id']}")
    version = referral_state(database, world["referral_id"])[1]
    post_and_follow(world["receiver"], f"/referrals/{world['referral_id']}/status",
                    {"to": "completed", "business_status": "test-done-result-given", "feedback": SECOND,
                     "version": version})

    # Then the referrer reads both notes, and each was audited as feedback
    page = world["referrer"].get(f"/referrals/{world['referral_id']}").get_data(as_text=True)
    assert FIRST in page and SECOND in page
    with database.transaction() as session:
        count = len(session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.feedback_sent")).all())
    assert count == 2


def test_an_empty_note_gets_the_form_back_and_nothing_is_stored(world, database):
    # When the provider sends only spaces
    response = _send_feedback(world, "   ", database=database)

    # Then the page comes back with a Vietnamese message and nothing is stored
    assert response.status_code == 200
    assert "Hãy viết phản hồi trước" in world["receiver"].last_html
    assert _stored(database, world["referral_id"])[1] is None


def test_feedback_is_refused_once_the_referral_is_entered_in_error(world, database):
    # Given the provider has the page open, and an admin then marks the referral entered-in-error
    receiver = world["receiver"]
    receiver.get(f"/inbox/{world['referral_id']}")
    version = referral_state(database, world["referral_id"])[1]
    with database.transaction() as session:
        session.get(Referral, world["referral_id"]).status = "entered-in-error"

    # When the provider sends a note
    response = receiver.post(f"/inbox/{world['referral_id']}/feedback", {"note": FIRST, "version": version + 1})

    # Then the referral is not found for them and nothing is stored
    assert response.status_code == 404
    assert _stored(database, world["referral_id"])[1] is None


def test_another_organisation_cannot_send_feedback(world, database, new_browser, make_organisation):
    # Given a provider of another organisation
    elsewhere = new_browser()
    elsewhere.login(world["make_user"]("provider", organisation_id=make_organisation("Khác", "legal_aid")))
    elsewhere.get("/inbox")

    # When they post a note to the referral
    response = elsewhere.post(f"/inbox/{world['referral_id']}/feedback", {"note": FIRST, "version": 1})

    # Then it is not found and nothing is stored
    assert response.status_code == 404
    assert _stored(database, world["referral_id"])[1] is None


def test_a_note_based_on_an_old_read_loses_and_is_told_in_vietnamese(world, database, new_browser):
    # Given the provider read the referral, and a colleague then put it in progress
    receiver = world["receiver"]
    receiver.get(f"/inbox/{world['referral_id']}")
    seen = referral_state(database, world["referral_id"])[1]
    colleague = new_browser()
    colleague.login(world["make_user"]("provider", organisation_id=world["station"]))
    colleague.get(f"/inbox/{world['referral_id']}")
    post_and_follow(colleague, f"/referrals/{world['referral_id']}/status", {"to": "in-progress", "version": seen})

    # When the provider sends a note from the old page
    response = post_and_follow(receiver, f"/inbox/{world['referral_id']}/feedback", {"note": FIRST, "version": seen})

    # Then they are told the referral changed, and the note is not kept
    assert response.status_code == 302
    assert "đã thay đổi" in receiver.last_html
    assert _stored(database, world["referral_id"])[1] is None
    assert referral_state(database, world["referral_id"])[0] == "in-progress"


def test_a_concurrent_writer_wins_at_the_conditional_update(world, database):
    # Given two sessions that read the same referral (same version)
    from casework.referrals import lifecycle

    provider_id = world["make_user"]("provider", organisation_id=world["station"]).user_id
    kinds = frozenset({"provider"})
    first, second = database.session(), database.session()
    try:
        mine = first.get(Referral, world["referral_id"])
        first.commit()
        theirs = second.get(Referral, world["referral_id"])
        seen = theirs.version
        second.commit()
        # When the first puts it in progress, and the second then writes a note from its old read
        lifecycle.apply(first, mine, lifecycle.Change(to="in-progress"), actor_id=provider_id,
                        actor_role="provider", actor_kinds=kinds)
        first.commit()
        # Then the note is refused as "changed" by the UPDATE … WHERE version = :seen
        with pytest.raises(lifecycle.TransitionRefused) as refused:
            lifecycle.add_feedback(second, theirs, FIRST, actor_id=provider_id, actor_role="provider",
                                   actor_kinds=kinds, expected_version=seen)
        assert refused.value.code == "changed"
        second.rollback()
    finally:
        first.close()
        second.close()
    assert _stored(database, world["referral_id"])[1] is None


def test_a_note_kept_as_plain_text_before_notes_were_listed_stays_first(world, database):
    # Given feedback stored the old way, as one plain text
    with database.transaction() as session:
        session.get(Referral, world["referral_id"]).feedback = "Ghi chú cũ"

    # When the provider sends a new note
    _send_feedback(world, FIRST, database=database)

    # Then the referrer reads the old one, then the new one
    page = world["referrer"].get(f"/referrals/{world['referral_id']}").get_data(as_text=True)
    assert page.index("Ghi chú cũ") < page.index(FIRST)


# --- the "feedback received" marker ------------------------------------------------------------------


MARKER = "feedback-received"


def test_referrer_sees_the_marker_until_they_open_the_referral(world, database):
    referrer, referral_id = world["referrer"], world["referral_id"]
    # Given the referrer opened the referral before any feedback
    assert MARKER not in referrer.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert MARKER not in referrer.get("/clients/").get_data(as_text=True)

    # When the provider sends a note
    _send_feedback(world, FIRST, database=database)

    # Then the caseload panel and the referral's page show "feedback received"
    caseload = referrer.get("/clients/").get_data(as_text=True)
    assert MARKER in caseload and "Đã nhận phản hồi" in caseload and FIRST not in caseload
    assert MARKER in referrer.get("/referrals/sent").get_data(as_text=True)
    assert MARKER in referrer.get(f"/referrals/{referral_id}").get_data(as_text=True)
    # And once opened, the marker is gone until the next note
    assert MARKER not in referrer.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert MARKER not in referrer.get("/clients/").get_data(as_text=True)
    assert MARKER not in referrer.get("/referrals/sent").get_data(as_text=True)
    _send_feedback(world, SECOND, database=database)
    assert MARKER in referrer.get("/clients/").get_data(as_text=True)


def test_only_the_referrers_own_opening_clears_the_marker(world, database):
    # Given a note, after which the provider (not the referrer) opens the referral again
    _send_feedback(world, FIRST, database=database)
    world["receiver"].get(f"/inbox/{world['referral_id']}")

    # Then the referrer still sees the marker
    assert MARKER in world["referrer"].get("/clients/").get_data(as_text=True)


def test_migration_0009_carries_the_read_marks_over_from_the_audit_log(world, database):
    """Two referrals: one with feedback read, then a second note unread; one never opened since."""
    from casework import migrate
    from casework.referrals.models import ReferralRead
    from casework.referrals.services import unread_feedback

    second = make_referral(database, client_id=world["client_id"], place=world["place"],
                           referred_by=world["collaborator"].user_id, status="accepted")
    _send_feedback(world, FIRST, database=database)
    world["referrer"].get(f"/referrals/{world['referral_id']}")
    _send_feedback(world, SECOND, database=database)
    world["receiver"].get(f"/inbox/{second}")
    version = referral_state(database, second)[1]
    world["receiver"].post(f"/inbox/{second}/feedback", {"note": FIRST, "version": version})
    user = world["collaborator"].user_id
    with database.transaction() as session:
        before = unread_feedback(session, user, {world["referral_id"], second})
        marks = {(r.referral_id, r.user_id, r.feedback_seen) for r in session.scalars(select(ReferralRead))}
    assert before == {world["referral_id"], second}
    database.engine.dispose()

    migrate.downgrade(database.engine, "0008")
    migrate.upgrade(database.engine)

    with database.transaction() as session:
        assert unread_feedback(session, user, {world["referral_id"], second}) == before
        assert {(r.referral_id, r.user_id, r.feedback_seen) for r in session.scalars(select(ReferralRead))} == marks
        assert session.get(Referral, world["referral_id"]).feedback_count == 2


# --- free text hygiene ------------------------------------------------------------------------------

BAD_TEXT = {
    "control": "Khách\x07 đã đến",
    "zero-width": "Khách\u200b đã đến",
    "bidi-override": "Khách \u202eđã đến",
    "too-long": "a" * 1001,
}
HIDDEN_MESSAGE = "Hãy xóa các ký tự ẩn"
LONG_MESSAGE = "Quá dài: tối đa 1000 ký tự"


def _message_for(kind):
    return LONG_MESSAGE if kind == "too-long" else HIDDEN_MESSAGE


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_feedback_note_with_hidden_characters_or_too_long_gets_the_form_back(world, database, kind):
    response = _send_feedback(world, BAD_TEXT[kind], database=database)
    assert response.status_code == 200
    assert _message_for(kind) in world["receiver"].last_html
    assert 'action="/inbox/' in world["receiver"].last_html and "aria-invalid" in world["receiver"].last_html
    assert _stored(database, world["referral_id"])[1] is None


@pytest.mark.parametrize("kind", BAD_TEXT)
@pytest.mark.parametrize("field", ["outcome", "feedback"])
def test_provider_status_text_with_hidden_characters_or_too_long_gets_the_form_back(world, database, kind, field):
    receiver, referral_id = world["receiver"], world["referral_id"]
    receiver.get(f"/inbox/{referral_id}")
    before = referral_state(database, referral_id)
    response = receiver.post(f"/referrals/{referral_id}/status",
                             {"to": "completed", "business_status": "test-done-result-given",
                              field: BAD_TEXT[kind], "version": before[1]})
    assert response.status_code == 200
    html = receiver.last_html
    assert _message_for(kind) in html and "<details class=\"card action\" open>" in html
    assert referral_state(database, referral_id) == before


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_referrer_reason_text_with_hidden_characters_or_too_long_gets_the_form_back(world, database, kind):
    referrer, referral_id = world["referrer"], world["referral_id"]
    referrer.get(f"/referrals/{referral_id}")
    before = referral_state(database, referral_id)
    response = referrer.post(f"/referrals/{referral_id}/status",
                             {"to": "cancelled", "reason_code": "withdrawn-by-referrer",
                              "reason_text": BAD_TEXT[kind], "version": before[1]})
    assert response.status_code == 200
    assert _message_for(kind) in referrer.last_html
    assert referral_state(database, referral_id) == before


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_note_to_receiver_with_hidden_characters_or_too_long_gets_the_form_back(world, database, kind):
    referrer = world["referrer"]
    url = f"/clients/{world['client_id']}/referrals/new"
    referrer.get(url)
    with database.transaction() as session:
        count = len(session.scalars(select(Referral)).all())
    response = referrer.post(url, {"service_id": world["place"].service_id, "urgency": "routine",
                                   "note_to_receiver": BAD_TEXT[kind], "consent": "y", "action": "send"})
    assert response.status_code == 200
    assert _message_for(kind) in referrer.last_html
    with database.transaction() as session:
        assert len(session.scalars(select(Referral)).all()) == count


@pytest.mark.parametrize("kind", ["bidi-override", "too-long"])
def test_admin_error_reason_text_is_refused_with_the_reason_and_nothing_about_the_referral(world, database, kind,
                                                                                          new_browser):
    admin = new_browser()
    admin.login(world["make_user"]("admin"))
    admin.get("/referrals/correct")
    before = referral_state(database, world["referral_id"])
    with database.transaction() as session:
        code = session.get(Referral, world["referral_id"]).code
    response = admin.post(f"/referrals/{world['referral_id']}/status",
                          {"to": "entered-in-error", "reason_code": "duplicate-record",
                           "reason_text": BAD_TEXT[kind], "version": before[1]})
    # The admin reaches referrals by code only: the refusal says what is wrong with the text and sends
    # them back to the search, without the referral's code, organisation or status
    assert response.status_code == 302 and response.headers["Location"].endswith("/referrals/correct")
    admin.get("/referrals/correct")
    assert _message_for(kind) in admin.last_html and code not in admin.last_html
    assert referral_state(database, world["referral_id"]) == before


def test_clean_vietnamese_text_with_line_breaks_is_accepted(world, database):
    response = _send_feedback(world, "Dòng một\r\nDòng hai", database=database)
    assert response.status_code == 302
    assert "Dòng hai" in _stored(database, world["referral_id"])[2]
