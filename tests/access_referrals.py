"""Expected access to the referral endpoints (format: see tests/test_permission_matrix.py).

Object URLs point at objects the role does not own: another collaborator's client,
a referral addressed to another organisation. Those answer "notfound", so nobody
learns that they exist. POSTs by anonymous visitors are refused ("forbidden").
"""

from __future__ import annotations

from typing import Any

_ROLES = ("anonymous", "collaborator", "provider", "supervisor", "admin")


def _row(*, anonymous: str = "login", **outcomes: str) -> dict[str, str]:
    row = {"anonymous": anonymous, "collaborator": "forbidden", "provider": "forbidden",
           "supervisor": "forbidden", "admin": "forbidden"}
    row.update(outcomes)
    assert set(row) == set(_ROLES)
    return row


def _foreign(world: Any) -> dict[str, str]:
    """A client of someone else's caseload with a referral to someone else's organisation."""
    if "referrals.foreign" not in world.cache:
        from test_referrals_support import make_client, make_referral, make_service

        owner = world.make_user("collaborator")
        place = make_service(world.database, world.make_organisation("Another organisation", "legal_aid"))
        client_id, _ = make_client(world.database, owner.user_id)
        referral_id = make_referral(world.database, client_id=client_id, place=place, referred_by=owner.user_id)
        world.cache["referrals.foreign"] = {"client_id": client_id, "referral_id": referral_id}
    return world.cache["referrals.foreign"]


def _foreign_client(world: Any, _role: str) -> str:
    return _foreign(world)["client_id"]


def _foreign_referral(world: Any, _role: str) -> str:
    return _foreign(world)["referral_id"]


EXPECTED = {
    "referrals.new": _row(collaborator="notfound"),
    "referrals.slip": _row(collaborator="notfound"),
    "referrals.sent": _row(collaborator="ok"),
    "referrals.detail": _row(collaborator="notfound"),
    "referrals.inbox": _row(provider="ok"),
    "referrals.find": _row(anonymous="forbidden", provider="redirect"),
    "referrals.received": _row(provider="notfound"),
    "referrals.feedback": _row(anonymous="forbidden", provider="notfound"),
    "referrals.transition": _row(anonymous="forbidden", collaborator="notfound", provider="notfound",
                                 admin="notfound"),
    "referrals.correct": _row(admin="ok"),
}

URL_ARGS = {
    "referrals.new": {"client_id": _foreign_client},
    "referrals.slip": {"referral_id": _foreign_referral},
    "referrals.detail": {"referral_id": _foreign_referral},
    "referrals.received": {"referral_id": _foreign_referral},
    # Admin may reach any referral id (entered-in-error), so a random id: "notfound" for everyone allowed.
}
