"""The directory travels as Open Referral HSDS 3.0 JSON: export, import, the import report, bad files.

These tests need no copy of the HSDS specification; test_directory_hsds_official.py checks the
same export and the official examples against the official schemas when one is at hand.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from importlib import resources

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import delete, select

from casework.audit import AuditEvent
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


def export_of(browser) -> dict:
    response = browser.get("/directory/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def import_file(browser, document: dict | list | bytes, need_domain: str = ""):
    """Upload through the import form as an admin does; a success is followed to the report page."""
    raw = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    browser.get("/directory/import")
    response = browser.post("/directory/import", {"file": (io.BytesIO(raw), "directory.json"),
                                                  "need_domain": need_domain},
                            content_type="multipart/form-data")
    if response.status_code == 302:
        assert browser.get(response.location).status_code == 200
    return response


def empty_directory(database) -> None:
    with database.transaction() as session:
        for model in (ServiceAtLocation, Service, Location, Organisation):
            session.execute(delete(model))


def add_sparse_organisation(database) -> None:
    """An inactive organisation with no phone or description, a place without a street, a service without a place."""
    with database.transaction() as session:
        org = Organisation(id=new_id(), name="Zz tổ chức tạm ngừng", kind="ngo", active=False,
                           website="tanhung.example.vn")
        session.add(org)
        session.flush()
        session.add(Location(id=new_id(), organisation_id=org.id, name="Điểm hẹn", address_locality="Tân Hưng"))
        session.add(Service(id=new_id(), organisation_id=org.id, name="Sinh kế", need_domain="livelihood",
                            status="inactive", accept_within_days=7, complete_within_days=90))


def refuse_additional_properties(node):
    """The schema with ``additionalProperties: false`` on every object that lists properties,
    as HSDS's own example tests compile it (compiletojsonschema --set-additional-properties-false-everywhere)."""
    if isinstance(node, dict):
        out = {key: refuse_additional_properties(value) for key, value in node.items()}
        if "properties" in node:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [refuse_additional_properties(value) for value in node]
    return node


def nulls(node, path="") -> list[str]:
    if node is None:
        return [path]
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in nulls(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in nulls(value, f"{path}[{i}]")]
    return []


def not_kept_fields(html: str, parent: str) -> str:
    """The report's line for one object path, e.g. ``organization.services[]``: its fields and counts."""
    line = re.search(rf"<li><code>{re.escape(parent)}</code>: (.*?)</li>", html)
    assert line, f"the report names nothing under {parent}"
    return line.group(1)


def foreign_organisation() -> dict:
    """An HSDS 3.0 organisation as another directory would publish it: no casework attributes,
    fields casework has no column for, two phones, a place named only inside a service's location link."""
    org_id, place_id, service_id = (str(uuid.uuid4()) for _ in range(3))
    return {
        "id": org_id, "name": "Hội Chữ thập đỏ (minh hoạ)", "description": "Tổ chức nhân đạo.",
        "year_incorporated": 1946, "funding": [{"id": str(uuid.uuid4()), "source": "Ngân sách"}],
        "phones": [{"id": str(uuid.uuid4()), "number": "0225 000 0701", "extension": 12},
                   {"id": str(uuid.uuid4()), "number": "0225 000 0702"}],
        "attributes": [{"id": str(uuid.uuid4()), "value": "x",
                        "taxonomy_term": {"id": str(uuid.uuid4()), "code": "red", "name": "Red",
                                          "description": "A term of another taxonomy", "taxonomy": "other"}}],
        "services": [{
            "id": service_id, "name": "Phát quà hỗ trợ", "status": "active",
            "cost_options": [{"id": str(uuid.uuid4()), "amount": 0}],
            "schedules": [{"id": str(uuid.uuid4()), "description": "Thứ Bảy", "opens_at": "08:00"}],
            "service_at_locations": [{"id": str(uuid.uuid4()), "location": {
                "id": place_id, "location_type": "physical", "name": "Kho hàng", "latitude": 20.8,
                "addresses": [{"id": str(uuid.uuid4()), "address_1": "Số 3 đường Minh Hoạ", "city": "Tân Hưng",
                               "state_province": "Hải Phòng", "postal_code": "180000", "country": "VN",
                               "address_type": "physical"}]}}],
        }],
    }


# --- export ---------------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_directory_gives_the_same_document(admin, demo_directory, database):
    # Given the demo directory plus a sparse organisation, exported as HSDS
    add_sparse_organisation(database)
    exported = export_of(admin)
    assert exported["version"] == "3.0" and len(exported["organizations"]) == 7
    # When the directory is emptied and the file imported
    empty_directory(database)
    assert export_of(admin)["organizations"] == []
    response = import_file(admin, exported)
    # Then the import succeeds, its report says everything was kept, and a new export is identical
    assert response.status_code == 302
    assert "Báo cáo nhập dữ liệu" in admin.last_html
    assert "Toàn bộ nội dung của tệp đã được lưu giữ." in admin.last_html
    assert "Không được lưu giữ" not in admin.last_html
    assert export_of(admin) == exported


def test_the_export_holds_no_null_and_nothing_casework_own_schema_does_not_describe(admin, demo_directory,
                                                                                     database):
    # Given the demo directory with an organisation that has no description, phone or street
    add_sparse_organisation(database)
    # When it is exported
    exported = export_of(admin)
    # Then no field is null (HSDS strings may not be), and the file is valid for casework's own
    # schema even when every object refuses properties the schema does not name
    assert nulls(exported) == []
    schema = json.loads(resources.files("casework.directory").joinpath("hsds_schema.json").read_text("utf-8"))
    strict = Draft202012Validator(refuse_additional_properties(schema), format_checker=FormatChecker())
    assert [f"{list(e.absolute_path)}: {e.message}" for e in strict.iter_errors(exported)] == []
    # And fields HSDS requires are there even when casework has no value for them
    sparse = next(o for o in exported["organizations"] if o["name"].startswith("Zz"))
    assert sparse["description"] == "" and "alternate_name" not in sparse and sparse["phones"] == []
    assert sparse["website"] == "https://tanhung.example.vn"
    address = sparse["locations"][0]["addresses"][0]
    assert (address["address_1"], address["city"], address["postal_code"], address["country"]) == (
        "", "Tân Hưng", "", "VN")


def test_casework_facts_travel_as_attributes_of_the_casework_taxonomy(admin, demo_directory):
    # Given the demo directory, When it is exported
    service = next(s for o in export_of(admin)["organizations"] for s in o["services"]
                   if s["name"] == "Tư vấn và trợ giúp pháp lý miễn phí")
    # Then each casework fact is an attribute with a value, linked to a described term of the
    # taxonomy "casework" (HSDS 3.0 attributes have no label; terms no vocabulary)
    facts = {a["taxonomy_term"]["code"]: a["value"] for a in service["attributes"]}
    assert set(facts) == {"need_domain", "free_of_charge", "no_id_needed", "confidential", "accept_within_days",
                          "complete_within_days"}
    assert facts == {"need_domain": "legal_aid", "free_of_charge": "true", "no_id_needed": "true",
                     "confidential": "true", "accept_within_days": "3", "complete_within_days": "30"}
    for attribute in service["attributes"]:
        term = attribute["taxonomy_term"]
        assert attribute["link_id"] == service["id"] and attribute["link_entity"] == "service"
        assert attribute["taxonomy_term_id"] == term["id"] and "label" not in attribute
        assert term["taxonomy"] == "casework" and term["description"] and "vocabulary" not in term
        assert term["taxonomy_detail"]["id"] == term["taxonomy_id"]


def test_ids_casework_does_not_store_are_derived_so_two_exports_agree(admin, demo_directory):
    # Given two exports of the same directory
    first, second = export_of(admin), export_of(admin)
    # Then they are byte-for-byte the same, and phones, addresses and attributes have UUID ids
    assert first == second
    org = first["organizations"][0]
    for item in (org["phones"][0], org["locations"][0]["addresses"][0], org["attributes"][0]):
        assert uuid.UUID(item["id"]).version == 5


# --- refused files ----------------------------------------------------------------------------------


def broken(exported: dict) -> dict:
    document = json.loads(json.dumps(exported))
    del document["organizations"][0]["services"][1]["name"]
    return document


def test_an_invalid_file_is_refused_with_a_message_and_imports_nothing(admin, demo_directory, database):
    # Given an export in which the second service of the first organisation lost its name
    exported = export_of(admin)
    empty_directory(database)
    # When the admin imports it
    response = import_file(admin, broken(exported))
    # Then it is refused, saying which item and which field, in Vietnamese, with the form back
    assert response.status_code == 400
    assert "Tệp chưa được nhập" in admin.last_html
    assert "dịch vụ số 2" in admin.last_html and "“name”" in admin.last_html
    assert 'type="file"' in admin.last_html
    # And nothing at all was imported (not even the valid organisations)
    assert export_of(admin)["organizations"] == []


def _need(document: dict) -> dict:
    service = document["organizations"][0]["services"][0]
    return next(a for a in service["attributes"] if a["taxonomy_term"]["code"] == "need_domain")


@pytest.mark.parametrize("mutation, message", [
    (lambda d: _need(d).update(value="sex_work"), "need_domain"),
    (lambda d: d["organizations"][0].update(id="not-a-uuid"), "“id”"),
    (lambda d: d["organizations"][0].update(description=None), "“description”"),
    (lambda d: d["organizations"][1].update(id=d["organizations"][0]["id"]), "nhiều lần"),
    (lambda d: d["organizations"][0]["services"][0]["service_at_locations"][0].update(
        location_id="00000000-0000-4000-8000-000000000000"), "không thuộc cùng tổ chức"),
    (lambda d: d["organizations"][0]["services"][0]["service_at_locations"][0].update(
        location_id=d["organizations"][1]["locations"][0]["id"]), "không thuộc cùng tổ chức"),
    (lambda d: d["organizations"][0]["services"][0]["attributes"].append(
        {**_need(d), "id": str(uuid.uuid4()), "value": "legal_aid"}), "need_domain"),
    (lambda d: d["organizations"][0]["locations"][0]["addresses"][0].update(country="Việt Nam"), "“country”"),
    (lambda d: next(a for a in d["organizations"][0]["services"][0]["attributes"]
                    if a["taxonomy_term"]["code"] == "accept_within_days").update(value="²"), "accept_within_days"),
])
def test_each_kind_of_mistake_is_named(admin, demo_directory, database, mutation, message):
    # Given an export with one mistake
    document = export_of(admin)
    mutation(document)
    empty_directory(database)
    # When it is imported, Then it is refused naming the problem and nothing is imported
    response = import_file(admin, document)
    assert response.status_code == 400 and message in admin.last_html
    assert export_of(admin)["organizations"] == []


def test_a_file_that_is_not_json_is_refused(admin):
    response = import_file(admin, b"\xff\xfe not json")
    assert response.status_code == 400 and "không phải là tệp JSON" in admin.last_html


def test_json_that_is_not_an_hsds_organisation_or_service_is_refused(admin, database):
    # Given an HSDS taxonomy term (not an organisation) and a JSON number
    term = {"id": str(uuid.uuid4()), "code": "x", "name": "X", "description": "A term", "taxonomy": "t"}
    for document in (term, {"contents": [term]}, 42):
        # When each is imported, Then it is refused saying what casework can import
        response = import_file(admin, document)
        assert response.status_code == 400
        assert "không phải là tổ chức hay dịch vụ theo chuẩn Open Referral HSDS 3.0" in admin.last_html
    assert export_of(admin)["organizations"] == []


# --- files from other HSDS systems --------------------------------------------------------------------


def test_a_foreign_organisation_is_imported_and_the_report_names_what_was_not_kept(admin, database):
    # Given an organisation from another HSDS system, with no casework facts
    document = foreign_organisation()
    service_id = document["services"][0]["id"]
    # When the admin imports it choosing a need for services the file gives none for
    response = import_file(admin, document, need_domain="social_assistance")
    # Then it is imported: the service inactive with the chosen need, the organisation of kind "other",
    # the place named only in the service's location link added to the organisation
    assert response.status_code == 302
    with database.transaction() as session:
        service = session.get(Service, service_id)
        assert (service.need_domain, service.status, service.opening_hours) == ("social_assistance", "inactive",
                                                                                "Thứ Bảy")
        assert service.organisation.kind == "other" and service.organisation.phone == "0225 000 0701"
        assert [(loc.name, loc.address_1) for loc in service.locations] == [("Kho hàng", "Số 3 đường Minh Hoạ")]
    # And the report shown to the admin names each field casework did not keep, with counts
    html = admin.last_html
    for parent, fields in [("organization", ["attributes", "funding", "year_incorporated"]),
                           ("organization.phones[]", ["extension", "id"]),
                           ("organization.services[]", ["cost_options"]),
                           ("organization.services[].schedules[]", ["id", "opens_at"]),
                           ("organization.services[].service_at_locations[].location", ["latitude"]),
                           ("organization.services[].service_at_locations[].location.addresses[]",
                            ["id", "postal_code"])]:
        line = not_kept_fields(html, parent)
        for name in fields:
            assert f"<code>{name}</code> (1)" in line, (parent, name)
    assert "<code>organization.phones[]</code>: thêm 1 mục" in html
    # And it lists the service and the organisation to check, with links to correct them
    assert "Dịch vụ cần kiểm tra" in html and "“Trợ giúp xã hội" in html
    assert f"/directory/services/{service_id}/edit" in html
    assert "Tổ chức cần kiểm tra" in html and f"/directory/organisations/{document['id']}/edit" in html


def test_the_report_is_in_english_for_an_english_reader(admin):
    # Given an admin reading in English
    admin.post("/language", {"locale": "en", "next": "/directory/import"}, page="/directory/import")
    # When they import a foreign organisation
    response = import_file(admin, foreign_organisation(), need_domain="legal_aid")
    # Then the report speaks English
    assert response.status_code == 302
    assert "Import report" in admin.last_html and "Not kept" in admin.last_html
    assert "Services to check" in admin.last_html


def test_a_foreign_service_with_no_need_is_refused_until_the_admin_chooses_one(admin, database):
    # Given an organisation from another system whose service says no casework need
    document = foreign_organisation()
    # When the admin imports it without choosing a need
    response = import_file(admin, document)
    # Then it is refused naming the service, and nothing is written
    assert response.status_code == 400
    assert "dịch vụ số 1 “Phát quà hỗ trợ”" in admin.last_html and "Hãy chọn một nhu cầu" in admin.last_html
    assert export_of(admin)["organizations"] == []


def test_a_foreign_update_keeps_what_casework_knows_and_the_file_does_not_say(admin, database):
    # Given a service imported and then checked by the admin (need, deadlines, active)
    document = foreign_organisation()
    service_id = document["services"][0]["id"]
    import_file(admin, document, need_domain="legal_aid")
    with database.transaction() as session:
        service = session.get(Service, service_id)
        service.need_domain, service.status, service.accept_within_days = "gbv", "active", 1
        service.organisation.kind = "ngo"
    # When a new version of the same file is imported (renamed service, temporarily closed)
    document["services"][0].update(name="Phát quà Tết", status="temporarily closed")
    response = import_file(admin, document)
    # Then the file's HSDS fields win, casework's checked facts stay, and nothing is "to check"
    assert response.status_code == 302
    with database.transaction() as session:
        service = session.get(Service, service_id)
        assert (service.name, service.status, service.need_domain, service.accept_within_days) == (
            "Phát quà Tết", "inactive", "gbv", 1)
        assert service.organisation.kind == "ngo"
    assert "Dịch vụ cần kiểm tra" not in admin.last_html and "Tổ chức cần kiểm tra" not in admin.last_html
    assert "<code>status</code> (1)" in not_kept_fields(admin.last_html, "organization.services[]")


def test_a_service_given_with_its_organisation_nested_is_imported(admin, database):
    # Given HSDS services as an API lists them: a page whose items carry their organisation
    org = foreign_organisation()
    first = org.pop("services")[0]
    second = {"id": str(uuid.uuid4()), "name": "Tư vấn", "status": "active"}
    page = {"total_items": 2, "page_number": 1, "contents": [{**first, "organization": org},
                                                             {**second, "organization": org}]}
    # When it is imported
    response = import_file(admin, page, need_domain="mental_health")
    # Then one organisation with both services is there
    assert response.status_code == 302
    exported = export_of(admin)["organizations"]
    assert [(o["name"], sorted(s["name"] for s in o["services"])) for o in exported] == [
        ("Hội Chữ thập đỏ (minh hoạ)", ["Phát quà hỗ trợ", "Tư vấn"])]


def test_a_list_of_services_at_location_keeps_every_place_of_a_service(admin, database):
    # Given an HSDS page of services at location: one service at two places, the second place
    # known only from its entry in the list
    org = foreign_organisation()
    service = org.pop("services")[0]
    place = service.pop("service_at_locations")[0]["location"]
    second = {**place, "id": str(uuid.uuid4()), "name": "Điểm phát thứ hai", "addresses": []}
    org["locations"] = [place]
    page = {"contents": [{"id": str(uuid.uuid4()), "location": loc, "service": {**service, "organization": org}}
                         for loc in (place, second)]}
    # When it is imported
    response = import_file(admin, page, need_domain="livelihood")
    # Then the service is offered at both places of its organisation
    assert response.status_code == 302
    with database.transaction() as session:
        offered = session.get(Service, service["id"])
        assert sorted(loc.name for loc in offered.locations) == ["Kho hàng", "Điểm phát thứ hai"]
        assert {loc.organisation_id for loc in offered.locations} == {org["id"]}


def test_the_audit_entry_names_fields_not_kept_but_no_directory_text(admin, database):
    # Given a foreign organisation imported
    document = foreign_organisation()
    import_file(admin, document, need_domain="legal_aid")
    # When the audit log is read
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "directory.imported")).one()
        details = json.loads(event.details)
    # Then it holds counts, field paths and ids, never a name or a value from the file
    assert details["organizations"] == 1 and "organization.funding" in details["not_kept"]
    assert details["services_to_check"] == [document["services"][0]["id"]]
    assert "Chữ thập" not in event.details and "Ngân sách" not in event.details


def test_another_admin_cannot_read_an_import_report(admin, make_user, new_browser, database):
    # Given an import by one admin
    import_file(admin, foreign_organisation(), need_domain="legal_aid")
    with database.transaction() as session:
        event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "directory.imported"))
    assert "Báo cáo nhập dữ liệu" in admin.get(f"/directory/import?report={event_id}").get_data(as_text=True)
    other = new_browser()
    other.login(make_user("admin"))
    # When another admin opens that report's address (or a made-up one)
    for url in (f"/directory/import?report={event_id}", "/directory/import?report=1",
                "/directory/import?report=99999999999999999999", "/directory/import?report=x",
                "/directory/import?report=%C2%B2"):
        response = other.get(url)
        # Then they get the empty import form, no report
        assert response.status_code == 200 and "Báo cáo nhập dữ liệu" not in other.last_html
        assert "Kho hàng" not in other.last_html


@pytest.mark.parametrize("raw, message", [
    (b'{"id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "x", "description": "", "funding": '
     + b"[" * 500 + b"]" * 500 + b"}", "không phải là tổ chức hay dịch vụ"),
    (b"[" * 100_000 + b"]" * 100_000, "không phải là tệp JSON"),
    (json.dumps({"id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "Tổ chức\u0000", "description": ""}).encode(),
     "ký tự NUL"),
])
def test_hostile_files_get_a_message_and_the_form_not_an_error_page(admin, raw, message):
    # Given a file built to break a parser or the database (deep nesting, a NUL character)
    # When the admin imports it
    response = import_file(admin, raw)
    # Then it is refused with a readable message and the form, and nothing is imported
    assert response.status_code == 400 and message in admin.last_html and 'type="file"' in admin.last_html
    assert export_of(admin)["organizations"] == []


def test_an_import_cannot_move_a_service_or_place_to_another_organisation(admin, database):
    # Given an organisation with a service and a place, imported earlier
    first = foreign_organisation()
    service_id = first["services"][0]["id"]
    place_id = first["services"][0]["service_at_locations"][0]["location"]["id"]
    assert import_file(admin, first, need_domain="legal_aid").status_code == 302
    # When a file gives another organisation that service and that place, by their ids
    second = foreign_organisation()
    second["services"][0]["id"] = service_id
    second["services"][0]["service_at_locations"][0]["location"]["id"] = place_id
    response = import_file(admin, second, need_domain="legal_aid")
    # Then it is refused with a message naming the problem, the form comes back, and nothing moved
    assert response.status_code == 400 and 'type="file"' in admin.last_html
    assert admin.last_html.count("thuộc một tổ chức khác") == 2
    with database.transaction() as session:
        assert session.get(Service, service_id).organisation_id == first["id"]
        assert session.get(Location, place_id).organisation_id == first["id"]
        assert session.get(Organisation, second["id"]) is None


def test_a_field_hsds_does_not_define_is_refused_with_its_place(admin, database):
    # Given an otherwise valid file with a misspelt field deep inside, and one at the top of a service
    document = foreign_organisation()
    document["services"][0]["cost_options"][0]["amout"] = 0
    document["services"][0]["opening_note"] = "x"
    # When it is imported
    response = import_file(admin, document, need_domain="legal_aid")
    # Then it is refused, each field named with where it is, and nothing is imported
    assert response.status_code == 400 and 'type="file"' in admin.last_html
    assert "“cost_options[1].amout” không phải là một trường của Open Referral HSDS 3.0" in admin.last_html
    assert "“opening_note” không phải là một trường" in admin.last_html
    with database.transaction() as session:
        assert session.get(Organisation, document["id"]) is None
