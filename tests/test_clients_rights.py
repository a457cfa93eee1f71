"""Client rights: see everything held, correct it, withdraw consent, and be erased."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from test_clients_support import assessment, register

from casework import clock as casework_clock
from casework.audit import AuditEvent
from casework.clients.models import Client, Consent
from casework.db import Base, new_id
from casework.directory.models import Organisation, Service
from casework.referrals.models import Referral, ReferralEvent


def a_full_record(browser, database, account) -> tuple[str, dict[str, str]]:
    """A client with every kind of data, and a referral made directly in the database."""
    values = {"alias": "Bé Na", "phone": "0903 111 222", "residence": "Tổ 12, khu phố 3", "birth_year": "1996",
              "note": "Đã hẹn đi khám tuần sau", "need_note": "Muốn học may", "follow_up": "Gọi hỏi lịch học",
              "note_to_receiver": "Thân chủ ngại đến giờ đông người", "outcome": "Đã nhập học lớp may",
              "feedback": "Đi học đều"}
    client_id = register(browser, uic="TH NG 1996 N", alias=values["alias"], phone=values["phone"],
                         residence=values["residence"], birth_year=values["birth_year"])
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment",
                 assessment({"vocational_training": "urgent"}, {"vocational_training": values["need_note"]}))
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/notes", {"body": values["note"]})
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/follow-ups", {
        "due_on": (casework_clock.local_today() + timedelta(days=5)).isoformat(), "description": values["follow_up"]})
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/consents", {"purpose": "share_with_provider", "method": "written",
                                                    "given_on": casework_clock.local_today().isoformat()})
    with database.transaction() as session:
        org = Organisation(id=new_id(), name="Trường nghề quận", kind="vocational_training")
        service = Service(id=new_id(), organisation_id=org.id, name="Lớp may công nghiệp",
                          need_domain="vocational_training")
        session.add_all([org, service])
        session.flush()
        referral = Referral(id=new_id(), code="RF-TEST-0001", client_id=client_id, service_id=service.id,
                            organisation_id=org.id, need_domain="vocational_training", referred_by=account.user_id,
                            status="completed", accept_due_on=date.today(), complete_due_on=date.today(),
                            expires_on=date.today())
        session.add(referral)
        session.flush()
        referral.note_to_receiver = values["note_to_receiver"]
        referral.outcome = values["outcome"]
        referral.feedback = values["feedback"]
        session.add(ReferralEvent(referral_id=referral.id, actor_id=account.user_id, to_status="requested"))
    return client_id, values


def test_the_access_sheet_shows_every_stored_field(signed_in, database):
    # Given a client with details, consents, an assessment, a note, a follow-up and a referral
    browser, account = signed_in("collaborator")
    client_id, values = a_full_record(browser, database, account)
    with database.transaction() as session:
        code = session.get(Client, client_id).display_code
    # When the worker prints the access sheet
    response = browser.get(f"/clients/{client_id}/record")
    # Then every value is on it, the UIC included, and the referral with its service and texts
    assert response.status_code == 200
    sheet = browser.last_html
    for name, value in values.items():
        assert value in sheet, name
    for shown in (code, "THNG1996N", "RF-TEST-0001", "Lớp may công nghiệp", account.display_name):
        assert shown in sheet, shown
    assert sheet.count("<td>Bằng văn bản</td>") + sheet.count("<td>Written</td>") == 1  # the sharing consent


def test_erasure_removes_every_row_and_every_ciphertext_leaving_an_anonymous_audit_event(
        signed_in, database, database_url):
    # Given a full record, and the ciphertexts it is stored as
    browser, account = signed_in("collaborator")
    client_id, _values = a_full_record(browser, database, account)
    with database.transaction() as session:
        code = session.get(Client, client_id).display_code
        if session.get_bind().dialect.name == "sqlite":  # ON DELETE CASCADE needs this
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        ciphertexts = _ciphertexts(session)
    assert len(ciphertexts) >= 10

    # When the worker types a wrong display code, nothing is erased
    browser.get(f"/clients/{client_id}/erase")
    assert "không còn tính người này" in browser.last_html  # the note on unsubmitted aggregates
    response = browser.post(f"/clients/{client_id}/erase", {"display_code": "KH-0000-0000"})
    assert response.status_code == 200
    assert "Đây không phải mã hiển thị của thân chủ." in browser.last_html
    with database.transaction() as session:
        assert session.get(Client, client_id) is not None

    # When they type the client's display code
    response = browser.post(f"/clients/{client_id}/erase", {"display_code": code.lower()})
    assert response.status_code == 302

    # Then no row in any table refers to the client, no referral or referral event is left
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if "client_id" in table.c:
                left = session.execute(select(table).where(table.c.client_id == client_id)).all()
                assert left == [], table.name
        assert session.execute(select(Referral)).all() == []
        assert session.execute(select(ReferralEvent)).all() == []
        # and no ciphertext of its fields remains anywhere in the database
        remaining = _all_text(session)
        erased = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.erased")).one()
    assert not [c for c in ciphertexts if c in remaining]
    # nor in the SQLite file or its write-ahead log (freed pages are zeroed and the log is flushed)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert not [c for c in ciphertexts if c.encode() in raw]
    # And only an audit event without identifying content remains
    assert (erased.object_id, erased.actor_id) == (client_id, account.user_id)
    assert json.loads(erased.details) == {"reason": "client_request"}
    assert code not in remaining
    assert browser.get(f"/clients/{client_id}").status_code == 404


def _ciphertexts(session) -> set[str]:
    """Every encrypted value except staff accounts' own (their second-factor secrets)."""
    found = set()
    for table in Base.metadata.sorted_tables:
        if table.name == "users":
            continue
        columns = [c for c in table.c if c.name.endswith("_enc")]
        for column in columns:
            found |= {v for v in session.scalars(select(column)) if v}
    return found


def _all_text(session) -> str:
    parts = []
    for name in inspect(session.connection()).get_table_names():
        parts += [repr(tuple(row)) for row in session.execute(text(f'SELECT * FROM "{name}"'))]  # noqa: S608
    return "\n".join(parts)


def test_correction_changes_fields_and_audits_only_their_names(signed_in, database):
    # Given a client
    browser, _account = signed_in("collaborator")
    client_id = register(browser, alias="Tên Cũ", phone="0901 000 000", birth_year="1990")
    # When the worker corrects the alias, the birth year and the contact preference
    browser.get(f"/clients/{client_id}/correct")
    assert 'value="Tên Cũ"' in browser.last_html
    response = browser.post(f"/clients/{client_id}/correct", {
        "uic": "HOMI1998N", "sex_gender": "female", "birth_year": "2000", "age_band": "unknown",
        "outreach_source": "venue", "contact_preference": "call", "alias": "Tên Mới", "phone": "0901 000 000",
        "residence": ""})
    assert response.status_code == 302
    # Then the record holds the new values and the audit names the fields only
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.alias, client.birth_year, client.age_band, client.contact_preference) == \
            ("Tên Mới", "2000", "25-34", "call")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.corrected")).one()
    assert json.loads(event.details) == {"fields": ["age_band", "alias", "birth_year", "contact_preference"]}
    assert "Tên" not in event.details and "1990" not in event.details


def test_withdrawing_registration_consent_blocks_referrals_and_records_and_offers_erasure(signed_in, database):
    from casework.clients.services import can_refer

    # Given a client who agreed to registration and to sharing with providers
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/consents", {"purpose": "share_with_provider", "method": "verbal",
                                                    "given_on": casework_clock.local_today().isoformat()})
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert can_refer(session, client)
        registration = session.scalars(select(Consent).where(Consent.client_id == client_id,
                                                             Consent.purpose == "registration")).one()
    # When the client withdraws registration consent
    browser.get(f"/clients/{client_id}")
    response = browser.post(f"/clients/{client_id}/consents/{registration.id}/withdraw")
    assert response.status_code == 302
    # Then no referral is possible, every consent is withdrawn, and erasure is offered
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert not can_refer(session, client)
        assert all(c.withdrawn_on for c in session.scalars(select(Consent).where(Consent.client_id == client_id)))
    browser.get(f"/clients/{client_id}")
    assert "Thân chủ đã rút lại sự đồng ý đăng ký" in browser.last_html
    assert f"/clients/{client_id}/erase" in browser.last_html
    # And nothing new can be recorded
    browser.post(f"/clients/{client_id}/notes", {"body": "không được lưu"})
    with database.transaction() as session:
        assert "không được lưu" not in _all_text(session)


def test_can_refer_needs_an_open_case_and_both_consents(signed_in, database):
    from casework.clients.services import can_refer

    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    with database.transaction() as session:
        assert not can_refer(session, session.get(Client, client_id))  # no sharing consent yet
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/consents", {"purpose": "share_with_provider", "method": "verbal",
                                                    "given_on": casework_clock.local_today().isoformat()})
    browser.get(f"/clients/{client_id}/close")
    browser.post(f"/clients/{client_id}/close", {"reason": "other"})
    with database.transaction() as session:
        assert not can_refer(session, session.get(Client, client_id))  # closed


def test_sharing_and_contact_consent_can_be_recorded_at_registration(signed_in, database):
    from casework.clients.services import can_contact, can_refer

    # Given a worker registering a client who also agrees to sharing and contact
    browser, account = signed_in("collaborator")
    client_id = register(browser, consent_share="y", consent_contact="y", consent_method="written")
    # Then three consents are recorded by this worker, and referral and contact are possible
    with database.transaction() as session:
        consents = session.scalars(select(Consent).where(Consent.client_id == client_id)).all()
        assert sorted(c.purpose for c in consents) == ["contact", "registration", "share_with_provider"]
        assert {(c.method, c.recorded_by) for c in consents} == {("written", account.user_id)}
        client = session.get(Client, client_id)
        assert can_refer(session, client) and can_contact(session, client)


def test_the_access_sheet_reads_as_a_plain_document_without_codes_or_json(signed_in, database,
                                                                          make_organisation):
    from test_referrals_support import make_referral, make_service

    from casework.referrals.lifecycle import _append_feedback
    from casework.referrals.models import Referral

    # Given a client whose completed referral has a service result and two feedback notes
    browser, account = signed_in("collaborator")
    client_id = register(browser, uic="TRAN1992N", alias="Chị Thu")
    place = make_service(database, make_organisation())
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=account.user_id,
                                status="completed")
    with database.transaction() as session:
        referral = session.get(Referral, referral_id)
        referral.business_status = "test-done-result-given"
        referral.reason_code = "test-done-result-given"
        for text in ("Khách đã đến khám.", "Đã hẹn tái khám sau 3 tháng."):
            _append_feedback(referral, text, at=referral.created_at, by=None)
    # When the worker prints the sheet for the client
    html = browser.get(f"/clients/{client_id}/record").get_data(as_text=True)
    # Then it says things in words: the notes as sentences, the result by its label, no JSON, no codes
    assert "Khách đã đến khám." in html and "Đã hẹn tái khám sau 3 tháng." in html
    assert '{"v"' not in html and "&#34;notes&#34;" not in html and '"notes"' not in html
    assert "test-done-result-given" not in html
    assert "data-print" in html
