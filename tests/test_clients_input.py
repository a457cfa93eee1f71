"""Bad input gets the form back with a message in Vietnamese, and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_clients_support import errors, register, registration

from casework import clock as casework_clock
from casework.audit import AuditEvent
from casework.clients.models import CaseNote, Client, Consent

HIDDEN_TEXT = "Remove invisible"
HIDDEN_VI = "Hãy xóa các ký tự ẩn hoặc ký tự điều khiển"


def stored(database) -> tuple[int, int, int]:
    with database.transaction() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Client, Consent, CaseNote))


@pytest.mark.parametrize(("change", "message"), [
    ({"consent_given": None}, "Khi chưa có sự đồng ý đăng ký của thân chủ thì không được lưu bất cứ thông tin nào."),
    ({"consent_date": ""}, "Ô này không được để trống."),
    ({"consent_date": "2026-13-45"}, "Nhập một ngày hợp lệ."),
    ({"birth_year": "1800"}, "Năm sinh này không hợp lệ"),
    ({"birth_year": "2090"}, "Năm sinh này không hợp lệ"),
    ({"birth_year": "19x8"}, "Nhập năm sinh gồm bốn chữ số"),
    ({"birth_year": "١٩٩٨"}, "Nhập năm sinh gồm bốn chữ số"),
    ({"uic": ""}, "Nhập mã UIC, hoặc đánh dấu"),
    ({"uic": "A1"}, "Mã UIC có từ 4 đến 24 chữ cái và chữ số."),
    ({"uic": "HO\u200bMI1998N"}, HIDDEN_VI),
    ({"alias": "Lan\u202eanL"}, HIDDEN_VI),
    ({"residence": "Tổ 5\x00"}, HIDDEN_VI),
    ({"alias": "A\u2066B"}, HIDDEN_VI),
    ({"alias": "x" * 81}, "Quá dài: tối đa 80 ký tự"),
    ({"phone": "call me maybe"}, "Nhập số điện thoại chỉ gồm chữ số"),
    ({"sex_gender": "police"}, "Chọn một trong các lựa chọn hiển thị."),
    ({"consent_method": "assumed"}, "Chọn một trong các lựa chọn hiển thị."),
])
def test_bad_registration_input_returns_the_form_in_vietnamese_and_stores_nothing(signed_in, database, change,
                                                                                  message):
    # Given a collaborator on the registration form
    browser, _account = signed_in("collaborator")
    browser.get("/clients/register")
    audit_before = _audit_count(database)
    # When they submit it with one bad value
    response = browser.post("/clients/register", registration(**change))
    # Then they get the form back with the message in Vietnamese, and nothing is stored
    assert response.status_code == 200
    assert any(message in e for e in errors(browser.last_html)), errors(browser.last_html)
    assert 'name="consent_given"' in browser.last_html
    assert stored(database) == (0, 0, 0)
    assert _audit_count(database) == audit_before


def _audit_count(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize(("body", "message"), [
    ("x" * 10_000, "Quá dài: tối đa 4000 ký tự (bạn đã nhập 10000)."),
    ("Ghi chú\u202e ẩn", HIDDEN_VI),
    ("Ghi chú\u200d", HIDDEN_VI),
    ("Ghi chú\x00", HIDDEN_VI),
    ("   ", "Ô này không được để trống."),
])
def test_bad_case_notes_are_refused_in_vietnamese(signed_in, database, body, message):
    # Given a registered client
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    # When the worker submits a bad note
    browser.get(f"/clients/{client_id}")
    response = browser.post(f"/clients/{client_id}/notes", {"body": body})
    # Then the client page comes back with the message, and no note is stored
    assert response.status_code == 200
    assert any(message in e for e in errors(browser.last_html)), errors(browser.last_html)
    assert stored(database)[2] == 0


def test_multi_line_notes_keep_their_line_breaks(signed_in, database):
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/notes", {"body": "dòng một\r\ndòng hai"}).status_code == 302
    with database.transaction() as session:
        assert session.scalars(select(CaseNote)).one().body == "dòng một\r\ndòng hai"


def test_an_assessment_in_the_future_or_with_unknown_levels_is_refused(signed_in, database):
    from datetime import timedelta

    from test_clients_support import assessment

    from casework.clients.models import Assessment

    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    browser.get(f"/clients/{client_id}/assessment")
    tomorrow = (casework_clock.local_today() + timedelta(days=1)).isoformat()
    browser.post(f"/clients/{client_id}/assessment", assessment(on=tomorrow))
    assert "Ngày này không thể ở tương lai." in errors(browser.last_html)
    browser.post(f"/clients/{client_id}/assessment", assessment({"gbv": "extreme"}))
    assert "Chọn một trong các lựa chọn hiển thị." in errors(browser.last_html)
    browser.post(f"/clients/{client_id}/assessment", assessment(notes={"gbv": "y" * 1001}))
    assert any("Quá dài" in e for e in errors(browser.last_html))
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_markup_typed_into_a_note_is_shown_as_text(signed_in):
    browser, _account = signed_in("collaborator")
    client_id = register(browser, alias="<b>in đậm</b>")
    browser.get(f"/clients/{client_id}")
    browser.post(f"/clients/{client_id}/notes", {"body": "<script>alert(1)</script>\nhai"})
    browser.get(f"/clients/{client_id}")
    assert "<script>alert(1)</script>" not in browser.last_html and "<b>in đậm</b>" not in browser.last_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>hai" in browser.last_html


def test_where_the_client_was_reached_has_no_preset_answer(signed_in):
    from test_clients_support import registration

    browser, _account = signed_in("collaborator")
    page = browser.get("/clients/register").get_data(as_text=True)
    select = page[page.index('name="outreach_source"'):]
    select = select[:select.index("</select>")]
    assert '<option selected value="">' in select and select.count("selected") == 1
    response = browser.post("/clients/register", registration(outreach_source=""))
    assert response.status_code == 200 and "không có sẵn lựa chọn" in browser.last_html


def test_a_long_text_box_says_how_many_characters_it_takes(signed_in):
    import re

    from test_clients_support import register

    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="DEMO1990N")
    page = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*data-max="\d+"', page) and 'data-counter-for="body"' in page
    assert "Tối đa" in page and "/static/forms.js" in page
