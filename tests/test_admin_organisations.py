"""The organisation list under admin (editing lives in the directory) and the audit log viewer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casework.audit import AuditEvent


@pytest.fixture
def admin(signed_in):
    browser, _account = signed_in("admin")
    return browser


def test_the_organisation_list_counts_staff_and_links_to_the_directory(admin, make_organisation, make_user):
    # Given an organisation with one provider account
    org_id = make_organisation("Trạm Y tế phường 3", "health_station")
    make_user("provider", organisation_id=org_id)
    # When the admin opens the organisation list
    response = admin.get("/admin/organisations")
    # Then it names the organisation, counts its staff and sends edits to the directory
    assert response.status_code == 200
    assert "Trạm Y tế phường 3" in admin.last_html
    assert f"/directory/organisations/{org_id}/edit" in admin.last_html
    assert re.search(r">\s*1\s*</td>", admin.last_html)


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", html)]


def test_the_audit_log_is_paged_newest_first(admin, database):
    # Given more events than one page holds
    from casework.audit import record

    with database.transaction() as session:
        for n in range(60):
            record(session, "test.event", object_type="thing", object_id=str(n))
        newest = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    # When the admin opens the audit log
    admin.get("/admin/audit")
    first_page = row_ids(admin.last_html)
    # Then it starts with the newest event and goes back in time, one page at a time
    assert first_page[0] >= newest and first_page == sorted(first_page, reverse=True)
    assert len(first_page) == 50 and 'rel="next"' in admin.last_html
    admin.get("/admin/audit?page=2")
    second_page = row_ids(admin.last_html)
    assert second_page and max(second_page) < min(first_page)
    assert 'rel="prev"' in admin.last_html


def test_the_audit_log_shows_codes_not_details(admin, make_user, database):
    # Given an event whose details hold a field list
    make_user("collaborator")
    admin.get("/admin/audit")
    # Then the page shows what happened in words, and no details column
    assert "Tạo tài khoản mới" in admin.last_html
    assert '{"role"' not in admin.last_html and "&#34;role&#34;" not in admin.last_html


def test_the_keys_page_shows_ids_and_counts_but_no_key_material(admin, app):
    # Given the application's keyring
    keyring = app.extensions["casework"].keyring
    # When the admin opens the keys page
    response = admin.get("/admin/keys")
    # Then the primary key id is listed, and no key bytes in any common encoding
    import base64

    assert response.status_code == 200
    assert keyring.primary_id in admin.last_html
    for key in [*keyring.data_keys.values(), keyring.index_root, keyring.session_secret]:
        for encoded in (key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()):
            assert encoded.rstrip("=") not in admin.last_html
