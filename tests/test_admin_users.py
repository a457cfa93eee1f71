"""Account administration: create with a one-time password, change access, deactivate,
reset password and second factor — each audited, each ending sessions where §7 says."""

from __future__ import annotations

import json
import re

import pytest
from conftest import user_row
from sqlalchemy import select

from casework.audit import AuditEvent
from casework.auth import totp

ONE_TIME = re.compile(r'<code class="secret">([a-z0-9-]+)</code>')


def audit_actions(database, object_id: str) -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == object_id).order_by(AuditEvent.id)))


def user_id_by_name(database, username: str) -> str:
    from casework.auth.models import User

    with database.transaction() as session:
        return session.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def admin(signed_in):
    browser, _account = signed_in("admin")
    return browser


def test_an_admin_creates_a_provider_who_signs_in_with_the_one_time_password(admin, new_browser,
                                                                             make_organisation, database,
                                                                             clock):
    # Given an organisation
    organisation = make_organisation("Trung tâm trợ giúp pháp lý")
    # When the admin creates a provider account for it
    response = admin.post("/admin/users/new", {
        "username": "Lan.Tran", "display_name": "Trần Thị Lan", "work_phone": "0225 333 4444",
        "role": "provider", "organisation_id": organisation, "locale": "vi"}, page="/admin/users/new")
    # Then the one-time password is shown once, on this page
    assert response.status_code == 200
    password = ONE_TIME.search(admin.last_html).group(1)
    assert len(password) >= 12
    user_id = user_id_by_name(database, "lan.tran")
    assert password not in admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    # And the person signs in with it and must choose their own password first
    person = new_browser()
    response = person.post("/login", {"username": "lan.tran", "password": password}, page="/login")
    assert response.headers["Location"].endswith("/account/password")
    row = user_row(database, user_id)
    assert row.role == "provider" and row.organisation_id == organisation and row.must_change_password
    assert "admin.user_created" in audit_actions(database, user_id)


def test_a_provider_account_needs_an_organisation(admin, database):
    # When the admin forgets the organisation of a provider
    response = admin.post("/admin/users/new", {"username": "no.org", "display_name": "No Org",
                                               "role": "provider", "organisation_id": "", "locale": "vi"},
                          page="/admin/users/new")
    # Then the form comes back with a message and no account is made
    assert response.status_code == 200 and 'class="error"' in admin.last_html
    assert user_id_by_name(database, "no.org") is None


def test_usernames_are_unique(admin, make_user, database):
    make_user("collaborator", username="hoa")
    admin.post("/admin/users/new", {"username": "HOA", "display_name": "Another Hoa",
                                    "role": "collaborator", "organisation_id": "", "locale": "vi"},
               page="/admin/users/new")
    assert 'class="error"' in admin.last_html


def test_changing_the_role_is_audited_and_takes_the_organisation_away(admin, make_user, make_organisation,
                                                                      database):
    # Given a provider
    organisation = make_organisation()
    person = make_user("provider", organisation_id=organisation)
    page = f"/admin/users/{person.user_id}"
    # When the admin makes them a supervisor
    response = admin.post(f"{page}/access", {"role": "supervisor", "organisation_id": organisation}, page=page)
    # Then the role changed, the organisation is gone, and the change is in the audit log
    assert response.status_code == 302
    row = user_row(database, person.user_id)
    assert row.role == "supervisor" and row.organisation_id is None
    actions = audit_actions(database, person.user_id)
    assert "admin.user_access_changed" in actions and "auth.sessions_revoked" in actions


def test_a_deactivated_account_cannot_sign_in_until_reactivated(admin, make_user, new_browser, database):
    # Given a collaborator the admin deactivates
    person = make_user("collaborator")
    page = f"/admin/users/{person.user_id}"
    admin.post(f"{page}/deactivate", page=page)
    assert not user_row(database, person.user_id).active
    # When they try to sign in, Then they get the generic failure
    attempt = new_browser()
    response = attempt.post("/login", {"username": person.username, "password": person.password}, page="/login")
    assert response.status_code == 200
    # When the admin reactivates them, Then they sign in again
    admin.post(f"{page}/reactivate", page=page)
    assert new_browser().login(person).status_code == 302
    actions = audit_actions(database, person.user_id)
    assert "admin.user_deactivated" in actions and "admin.user_reactivated" in actions


def test_a_password_reset_gives_a_new_one_time_password(admin, make_user, new_browser, database):
    # Given a collaborator who forgot their password
    person = make_user("collaborator")
    page = f"/admin/users/{person.user_id}"
    # When the admin resets it
    response = admin.post(f"{page}/password", page=page)
    # Then a new one-time password is shown, the old one fails, and the new one must be changed
    assert response.status_code == 200
    password = ONE_TIME.search(admin.last_html).group(1)
    old = new_browser()
    assert old.post("/login", {"username": person.username, "password": person.password},
                    page="/login").status_code == 200
    fresh = new_browser()
    fresh.clock.advance(seconds=31)
    fresh.post("/login", {"username": person.username, "password": password}, page="/login")
    response = fresh.post("/login/code", {"code": totp.code_at(person.totp_secret, fresh.clock.now)},
                          page="/login/code")
    assert response.headers["Location"].endswith("/account/password")
    # And the audit names the admin as actor and holds no password
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.password_reset")).one()
        assert event.actor_role == "admin" and event.object_id == person.user_id
        assert password not in event.details


def test_a_second_factor_reset_makes_the_person_enrol_again(admin, make_user, new_browser, database):
    # Given a collaborator who lost their phone and their recovery codes
    person = make_user("collaborator")
    page = f"/admin/users/{person.user_id}"
    # When the admin resets the second factor
    admin.post(f"{page}/second-factor", page=page)
    # Then at the next sign-in the password alone leads only to enrolment
    browser = new_browser()
    response = browser.post("/login", {"username": person.username, "password": person.password}, page="/login")
    assert response.headers["Location"].endswith("/account/second-factor")
    assert browser.get("/account").headers["Location"].endswith("/account/second-factor")
    assert "auth.second_factor_reset" in audit_actions(database, person.user_id)


def test_an_admin_cannot_lock_themselves_out(signed_in, database):
    # Given the only administrator
    browser, me = signed_in("admin")
    page = f"/admin/users/{me.user_id}"
    # When they try to deactivate themselves or give up the admin role
    browser.post(f"{page}/deactivate", page=page)
    browser.post(f"{page}/access", {"role": "collaborator", "organisation_id": ""}, page=page)
    # Then nothing changed and they are still signed in
    row = user_row(database, me.user_id)
    assert row.active and row.role == "admin"
    assert browser.get("/admin/users").status_code == 200


def test_details_can_change_without_ending_sessions(admin, make_user, new_browser, database):
    # Given a signed-in collaborator
    person = make_user("collaborator")
    device = new_browser()
    device.login(person)
    page = f"/admin/users/{person.user_id}"
    # When the admin corrects the display name and phone
    response = admin.post(f"{page}/details", {"display_name": "Nguyễn Văn Bình", "work_phone": "0912 000 111",
                                              "locale": "en"}, page=page)
    # Then the details are saved and the person stays signed in
    assert response.status_code == 302
    assert user_row(database, person.user_id).display_name == "Nguyễn Văn Bình"
    assert device.get("/account").status_code == 200
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "admin.user_updated")).one()
        assert "Bình" not in event.details and json.loads(event.details)["fields"]


def test_the_user_list_shows_staff_and_nothing_else(admin, make_user):
    make_user("collaborator", username="thu")
    admin.get("/admin/users")
    assert "thu" in admin.last_html
    assert "password" not in admin.last_html.lower().replace("must set a password", "")


def test_unknown_user_gets_404(admin):
    assert admin.get("/admin/users/00000000-0000-0000-0000-000000000000").status_code == 404
