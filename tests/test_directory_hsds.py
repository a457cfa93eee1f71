"""The directory travels as Open Referral HSDS 3.0 JSON: export, import, refuse bad files."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import delete

from casework.db import new_id
from casework.directory.demo import load_directory
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation


@pytest.fixture
def admin(make_user, new_browser):
    browser = new_browser()
    browser.login(make_user("admin"))
    return browser


@pytest.fixture
def demo_directory(database):
    with database.transaction() as session:
        load_directory(session)


def _export(browser) -> dict:
    response = browser.get("/directory/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def _import(browser, document: dict | bytes):
    raw = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    browser.get("/directory/import")
    return browser.post("/directory/import", {"file": (io.BytesIO(raw), "directory.json")},
                        content_type="multipart/form-data")


def _empty_directory(database) -> None:
    with database.transaction() as session:
        for model in (ServiceAtLocation, Service, Location, Organisation):
            session.execute(delete(model))


def _add_sparse_organisation(database) -> None:
    """An inactive organisation with no phone, a place without a street and a service without a place."""
    with database.transaction() as session:
        org = Organisation(id=new_id(), name="Zz tổ chức tạm ngừng", kind="ngo", active=False)
        session.add(org)
        session.flush()
        session.add(Location(id=new_id(), organisation_id=org.id, name="Điểm hẹn", address_locality="Tân Hưng"))
        session.add(Service(id=new_id(), organisation_id=org.id, name="Sinh kế", need_domain="livelihood",
                            status="inactive", accept_within_days=7, complete_within_days=90))


def test_export_then_import_into_an_empty_directory_gives_the_same_directory(admin, demo_directory, database):
    # Given the demo directory plus a sparse organisation, exported as HSDS
    _add_sparse_organisation(database)
    exported = _export(admin)
    assert exported["version"] == "3.0" and len(exported["organizations"]) == 7
    service = exported["organizations"][0]["services"][0]
    assert {a["taxonomy_term"]["code"] for a in service["attributes"]} >= {"need_domain", "accept_within_days"}
    # When the directory is emptied and the file imported
    _empty_directory(database)
    assert _export(admin)["organizations"] == []
    response = _import(admin, exported)
    # Then the import succeeds and a new export is identical
    assert response.status_code == 302
    assert _export(admin) == exported


def _broken(exported: dict) -> dict:
    document = json.loads(json.dumps(exported))
    del document["organizations"][0]["services"][1]["name"]
    return document


def test_an_invalid_file_is_refused_with_a_message_and_imports_nothing(admin, demo_directory, database):
    # Given an export in which the second service of the first organisation lost its name
    exported = _export(admin)
    _empty_directory(database)
    # When the admin imports it
    response = _import(admin, _broken(exported))
    # Then it is refused, saying which item and which field, in Vietnamese
    assert response.status_code == 400
    assert "Tệp chưa được nhập" in admin.last_html
    assert "dịch vụ số 2" in admin.last_html and "“name”" in admin.last_html
    # And nothing at all was imported (not even the valid organisations)
    assert _export(admin)["organizations"] == []


@pytest.mark.parametrize("mutation, message", [
    (lambda d: d["organizations"][0]["services"][0]["attributes"][0].update(value="sex_work"), "need_domain"),
    (lambda d: d["organizations"][0].update(id="not-a-uuid"), "“id”"),
    (lambda d: d["organizations"][1].update(id=d["organizations"][0]["id"]), "nhiều lần"),
    (lambda d: d["organizations"][0]["services"][0]["service_at_locations"][0].update(
        location_id="00000000-0000-4000-8000-000000000000"), "không thuộc cùng tổ chức"),
])
def test_each_kind_of_mistake_is_named(admin, demo_directory, database, mutation, message):
    # Given an export with one mistake
    document = _export(admin)
    mutation(document)
    _empty_directory(database)
    # When it is imported, Then it is refused naming the problem and nothing is imported
    response = _import(admin, document)
    assert response.status_code == 400 and message in admin.last_html
    assert _export(admin)["organizations"] == []


def test_a_file_that_is_not_json_is_refused(admin):
    response = _import(admin, b"\xff\xfe not json")
    assert response.status_code == 400 and "không phải là tệp JSON" in admin.last_html
