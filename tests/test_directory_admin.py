"""Managing the service directory (admin) and browsing it (collaborators)."""

from __future__ import annotations

from sqlalchemy import select

from casework.audit import AuditEvent
from casework.directory.demo import load_directory
from casework.directory.models import Organisation, Service


def test_admin_builds_an_organisation_with_a_place_and_a_service(make_user, new_browser, database):
    # Given an administrator
    browser = new_browser()
    browser.login(make_user("admin"))
    # When they add an organisation, a place and a service through the forms
    browser.get("/directory/organisations/new")
    response = browser.post("/directory/organisations/new", {"name": "Trung tâm Trợ giúp pháp lý",
                                                             "kind": "legal_aid", "phone": "0225 000 0501",
                                                             "active": "y"})
    assert response.status_code == 302
    with database.transaction() as session:
        org_id = session.scalar(select(Organisation.id))
    browser.get(f"/directory/organisations/{org_id}/locations/new")
    browser.post(f"/directory/organisations/{org_id}/locations/new",
                 {"name": "Trụ sở", "address_1": "Số 8 đường Minh Hoạ", "address_locality": "Tân Hưng"})
    with database.transaction() as session:
        location_id = session.scalar(select(Organisation).where(Organisation.id == org_id)).locations[0].id
    browser.get(f"/directory/organisations/{org_id}/services/new")
    response = browser.post(f"/directory/organisations/{org_id}/services/new", {
        "name": "Tư vấn pháp lý miễn phí", "need_domain": "legal_aid", "opening_hours": "Thứ Hai – Thứ Sáu",
        "location_id": location_id, "is_free": "y", "confidential": "y", "accept_within_days": "5",
        "complete_within_days": "20", "status": "active"})
    # Then the service is stored with its attributes, place and deadlines, and each change is audited
    assert response.status_code == 302
    with database.transaction() as session:
        service = session.scalar(select(Service))
        assert (service.need_domain, service.is_free, service.no_id_needed, service.confidential) == (
            "legal_aid", True, False, True)
        assert (service.accept_within_days, service.complete_within_days) == (5, 20)
        assert [loc.id for loc in service.locations] == [location_id]
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("directory.%"))))
        assert {"directory.organisation_created", "directory.location_created",
                "directory.service_created"} <= actions


def test_bad_input_returns_the_form_with_a_message(make_user, new_browser):
    browser = new_browser()
    browser.login(make_user("admin"))
    browser.get("/directory/organisations/new")
    response = browser.post("/directory/organisations/new", {"name": "", "kind": "legal_aid"})
    assert response.status_code == 200 and 'class="error"' in browser.last_html


def test_collaborator_browses_read_only(make_user, new_browser, database):
    # Given the demo directory and a collaborator
    with database.transaction() as session:
        load_directory(session)
    browser = new_browser()
    browser.login(make_user("collaborator"))
    # When they look for legal aid
    response = browser.get("/directory/?need=legal_aid")
    # Then they see the service but no editing
    assert response.status_code == 200
    assert "Tư vấn và trợ giúp pháp lý miễn phí" in browser.last_html
    assert "Khóa học nghề ngắn hạn" not in browser.last_html
    assert "/edit" not in browser.last_html
    assert browser.get("/directory/organisations/new").status_code == 403
    assert browser.get("/directory/export.json").status_code == 403


def test_demo_directory_includes_the_health_station(database):
    with database.transaction() as session:
        ids = load_directory(session)
        assert session.get(Organisation, ids["health_station"]).name.startswith("Trạm Y tế")
        assert set(ids) >= {"health_station", "social_assistance", "vocational_training", "employment_service",
                            "legal_aid", "peer_group"}
