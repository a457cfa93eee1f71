"""Each need of a client's latest assessment with a state, from the referrals made for it since.

The assessment says what the person needs; the referrals say what became of it. A need is:

- ``open``: no referral for it since the assessment;
- ``referred``: the newest referral waits to be received or accepted;
- ``in_progress``: the service accepted it and is working on it (or has put it on hold);
- ``met``: a referral for it was completed since the assessment;
- ``not_met``: the referrals ended without it (refused, cancelled, failed): refer again.

Only referrals made on or after the assessment's day count: a need assessed again after an older
referral is a need again. The assessment history itself is never changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import clock, vocab
from casework.clients import queries
from casework.clients.models import Assessment, AssessmentNeed
from casework.referrals.models import Referral

STATES = {
    "open": _l("Not referred yet"),
    "not_met": _l("Not met yet: refer again"),
    "referred": _l("Referred"),
    "in_progress": _l("Being supported"),
    "met": _l("Met"),
}
ACTIVE = {"requested": "referred", "received": "referred", "accepted": "in_progress", "in-progress": "in_progress",
          "on-hold": "in_progress"}
UNSUCCESSFUL = frozenset({"rejected", "cancelled", "failed"})
ORDER = {state: n for n, state in enumerate(STATES)}  # what needs the worker's action first


@dataclass(frozen=True)
class NeedState:
    domain: str
    level: str
    state: str
    referral_status: str | None = None
    referral_id: str | None = None

    @property
    def still_needed(self) -> bool:
        return self.state != "met"

    @property
    def can_refer(self) -> bool:
        return self.state in ("open", "not_met")


def state_of(referrals: list[tuple[str, datetime, str]]) -> tuple[str, str | None, str | None]:
    """(state, referral status, referral id) from a need's referrals: (status, created at, id)."""
    newest_first = sorted(referrals, key=lambda r: (r[1], r[2]), reverse=True)
    for status, _at, referral_id in newest_first:
        if status == "completed":
            return "met", status, referral_id
    if newest_first:
        status, _at, referral_id = newest_first[0]
        if status in ACTIVE:
            return ACTIVE[status], status, referral_id
        if status in UNSUCCESSFUL:
            return "not_met", status, referral_id
    return "open", None, None


def need_states(session: Session, client_ids: list[str]) -> dict[str, list[NeedState]]:
    """For each client: the needs (some or urgent) of its latest assessment with their states, those
    that need the worker first, urgent before some (two queries for the whole page of clients)."""
    if not client_ids:
        return {}
    latest = queries.latest_assessments(client_ids=client_ids)
    needs = session.execute(
        select(latest.c.client_id, Assessment.assessed_on, AssessmentNeed.domain, AssessmentNeed.level)
        .join(Assessment, Assessment.id == latest.c.id)
        .join(AssessmentNeed, AssessmentNeed.assessment_id == latest.c.id)
        .where(AssessmentNeed.level.in_(queries.OPEN_LEVELS))).all()
    referrals: dict[tuple[str, str], list[tuple[str, datetime, str]]] = defaultdict(list)
    for client_id, domain, status, created_at, referral_id in session.execute(
            select(Referral.client_id, Referral.need_domain, Referral.status, Referral.created_at, Referral.id)
            .where(Referral.client_id.in_(client_ids), Referral.status != "entered-in-error")):
        referrals[(client_id, domain)].append((status, created_at, referral_id))
    found: dict[str, list[NeedState]] = defaultdict(list)
    for client_id, assessed_on, domain, level in needs:
        since = [r for r in referrals[(client_id, domain)] if _counts(r[1], assessed_on)]
        found[client_id].append(NeedState(domain, level, *state_of(since)))
    domains = list(vocab.NEED_DOMAINS)
    for items in found.values():
        items.sort(key=lambda n: (ORDER[n.state] >= ORDER["referred"], n.level != "urgent", ORDER[n.state],
                                  domains.index(n.domain) if n.domain in domains else 99))
    return dict(found)


def _counts(created_at: datetime, assessed_on: date) -> bool:
    return clock.local_day(created_at) >= assessed_on
