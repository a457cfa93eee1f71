"""Correcting notes, follow-ups and assessment notes; ending co-assignments; a corrected UIC
is checked for duplicates; the retention run keeps age bands current. Through the real forms,
CSRF on; the audit log names ids and fields, never a value."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from approvals_support import approve_all
from conftest import run_casework
from sqlalchemy import select, text
from test_clients_support import assessment, errors, register

from casework import clock as casework_clock
from casework.audit import AuditEvent
from casework.clients.models import (
    Assessment,
    AssessmentNeed,
    CaseNote,
    Client,
    ClientAssignment,
    CoassignRequest,
    FollowUp,
)

SENTINEL = "SENTINEL-Ghi-chú-bí-mật-7731"
HIDDEN_VI = "Hãy xóa các ký tự ẩn hoặc ký tự điều khiển"


def _events(database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _audit_text(database) -> str:
    with database.transaction() as session:
        return "\n".join(repr(tuple(row)) for row in session.execute(text("SELECT * FROM audit_events")))


def _add_note(browser, client_id: str, body: str) -> str:
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/notes", {"body": body}).status_code == 302
    return browser.last_html


def _note_id(database, client_id: str) -> str:
    with database.transaction() as session:
        return session.scalars(select(CaseNote.id).where(CaseNote.client_id == client_id)).one()


def _co_assign(database, client_id: str, user_id: str) -> None:
    with database.transaction() as session:
        session.add(ClientAssignment(client_id=client_id, user_id=user_id))


# --- notes --------------------------------------------------------------------------------------------


def test_the_owner_corrects_a_note_and_the_audit_holds_neither_old_nor_new_text(signed_in, database, caplog):
    # Given a client with a note
    caplog.set_level(logging.DEBUG)
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    _add_note(browser, client_id, "Ghi chú cũ sai-chính-tả")
    note_id = _note_id(database, client_id)
    # When the worker opens the correction form from the client page and types the sentinel
    browser.get(f"/clients/{client_id}")
    assert f"/clients/{client_id}/notes/{note_id}/correct" in browser.last_html
    browser.get(f"/clients/{client_id}/notes/{note_id}/correct")
    assert "Ghi chú cũ sai-chính-tả" in browser.last_html
    response = browser.post(f"/clients/{client_id}/notes/{note_id}/correct", {"body": SENTINEL})
    # Then the note holds the new text
    assert response.status_code == 302
    with database.transaction() as session:
        assert session.get(CaseNote, note_id).body == SENTINEL
    # And the audit names the note and the field only
    event = _events(database, "client.note_corrected")[0]
    assert (event.object_id, json.loads(event.details)) == (client_id, {"note_id": note_id, "fields": ["body"]})
    # And neither the new nor the old text is in the audit table or the logs
    audit = _audit_text(database)
    assert SENTINEL not in audit and "sai-chính-tả" not in audit
    assert SENTINEL not in caplog.text and "sai-chính-tả" not in caplog.text


def test_a_bad_note_correction_gets_a_vietnamese_message_and_changes_nothing(signed_in, database):
    # Given a client with a note
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    _add_note(browser, client_id, "Nội dung đúng")
    note_id = _note_id(database, client_id)
    url = f"/clients/{client_id}/notes/{note_id}/correct"
    browser.get(url)
    # When the correction hides a zero-width character, or is empty, or is far too long
    for body, message in (("Nội\u200bdung", HIDDEN_VI), ("", "Ô này không được để trống."),
                          ("x" * 4001, "Quá dài: tối đa 4000 ký tự (bạn đã nhập 4001).")):
        response = browser.post(url, {"body": body})
        # Then the form comes back with the message in Vietnamese
        assert response.status_code == 200
        assert any(message in e for e in errors(browser.last_html)), errors(browser.last_html)
    # And the note is unchanged and nothing was audited as corrected
    with database.transaction() as session:
        assert session.get(CaseNote, note_id).body == "Nội dung đúng"
    assert _events(database, "client.note_corrected") == []


# --- follow-ups ------------------------------------------------------------------------------------


def test_a_co_assigned_collaborator_corrects_a_follow_up_due_date_and_description(
        signed_in, new_browser, make_user, database):
    # Given a client with a follow-up, and a second collaborator co-assigned to it
    owner_browser, _owner = signed_in("collaborator")
    client_id = register(owner_browser)
    owner_browser.get(f"/clients/{client_id}")
    due = casework_clock.local_today() + timedelta(days=2)
    owner_browser.post(f"/clients/{client_id}/follow-ups", {"due_on": due.isoformat(), "description": "Gọi lại"})
    with database.transaction() as session:
        follow_up_id = session.scalars(select(FollowUp.id).where(FollowUp.client_id == client_id)).one()
    helper = make_user("collaborator")
    _co_assign(database, client_id, helper.user_id)
    browser = new_browser()
    browser.login(helper)
    # When the co-assigned collaborator corrects the date and the description
    url = f"/clients/{client_id}/follow-ups/{follow_up_id}/correct"
    browser.get(url)
    assert "Gọi lại" in browser.last_html and due.isoformat() in browser.last_html
    new_due = due + timedelta(days=5)
    response = browser.post(url, {"due_on": new_due.isoformat(), "description": "Đi cùng đến trạm y tế"})
    # Then the follow-up holds them, and the audit has the id and the two field names only
    assert response.status_code == 302
    with database.transaction() as session:
        follow_up = session.get(FollowUp, follow_up_id)
        assert (follow_up.due_on, follow_up.description) == (new_due, "Đi cùng đến trạm y tế")
    event = _events(database, "client.follow_up_corrected")[0]
    assert json.loads(event.details) == {"follow_up_id": follow_up_id, "fields": ["description", "due_on"]}
    assert event.actor_id == helper.user_id
    assert "Đi cùng" not in event.details and "Gọi lại" not in event.details
    # When the date is not a real date, the form comes back in Vietnamese and nothing changes
    browser.get(url)
    response = browser.post(url, {"due_on": "2026-02-31", "description": "Khác\u202e"})
    assert response.status_code == 200
    found = errors(browser.last_html)
    assert "Nhập một ngày hợp lệ." in found and any(HIDDEN_VI in e for e in found)
    with database.transaction() as session:
        assert session.get(FollowUp, follow_up_id).description == "Đi cùng đến trạm y tế"
    assert len(_events(database, "client.follow_up_corrected")) == 1


def test_another_collaborator_gets_404_on_every_correction_url(signed_in, new_browser, make_user, database):
    # Given a client with a note, a follow-up and an assessment in A's caseload
    browser, _a = signed_in("collaborator")
    client_id = register(browser)
    _add_note(browser, client_id, SENTINEL)
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/follow-ups", {"due_on": casework_clock.local_today().isoformat()})
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment", assessment({"legal_aid": "some"}, {"legal_aid": "A"}))
    with database.transaction() as session:
        note_id = _note_id(database, client_id)
        follow_up_id = session.scalars(select(FollowUp.id).where(FollowUp.client_id == client_id)).one()
    urls = {
        f"/clients/{client_id}/notes/{note_id}/correct": {"body": "B đã sửa"},
        f"/clients/{client_id}/follow-ups/{follow_up_id}/correct": {"due_on": "2026-01-01", "description": "B"},
        f"/clients/{client_id}/assessment/notes": {"note_legal_aid": "B"},
    }
    # When collaborator B (not co-assigned) tries to open or post any correction
    other = new_browser()
    other.login(make_user("collaborator"))
    other.get("/clients/")
    for url, data in urls.items():
        # Then the answer is 404, as for a record that does not exist, and nothing leaks or changes
        assert other.get(url).status_code == 404
        assert SENTINEL not in other.last_html
        assert other.post(url, data, page="/clients/").status_code == 404
    with database.transaction() as session:
        assert session.get(CaseNote, note_id).body == SENTINEL
    for action in ("client.note_corrected", "client.follow_up_corrected", "client.assessment_corrected"):
        assert _events(database, action) == []


# --- assessment notes -------------------------------------------------------------------------------------


def test_correcting_assessment_notes_changes_the_latest_only_and_keeps_history(signed_in, database):
    # Given two assessments, the earlier with a note on legal aid
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    week_ago = (casework_clock.local_today() - timedelta(days=7)).isoformat()
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment",
                 assessment({"legal_aid": "some"}, {"legal_aid": "Ghi chú lần đầu"}, on=week_ago))
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment",
                 assessment({"legal_aid": "urgent"}, {"legal_aid": "Ghi chú sai", "employment": "Giữ nguyên"}))
    # When the worker corrects the latest legal-aid note (the page link leads there)
    browser.get(f"/clients/{client_id}")
    assert f"/clients/{client_id}/assessment/notes" in browser.last_html
    browser.get(f"/clients/{client_id}/assessment/notes")
    assert "Ghi chú sai" in browser.last_html and "Ghi chú lần đầu" not in browser.last_html
    form = {name: "" for name in (f"note_{n}" for n in _domains())}
    form |= {"note_legal_aid": SENTINEL, "note_employment": "Giữ nguyên"}
    response = browser.post(f"/clients/{client_id}/assessment/notes", form)
    # Then the latest note changed, the earlier assessment kept its own note
    assert response.status_code == 302
    with database.transaction() as session:
        rows = session.execute(
            select(Assessment.assessed_on, AssessmentNeed.domain, AssessmentNeed)
            .join(AssessmentNeed, AssessmentNeed.assessment_id == Assessment.id)
            .where(Assessment.client_id == client_id, AssessmentNeed.domain.in_(("legal_aid", "employment")))
        ).all()
        notes = {(str(on), domain): need.note for on, domain, need in rows}
        changed_id = next(need.id for on, domain, need in rows
                          if domain == "legal_aid" and str(on) != week_ago)
    assert notes[(week_ago, "legal_aid")] == "Ghi chú lần đầu"
    assert notes[(casework_clock.local_today().isoformat(), "legal_aid")] == SENTINEL
    assert notes[(casework_clock.local_today().isoformat(), "employment")] == "Giữ nguyên"
    # And the audit names the need row by id and the field, never the domain or the text
    event = _events(database, "client.assessment_corrected")[0]
    details = json.loads(event.details)
    assert (details["need_ids"], details["fields"]) == ([changed_id], ["note"])
    assert "legal_aid" not in event.details and SENTINEL not in _audit_text(database)


def test_a_bad_assessment_note_is_refused_and_nothing_is_half_saved(signed_in, database):
    # Given an assessment with two notes
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment", assessment(notes={"legal_aid": "Một", "employment": "Hai"}))
    # When one corrected note is fine and the other carries a bidi override
    browser.get(f"/clients/{client_id}/assessment/notes")
    response = browser.post(f"/clients/{client_id}/assessment/notes",
                            {"note_legal_aid": "Một đã sửa", "note_employment": "Hai\u202eđảo"})
    # Then the form comes back in Vietnamese and neither note changed
    assert response.status_code == 200
    assert any(HIDDEN_VI in e for e in errors(browser.last_html))
    with database.transaction() as session:
        notes = dict(session.execute(select(AssessmentNeed.domain, AssessmentNeed.note_enc)).all())
        needs = {n.domain: n.note for n in session.scalars(select(AssessmentNeed))}
    assert notes and (needs["legal_aid"], needs["employment"]) == ("Một", "Hai")
    assert _events(database, "client.assessment_corrected") == []


def _domains() -> list[str]:
    from casework import vocab

    return list(vocab.NEED_DOMAINS)


# --- co-assignments ------------------------------------------------------------------------------------------


def test_the_owner_removes_a_co_assignment_and_the_collaborator_loses_access(
        signed_in, new_browser, make_user, database):
    # Given a client whose owner has co-assigned collaborator B
    owner_browser, owner = signed_in("collaborator")
    client_id = register(owner_browser)
    b = make_user("collaborator")
    _co_assign(database, client_id, b.user_id)
    b_browser = new_browser()
    b_browser.login(b)
    assert b_browser.get(f"/clients/{client_id}").status_code == 200
    remove_url = f"/clients/{client_id}/co-assignees/{b.user_id}/remove"
    # When B tries to remove their own co-assignment, they are refused (only the owner may)
    assert remove_url not in b_browser.last_html
    assert b_browser.post(remove_url).status_code == 403
    # When the owner removes B from the client page
    owner_browser.get(f"/clients/{client_id}")
    assert remove_url in owner_browser.last_html
    assert owner_browser.post(remove_url).status_code == 302
    # Then B gets 404 on the record, and the removal is audited with ids only
    assert b_browser.get(f"/clients/{client_id}").status_code == 404
    with database.transaction() as session:
        assert session.scalars(select(ClientAssignment)).all() == []
    event = _events(database, "client.coassignment_removed")[0]
    assert (event.actor_id, event.object_id, json.loads(event.details)) == (owner.user_id, client_id,
                                                                            {"user": b.user_id})
    # And removing again is "not found"
    owner_browser.get(f"/clients/{client_id}")
    assert owner_browser.post(remove_url).status_code == 404


def test_an_admin_removes_a_co_assignment_seeing_codes_and_names_only(signed_in, new_browser, make_user, database):
    # Given B asked to be co-assigned to A's client and an admin granted it
    a_browser, _a = signed_in("collaborator")
    client_id = register(a_browser, uic="LANA1999N", alias="Bí-danh-của-A")
    with database.transaction() as session:
        code = session.get(Client, client_id).display_code
    b = make_user("collaborator")
    b_browser = new_browser()
    b_browser.login(b)
    b_browser.get("/clients/")
    b_browser.post("/clients/co-assignment-requests", {"uic": "LANA1999N"})
    with database.transaction() as session:
        request_id = session.scalars(select(CoassignRequest.id)).one()
    admin = new_browser()
    admin.login(make_user("admin"))
    admin.get("/clients/admin/reassign")
    admin.post(f"/clients/admin/co-assignments/{request_id}")
    approve_all(new_browser, make_user)
    # When the admin opens the screen, the co-assignment shows as code and collaborator name only
    admin.get("/clients/admin/reassign")
    section = admin.last_html.split('id="coassigned-h"')[1]
    assert code in section and "Staff collaborator" in section
    assert "Bí-danh-của-A" not in admin.last_html and "LANA" not in admin.last_html
    # And they remove it
    response = admin.post(f"/clients/admin/co-assignments/{client_id}/{b.user_id}/remove")
    # Then B no longer reaches the record, it is audited, and the old request does not come back
    assert response.status_code == 302
    assert b_browser.get(f"/clients/{client_id}").status_code == 404
    assert len(_events(database, "client.coassignment_removed")) == 1
    admin.get("/clients/admin/reassign")
    assert code not in admin.last_html.split('id="req-h"')[1]
    assert "Bí-danh-của-A" not in admin.last_html


# --- a corrected UIC is checked for duplicates -----------------------------------------------------------------


def _correction(uic: str, **extra: str) -> dict[str, str]:
    return {"uic": uic, "sex_gender": "female", "birth_year": "1998", "age_band": "unknown",
            "outreach_source": "venue", "contact_preference": "sms", "alias": "", "phone": "", "residence": "",
            **extra}


def test_a_corrected_uic_that_matches_my_other_client_is_shown_and_a_human_decides(signed_in, database):
    # Given two clients in my caseload
    browser, _account = signed_in("collaborator")
    first = register(browser, uic="HOMI1998N")
    second = register(browser, uic="THUY1998N")
    with database.transaction() as session:
        first_code = session.get(Client, first).display_code
    # When I correct the second client's UIC to the first one's (typed differently)
    browser.get(f"/clients/{second}/correct")
    response = browser.post(f"/clients/{second}/correct", _correction("hở mì 1998 n"))
    # Then I am told it matches another record, offered to open it, and nothing changed
    assert response.status_code == 200
    assert "Mã UIC đã sửa trùng với hồ sơ của một thân chủ khác" in browser.last_html
    assert f"/clients/{first}" in browser.last_html and first_code in browser.last_html
    with database.transaction() as session:
        assert session.get(Client, second).uic == "THUY1998N"
    assert _events(database, "client.corrected") == []
    # When I confirm it is a different person, the correction is saved; nothing is merged
    response = browser.post(f"/clients/{second}/correct", _correction("hở mì 1998 n", confirm_different="y"))
    assert response.status_code == 302
    with database.transaction() as session:
        assert (session.get(Client, second).uic, session.get(Client, first).uic) == ("HOMI1998N", "HOMI1998N")
    event = _events(database, "client.corrected")[0]
    assert json.loads(event.details) == {"fields": ["uic"], "uic_match_overridden": True}
    # And correcting other fields while keeping the same UIC asks nothing again
    browser.get(f"/clients/{second}/correct")
    assert browser.post(f"/clients/{second}/correct", _correction("HOMI1998N", phone="0912 345 678")).status_code \
        == 302


def test_a_corrected_uic_matching_another_caseload_is_traced_on_that_record(
        signed_in, new_browser, make_user, database):
    # Given a client in collaborator A's caseload
    a = make_user("collaborator")
    a_browser = new_browser()
    a_browser.login(a)
    existing = register(a_browser, uic="LANA1999N", alias="Bí-danh-của-A")
    with database.transaction() as session:
        code = session.get(Client, existing).display_code
    # When collaborator B corrects their own client's UIC to the same one
    browser, _b = signed_in("collaborator")
    mine = register(browser, uic="KHAC1999N")
    browser.get(f"/clients/{mine}/correct")
    browser.post(f"/clients/{mine}/correct", _correction("LA NA 1999 N"))
    # Then B learns a match exists elsewhere, without its code or contents, and may ask to be co-assigned
    assert "thuộc danh sách của cộng tác viên khác" in browser.last_html
    assert code not in browser.last_html and "Bí-danh-của-A" not in browser.last_html
    assert "/clients/co-assignment-requests" in browser.last_html
    # And the probe shows in the access history of A's record (no UIC in the audit)
    probe = _events(database, "client.uic_matched")[0]
    assert (probe.object_id, json.loads(probe.details)) == (existing, {"page": "correction"})
    assert "LANA" not in _audit_text(database)
    with database.transaction() as session:
        assert session.get(Client, mine).uic == "KHAC1999N"


# --- retention keeps age bands current ------------------------------------------------------------------------


def test_the_retention_run_moves_a_17_year_old_nobody_opened_to_18_24(signed_in, database, clock):
    from casework.retention import erase_expired

    # Given a client registered at 17, and a year in which nobody opens the record
    browser, _account = signed_in("collaborator")
    year = casework_clock.local_today().year - 17
    client_id = register(browser, uic=f"TUAN{year}M", birth_year=str(year))
    unknown = register(browser, uic="KHON1990N", birth_year="", age_band="25-34")
    clock.advance(days=366)
    # When retention runs
    with database.transaction() as session:
        result = erase_expired(session, years=5)
    # Then the band is 18-24, the client is no longer a minor, and a band chosen by hand stays
    assert result.age_bands_updated == 1
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.age_band, client.is_minor) == ("18-24", False)
        assert session.get(Client, unknown).age_band == "25-34"
    # And the change is audited by the system with no band or year, the run with counts only
    event = _events(database, "client.age_band_updated")[0]
    assert (event.object_id, event.actor_role, event.details) == (client_id, "system", "{}")
    run = _events(database, "retention.run")[0]
    assert json.loads(run.details) == {"age_bands_updated": 1, "erased": 0, "years": 5}
    # And a second run has nothing to do
    with database.transaction() as session:
        assert erase_expired(session, years=5).age_bands_updated == 0


def test_the_retention_command_refreshes_bands_and_prints_counts_only(signed_in, database, settings):
    # Given a client whose stored band is out of date (an 18-year-old still marked under 18)
    browser, _account = signed_in("collaborator")
    year = casework_clock.local_today().year - 19
    client_id = register(browser, uic=f"BAND{year}N", birth_year=str(year), alias="Không-được-in-ra")
    with database.transaction() as session:
        stale = session.get(Client, client_id)
        stale.age_band, stale.is_minor = "lt18", True
    # When the operator runs retention
    done = run_casework(settings, "retention", "run")
    # Then the band is current, and the output holds no client data
    assert done.returncode == 0, done.stderr
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.age_band, client.is_minor) == ("18-24", False)
    output = done.stdout + done.stderr
    assert "Không-được-in-ra" not in output and client_id not in output and str(year) not in output
