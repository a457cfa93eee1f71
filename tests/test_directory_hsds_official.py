"""casework's HSDS export and import against the official Open Referral HSDS 3.0 schemas and examples.

The specification is not part of this repository (fetched content is never committed here):
point ``CASEWORK_HSDS_SPEC_DIR`` at the root of a checkout of openreferral/specification at
tag v3.0 (commit c457a0e3ecb0cfe43525ea8bcdbfd62542ed6730), for example

    CASEWORK_HSDS_SPEC_DIR=/work/hsds-spec .venv/bin/pytest tests/test_directory_hsds_official.py

Without it these tests are skipped, saying why. Like HSDS's own example tests
(validate_examples_json_schema.sh), every schema is used with additional properties refused
on every object, and formats (uuid, email, uri) are checked.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from test_directory_hsds import (
    add_sparse_organisation,
    admin,  # noqa: F401  (fixture)
    demo_directory,  # noqa: F401  (fixture)
    empty_directory,
    export_of,
    import_file,
    not_kept_fields,
    refuse_additional_properties,
)

SPEC_DIR = os.environ.get("CASEWORK_HSDS_SPEC_DIR", "")
pytestmark = pytest.mark.skipif(
    not SPEC_DIR, reason="CASEWORK_HSDS_SPEC_DIR is not set: no local copy of the official HSDS 3.0 schemas "
                         "(a checkout of openreferral/specification at tag v3.0) to validate against")

# The official examples that hold whole organizations (organizations, and services or services
# at location that carry their organization), with how many services each holds.
ORGANIZATION_EXAMPLES = {"organization_full.json": 1, "organization_list.json": 0, "service_full.json": 1,
                         "service_list.json": 1, "service_at_location_full.json": 1,
                         "service_at_location_list.json": 1}
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")


def spec_file(*parts: str) -> Path:
    path = Path(SPEC_DIR, *parts)
    if not path.is_file():
        pytest.fail(f"CASEWORK_HSDS_SPEC_DIR={SPEC_DIR} has no {'/'.join(parts)}: "
                    "it must be the root of a checkout of openreferral/specification at tag v3.0")
    return path


def formats() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("uri")
    def _uri(value: object) -> bool:  # an absolute URI (RFC 3986): scheme ":" and no spaces
        return not isinstance(value, str) or URI.fullmatch(value) is not None

    return checker


def official(name: str) -> Draft202012Validator:
    """The official schema ``schema/<name>``, its $refs to sibling files resolved, additional properties refused."""
    def retrieve(uri: str) -> Resource:
        contents = json.loads(spec_file("schema", uri.rsplit("/", 1)[-1]).read_text("utf-8"))
        return Resource.from_contents(refuse_additional_properties(contents), default_specification=DRAFT202012)

    schema = refuse_additional_properties(json.loads(spec_file("schema", *name.split("/")).read_text("utf-8")))
    return Draft202012Validator(schema, registry=Registry(retrieve=retrieve), format_checker=formats())


def errors(validator: Draft202012Validator, instance: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(instance)]


def official_example(name: str) -> dict:
    return json.loads(spec_file("examples", name).read_text("utf-8"))


def assert_valid_hsds(exported: dict) -> None:
    """Every organization, and every service, location and taxonomy term in it, is valid official HSDS 3.0."""
    problems = []
    organization, service, location = (official(n) for n in ("compiled/organization.json",
                                                              "compiled/service.json", "location.json"))
    term, taxonomy = official("taxonomy_term.json"), official("taxonomy.json")
    for org in exported["organizations"]:
        problems += errors(organization, org)
        problems += [p for s in org["services"] for p in errors(service, s)]
        problems += [p for loc in org["locations"] for p in errors(location, loc)]
        attributes = org["attributes"] + [a for s in org["services"] for a in s["attributes"]]
        problems += [p for a in attributes for p in errors(term, a["taxonomy_term"])]
        problems += [p for a in attributes for p in errors(taxonomy, a["taxonomy_term"]["taxonomy_detail"])]
    assert problems == []


def test_the_strict_official_schema_refuses_what_the_old_export_wrote():
    # Given the official organization schema with additional properties refused
    validator = official("compiled/organization.json")
    base = {"id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "Tổ chức", "description": ""}
    # When it is given the shapes casework's export used to write (nulls, attribute label,
    # term vocabulary, no term description), Then each is refused: these tests can fail
    term = {"id": "3f7b145d-84af-42d7-8fae-eaca714b02b2", "name": "need_domain", "description": "d"}
    attribute = {"id": "ae58cc39-8b70-4ab1-8aea-786882e5ac8e", "value": "legal_aid", "taxonomy_term": term}
    assert errors(validator, {**base, "alternate_name": None})
    assert errors(validator, {**base, "attributes": [{**attribute, "label": "need_domain"}]})
    assert errors(validator, {**base, "attributes": [{**attribute, "taxonomy_term": {**term, "vocabulary": "x"}}]})
    assert errors(validator, {**base, "attributes": [{**attribute, "taxonomy_term": {"id": term["id"],
                                                                                   "name": "n"}}]})
    assert errors(validator, {**base, "attributes": [attribute]}) == []


def test_the_export_is_valid_official_hsds_3_0_with_additional_properties_refused(admin, demo_directory,  # noqa: F811
                                                                                  database):
    # Given the demo directory and a sparse organisation (no description, phone or street)
    add_sparse_organisation(database)
    # When it is exported
    exported = export_of(admin)
    # Then each organization, with its nested services and locations, is valid for the official
    # compiled schemas, and so is each service, location and taxonomy term on its own
    assert len(exported["organizations"]) == 7
    assert_valid_hsds(exported)


@pytest.mark.parametrize("example, services", ORGANIZATION_EXAMPLES.items())
def test_each_official_example_imports_and_exports_as_valid_hsds(admin, database, example, services):  # noqa: F811
    # Given an official HSDS 3.0 example that holds a whole organization
    document = official_example(example)
    # When the admin imports it, choosing a need for services the file gives none for
    response = import_file(admin, document, need_domain="mental_health")
    # Then it is imported (not refused), and the report names what casework did not keep
    assert response.status_code == 302, admin.last_html[-3000:]
    assert "Không được lưu giữ" in admin.last_html
    assert ("Dịch vụ cần kiểm tra" in admin.last_html) == (services > 0)
    # And the directory's export of it is valid HSDS 3.0 and survives another round trip unchanged
    exported = export_of(admin)
    assert [(o["name"], len(o["services"])) for o in exported["organizations"]] == [
        ("Example Organization Inc.", services)]
    assert_valid_hsds(exported)
    empty_directory(database)
    assert import_file(admin, exported).status_code == 302
    assert "Toàn bộ nội dung của tệp đã được lưu giữ." in admin.last_html
    assert export_of(admin) == exported


def test_the_report_for_organization_full_names_what_casework_cannot_hold(admin, database):  # noqa: F811
    # Given the official example organization_full.json
    document = official_example("organization_full.json")
    # When it is imported
    assert import_file(admin, document, need_domain="mental_health").status_code == 302
    html = admin.last_html
    # Then what casework has no column for is named by its HSDS path, with counts
    expected = {
        "organization": ["contacts", "funding", "organization_identifiers", "programs", "tax_status",
                         "year_incorporated"],
        "organization.phones[]": ["extension", "languages"],
        "organization.locations[]": ["accessibility", "latitude", "schedules", "transportation"],
        "organization.locations[].addresses[]": ["address_2", "address_type", "postal_code", "region"],
        "organization.services[]": ["attributes", "cost_options", "fees_description", "program",
                                    "required_documents", "service_areas"],
        "organization.services[].schedules[]": ["byday", "opens_at"],
        "organization.services[].service_at_locations[]": ["contacts", "description"],
    }
    for parent, fields in expected.items():
        line = not_kept_fields(html, parent)
        for name in fields:
            assert f"<code>{name}</code> (1)" in line, (parent, name)
    # And what it kept is in the directory, the service waiting for the admin's check
    exported = export_of(admin)["organizations"][0]
    service = exported["services"][0]
    assert (exported["name"], exported["website"], exported["phones"][0]["number"]) == (
        "Example Organization Inc.", "http://example.com", '"+44 1234 234567"')
    assert [loc["name"] for loc in exported["locations"]] == ["MyCity Civic Center"]
    assert exported["locations"][0]["addresses"][0]["city"] == "MyCity"
    assert (service["name"], service["status"]) == ("Community Counselling", "inactive")
    assert [link["location_id"] for link in service["service_at_locations"]] == [exported["locations"][0]["id"]]
    assert "Community Counselling" in html and f"/directory/services/{service['id']}/edit" in html
