"""Referrals nobody took up expire after their valid-until date (docs/DESIGN.md §4)."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from test_referrals_support import make_client, make_referral, make_service

from casework.audit import AuditEvent
from casework.cli import cli
from casework.referrals.models import Referral, ReferralEvent


def _given_referrals(make_organisation, make_user, database):
    station = make_organisation()
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    client_id, _ = make_client(database, collaborator.user_id)

    def referral(status, expires_in_days):
        return make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                             status=status, expires_in_days=expires_in_days)

    ids = {
        "requested_past": referral("requested", 3),
        "received_past": referral("received", 3),
        "requested_last_day": referral("requested", 5),
        "accepted_past": referral("accepted", 3),
        "rejected_past": referral("rejected", 3),
    }
    return station, collaborator, ids


def _statuses(database, ids):
    with database.transaction() as session:
        return {name: (session.get(Referral, rid).status, session.get(Referral, rid).reason_code)
                for name, rid in ids.items()}


def test_expire_command_cancels_exactly_the_overdue_requested_and_received(make_organisation, make_user, database,
                                                                           settings, clock):
    # Given referrals in several statuses, two of them past their valid-until date
    _station, _collaborator, ids = _given_referrals(make_organisation, make_user, database)
    clock.advance(days=5)  # valid-until was 3 days on: now past; the 5-day one is on its last day
    # When cron runs `casework referrals expire`
    env = {"CASEWORK_DATABASE_URL": settings.database_url, "CASEWORK_KEYS_DIR": str(settings.keys_dir),
           "CASEWORK_INSTANCE_PATH": str(settings.instance_path), "CASEWORK_MODE": "production"}
    result = CliRunner().invoke(cli, ["referrals", "expire"], env=env, catch_exceptions=False)
    # Then it reports the count, and exactly those two are cancelled with reason "expired"
    assert result.exit_code == 0 and "expired 2 referrals" in result.output
    assert _statuses(database, ids) == {
        "requested_past": ("cancelled", "expired"),
        "received_past": ("cancelled", "expired"),
        "requested_last_day": ("requested", None),
        "accepted_past": ("accepted", None),
        "rejected_past": ("rejected", None),
    }
    # And each expiry is in the history and the audit log, by the system
    with database.transaction() as session:
        events = session.scalars(select(ReferralEvent).where(ReferralEvent.reason_code == "expired")).all()
        assert sorted(e.referral_id for e in events) == sorted([ids["requested_past"], ids["received_past"]])
        assert all(e.actor_id is None and e.to_status == "cancelled" for e in events)
        audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.cancelled")).all()
        assert {a.object_id for a in audits} == {ids["requested_past"], ids["received_past"]}
        assert all(a.actor_role == "system" for a in audits)


def test_lists_expire_lazily_when_shown(make_organisation, make_user, database, new_browser, clock):
    # Given the same referrals and a provider of the organisation
    station, _collaborator, ids = _given_referrals(make_organisation, make_user, database)
    clock.advance(days=5)
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=station))
    # When the provider opens the inbox (no cron has run)
    provider.get("/inbox")
    # Then the overdue ones are already expired
    statuses = _statuses(database, ids)
    assert statuses["requested_past"] == ("cancelled", "expired")
    assert statuses["received_past"] == ("cancelled", "expired")
    assert statuses["requested_last_day"] == ("requested", None)


def test_overdue_referrals_are_flagged_and_counted_in_the_badges(make_organisation, make_user, database,
                                                                 new_browser, clock):
    # Given a referral not accepted within the service's 3 days
    station, collaborator, _ids = _given_referrals(make_organisation, make_user, database)
    clock.advance(days=4)
    # When the collaborator and the provider look at their lists
    referrer = new_browser()
    referrer.login(collaborator)
    referrer.get("/referrals/sent?show=overdue")
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=station))
    provider.get("/inbox?tab=overdue")
    # Then both see the overdue badge, and the menu counts them
    assert "Quá hạn tiếp nhận" in referrer.last_html and "Quá hạn tiếp nhận" in provider.last_html
    assert '<span class="badge">' in referrer.last_html and '<span class="badge">' in provider.last_html


def test_caseload_page_lists_referrals_waiting_on_someone(make_organisation, make_user, database, new_browser,
                                                          clock, app):
    # Given a collaborator whose client's referral was not accepted in time
    if "clients.caseload" not in app.view_functions:
        import pytest

        pytest.skip("the clients area is not installed")
    _station, collaborator, ids = _given_referrals(make_organisation, make_user, database)
    clock.advance(days=4)
    with database.transaction() as session:
        code = session.get(Referral, ids["requested_past"]).code
    # When they open their caseload
    browser = new_browser()
    browser.login(collaborator)
    from flask import url_for

    with app.test_request_context():
        caseload = url_for("clients.caseload")
    browser.get(caseload)
    # Then the referral panel names it as not accepted in time
    assert "Chuyển gửi đang chờ xử lý" in browser.last_html
    assert code in browser.last_html and "Quá hạn tiếp nhận" in browser.last_html


def test_an_expired_slip_opened_by_the_provider_is_not_received(make_organisation, make_user, database,
                                                                new_browser, clock):
    # Given a requested referral past its valid-until date that no list has shown yet
    station, _collaborator, ids = _given_referrals(make_organisation, make_user, database)
    clock.advance(days=5)
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=station))
    # When the provider opens it straight from the code on the slip
    provider.get(f"/inbox/{ids['requested_past']}")
    # Then it is expired, not received
    assert _statuses(database, {"r": ids["requested_past"]}) == {"r": ("cancelled", "expired")}
