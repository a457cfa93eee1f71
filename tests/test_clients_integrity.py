"""Tampered stored values, as a worker meets them: a damaged field is not shown, the rest of the
page still works, the failure is audited; a damaged seal (who may see the record) stops the page."""

from __future__ import annotations

from sqlalchemy import select, text
from test_clients_support import register

from casework.audit import AuditEvent
from casework.clients.models import Client

MARKER = "không qua kiểm tra toàn vẹn"


def _failures(database) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "integrity.failure")
                                    .order_by(AuditEvent.id)))


def test_a_ciphertext_copied_from_another_client_is_marked_and_the_rest_of_the_page_works(signed_in, database):
    # Given two clients, and someone with database access copies one alias onto the other record
    browser, _account = signed_in("collaborator")
    first = register(browser, uic="AAAA1990N", alias="Người thứ nhất", phone="0911 000 111")
    second = register(browser, uic="BBBB1990N", alias="Người thứ hai", phone="0922 000 222")
    with database.transaction() as session:
        stolen = session.get(Client, first).alias_enc
        target = session.get(Client, second)
        target.alias_enc = stolen
        code = target.display_code

    # When the worker opens the second client
    response = browser.get(f"/clients/{second}")

    # Then the page is there, without the copied value, with a marker where it would be
    html = browser.last_html
    assert response.status_code == 200
    assert "Người thứ nhất" not in html and "Traceback" not in html
    assert MARKER in html
    assert code in html and "0922 000 222" in html  # the record's own, undamaged values
    # And the failure is audited with the table, row and column, never a value
    failure, = _failures(database)
    assert (failure.object_type, failure.object_id) == ("clients", second)
    assert "alias_enc" in failure.details and "Người" not in failure.details

    # And the rest of the page still works: a note can be added and is shown
    note = browser.post(f"/clients/{second}/notes", {"body": "Đã gọi điện, hẹn tuần sau."})
    assert note.status_code == 302, browser.last_html[-500:]
    browser.get(f"/clients/{second}")
    assert "Đã gọi điện, hẹn tuần sau." in browser.last_html and MARKER in browser.last_html


def test_a_tampered_note_is_marked_and_a_write_that_would_read_it_is_refused_whole(signed_in, database):
    # Given a client with two notes, and someone with database access overwrites one note's ciphertext
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="CCCC1990N", alias="Tên gốc")
    for body in ("Ghi chú thứ nhất.", "Ghi chú thứ hai."):
        saved = browser.post(f"/clients/{client_id}/notes", {"body": body}, page=f"/clients/{client_id}")
        assert saved.status_code == 302
    with database.transaction() as session:
        note_id = session.execute(text("SELECT id FROM case_notes WHERE client_id = :c ORDER BY created_at LIMIT 1"),
                                  {"c": client_id}).scalar_one()
        other = session.execute(text("SELECT body_enc FROM case_notes WHERE id <> :n AND client_id = :c"),
                                {"n": note_id, "c": client_id}).scalar_one()
        session.execute(text("UPDATE case_notes SET body_enc = :b WHERE id = :n"), {"b": other, "n": note_id})

    # When the worker opens the record, Then the other note and the client are shown, the damaged one is marked
    assert browser.get(f"/clients/{client_id}").status_code == 200
    assert MARKER in browser.last_html and "Tên gốc" in browser.last_html
    assert browser.last_html.count("Ghi chú thứ hai.") == 1  # the copy is not shown as the first note
    failure, = _failures(database)
    assert (failure.object_type, failure.object_id) == ("case_notes", note_id)

    # And correcting that note (the service compares with the stored text) is refused; nothing is saved
    with database.transaction() as session:
        before = session.execute(text("SELECT body_enc FROM case_notes WHERE id = :n"), {"n": note_id}).scalar_one()
    response = browser.post(f"/clients/{client_id}/notes/{note_id}/correct", {"body": "Sửa lại."},
                            page=f"/clients/{client_id}")
    assert response.status_code == 500 and "Traceback" not in browser.last_html
    with database.transaction() as session:
        after = session.execute(text("SELECT body_enc FROM case_notes WHERE id = :n"), {"n": note_id}).scalar_one()
    assert after == before


def test_a_broken_row_seal_stops_the_page_with_the_integrity_message(signed_in, database, make_user):
    # Given a client moved into another worker's caseload by an UPDATE that bypassed casework
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="DDDD1990N", alias="Bị chuyển")
    other = make_user("collaborator")
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET owner_id = :o WHERE id = :id"), {"o": other.user_id, "id": client_id})
    # When anyone opens it, Then nothing of it is shown, the page says why, and it is audited
    response = browser.get(f"/clients/{client_id}")
    assert response.status_code == 500
    assert "Bị chuyển" not in browser.last_html and "Traceback" not in browser.last_html
    assert "toàn vẹn" in browser.last_html
    failure, = _failures(database)
    assert (failure.object_type, failure.object_id) == ("clients", client_id) and "seal" in failure.details
