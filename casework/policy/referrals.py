"""Who may see and change a referral (docs/DESIGN.md §1, §4, §5).

- A collaborator reaches a referral through its client: only when the client
  is in their caseload (``can_access_client``). They are its *referrer*.
- A provider reaches only referrals addressed to their own organisation, and
  only through the minimal dataset (``casework.referrals.services.provider_view``).
- An admin never opens a referral; they may only mark one entered-in-error.
- A supervisor never reaches a referral.

Views answer 404 when these rules say no, as for client records, so nobody
learns that a referral id exists outside what they may see.
"""

from __future__ import annotations

from typing import Any

from casework.clients.models import Client
from casework.policy.clients import can_access_client
from casework.referrals.models import Referral


def _active(user: Any, role: str) -> bool:
    return (getattr(user, "is_authenticated", False) and getattr(user, "active", False)
            and getattr(user, "role", None) == role)


def can_refer(user: Any, client: Client) -> bool:
    """A collaborator may make referrals for the clients in their caseload."""
    return can_access_client(user, client)


def is_referrer(user: Any, client: Client) -> bool:
    return can_access_client(user, client)


def is_receiving_provider(user: Any, referral: Referral) -> bool:
    """Provider staff of the organisation the referral is addressed to."""
    return (_active(user, "provider") and user.organisation_id is not None
            and user.organisation_id == referral.organisation_id)


def actor_kinds(user: Any, referral: Referral, client: Client, *, organisation_staffed: bool) -> frozenset[str]:
    """The lifecycle actor kinds ``user`` holds for this referral (empty: no access at all).

    ``organisation_staffed`` says whether the receiving organisation has any active
    provider account; without one the referrer records the outcome the client reports.
    """
    if is_receiving_provider(user, referral):
        return frozenset({"provider"})
    if is_referrer(user, client):
        return frozenset({"referrer"} if organisation_staffed else {"referrer", "referrer_unstaffed"})
    if _active(user, "admin"):
        return frozenset({"admin"})
    return frozenset()
