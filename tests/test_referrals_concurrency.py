"""Two people change the same referral at the same moment: exactly one change is kept (docs/DESIGN.md §4)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from test_referrals_support import make_client, make_referral, make_service, referral_state

from casework.referrals.models import Referral, ReferralEvent


def test_two_simultaneous_accepts_keep_exactly_one(make_organisation, make_user, new_browser, database):
    # Given a received referral and two staff of the receiving organisation, each on its own device
    station = make_organisation()
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    client_id, _ = make_client(database, collaborator.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                                status="received")
    browsers = []
    for _ in range(2):
        browser = new_browser()
        browser.login(make_user("provider", organisation_id=station))
        browser.get(f"/inbox/{referral_id}")  # both see version 1, status received
        browsers.append(browser)
    seen = referral_state(database, referral_id)[1]

    # When both press "Accept" at once (threads, each with its own test client and database session)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(browser) -> None:
        start.wait()
        response = browser.post(f"/referrals/{referral_id}/status", {"to": "accepted", "version": seen})
        page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
        outcomes.append("changed" if "đã thay đổi" in page else "saved" if "Đã lưu" in page else page[:200])

    threads = [threading.Thread(target=accept, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one is saved, the other is told the referral changed, and one acceptance is recorded
    assert sorted(outcomes) == ["changed", "saved"]
    with database.transaction() as session:
        assert session.get(Referral, referral_id).status == "accepted"
        accepted_events = session.scalar(select(func.count()).select_from(ReferralEvent).where(
            ReferralEvent.referral_id == referral_id, ReferralEvent.to_status == "accepted"))
        assert accepted_events == 1


def test_a_write_based_on_an_old_read_is_refused_by_the_version_check(make_organisation, make_user, database):
    # Given two sessions that both read the same received referral (version 1)
    import pytest

    from casework.referrals import lifecycle

    station = make_organisation()
    place = make_service(database, station)
    collaborator = make_user("collaborator")
    provider = make_user("provider", organisation_id=station)
    client_id, _ = make_client(database, collaborator.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                                status="received")
    first, second = database.session(), database.session()
    try:
        mine = first.get(Referral, referral_id)
        first.commit()  # (SQLite lets one transaction hold the write lock at a time)
        theirs = second.get(Referral, referral_id)
        second.commit()
        kinds = frozenset({"provider"})
        # When the first accepts and commits, and the second then declines from its old read
        lifecycle.apply(first, mine, lifecycle.Change(to="accepted"), actor_id=provider.user_id,
                        actor_role="provider", actor_kinds=kinds)
        first.commit()
        # Then the second write is refused as "changed" by the conditional UPDATE, and nothing of it is kept
        with pytest.raises(lifecycle.TransitionRefused) as refused:
            lifecycle.apply(second, theirs, lifecycle.Change(to="rejected", reason_code="no-capacity"),
                            actor_id=provider.user_id, actor_role="provider", actor_kinds=kinds)
        assert refused.value.code == "changed"
        second.rollback()
    finally:
        first.close()
        second.close()
    assert referral_state(database, referral_id)[0] == "accepted"
