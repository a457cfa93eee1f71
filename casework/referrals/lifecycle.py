"""The referral state machine (docs/DESIGN.md §4), enforced here and nowhere else.

``TABLE`` maps (from status, to status) to the kinds of actor allowed to make
the change and what the change needs (a reason from a code list, or an
outcome). Actor kinds are decided by ``casework.policy.referrals``:

- ``provider``: staff of the receiving organisation;
- ``referrer``: a collaborator with the client in their caseload;
- ``referrer_unstaffed``: the same, when the receiving organisation has no
  provider accounts, so the collaborator records the outcome the client reports;
- ``admin``: may only mark a referral entered-in-error;
- ``system``: expiry.

Every change writes a ``ReferralEvent`` and an audit entry (codes only) in the
caller's transaction; the caller commits once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework import clock, vocab
from casework.audit import record
from casework.referrals.models import Referral, ReferralEvent

ERROR_REASONS = {
    "wrong-client": _l("Recorded for the wrong client"),
    "wrong-service": _l("Recorded for the wrong service"),
    "duplicate-record": _l("Duplicate record"),
    "test-record": _l("Test or training record"),
    "other": _l("Other"),
}
# A person may not claim "expired": only the expiry job uses it.
HUMAN_CANCEL_REASONS = {k: v for k, v in vocab.CANCEL_REASONS.items() if k != "expired"}
SYSTEM_CANCEL_REASONS = {"expired": vocab.CANCEL_REASONS["expired"]}

PROVIDER = frozenset({"provider"})
REFERRER = frozenset({"referrer"})
OUTCOME_RECORDERS = frozenset({"provider", "referrer_unstaffed"})
OPEN_EARLY = ("requested", "received")
UNDER_WAY = ("accepted", "in-progress", "on-hold")


@dataclass(frozen=True)
class Rule:
    actors: frozenset[str]
    reasons: Mapping[str, object] | None = None  # the code list a reason must come from
    needs_outcome: bool = False  # a business status code (what was delivered)


def _table() -> dict[tuple[str, str], Rule]:
    table: dict[tuple[str, str], Rule] = {("requested", "received"): Rule(PROVIDER)}
    for start in OPEN_EARLY:
        table[(start, "accepted")] = Rule(PROVIDER)
        table[(start, "rejected")] = Rule(PROVIDER, vocab.DECLINE_REASONS)
        table[(start, "cancelled")] = Rule(REFERRER | {"system"}, vocab.CANCEL_REASONS)
    table[("accepted", "in-progress")] = Rule(PROVIDER)
    table[("on-hold", "in-progress")] = Rule(PROVIDER)
    for start in ("accepted", "in-progress"):
        table[(start, "on-hold")] = Rule(PROVIDER, vocab.HOLD_REASONS)
    for start in UNDER_WAY:
        table[(start, "completed")] = Rule(OUTCOME_RECORDERS, needs_outcome=True)
        table[(start, "failed")] = Rule(OUTCOME_RECORDERS, vocab.FAILURE_REASONS)
        table[(start, "cancelled")] = Rule(REFERRER | PROVIDER, vocab.CANCEL_REASONS)
    for start in vocab.REFERRAL_STATUSES:
        if start != "entered-in-error":
            table[(start, "entered-in-error")] = Rule(frozenset({"admin"}), ERROR_REASONS)
    return table


TABLE: dict[tuple[str, str], Rule] = _table()


class TransitionRefused(Exception):
    """A change the table does not allow, or one missing what it needs.

    ``code`` is one of: ``not_allowed``, ``reason_required``, ``outcome_required``,
    ``changed`` (someone else changed the referral first), ``too_many_notes``.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Change:
    """What an actor asks for; free text is encrypted on the referral."""

    to: str
    reason_code: str | None = None
    reason_text: str | None = None
    business_status: str | None = None
    outcome: str | None = None
    feedback: str | None = None


def allowed_targets(status: str, actor_kinds: frozenset[str]) -> list[str]:
    """The statuses these actors may move a referral to from ``status``, in display order."""
    return [to for to in vocab.REFERRAL_STATUSES
            if (rule := TABLE.get((status, to))) and rule.actors & actor_kinds]


def reason_choices(to: str, actor_kinds: frozenset[str]) -> Mapping[str, object]:
    """The reason codes a person may choose for a change to ``to``."""
    if to == "cancelled":
        return SYSTEM_CANCEL_REASONS if actor_kinds == {"system"} else HUMAN_CANCEL_REASONS
    for (_start, target), rule in TABLE.items():
        if target == to and rule.reasons is not None:
            return rule.reasons
    return {}


REASON_LISTS: dict[str, Mapping[str, object]] = {
    "rejected": vocab.DECLINE_REASONS, "failed": vocab.FAILURE_REASONS, "cancelled": vocab.CANCEL_REASONS,
    "on-hold": vocab.HOLD_REASONS, "entered-in-error": ERROR_REASONS, "completed": vocab.BUSINESS_STATUSES,
}


def reason_label(to: str, code: str | None) -> object:
    """The translated label of the reason (or business status) recorded with a change to ``to``."""
    if not code:
        return ""
    return REASON_LISTS.get(to, {}).get(code, code)


def check(referral: Referral, change: Change, actor_kinds: frozenset[str]) -> Rule:
    """Raise ``TransitionRefused`` unless the table allows this change for these actors."""
    rule = TABLE.get((referral.status, change.to))
    if rule is None or not rule.actors & actor_kinds:
        raise TransitionRefused("not_allowed")
    if rule.reasons is not None and change.reason_code not in reason_choices(change.to, actor_kinds):
        raise TransitionRefused("reason_required")
    if rule.needs_outcome and change.business_status not in vocab.business_statuses_for(referral.need_domain):
        raise TransitionRefused("outcome_required")
    return rule


def apply(session: Session, referral: Referral, change: Change, *, actor_id: str | None,
          actor_role: str, actor_kinds: frozenset[str], expected_version: int | None = None) -> None:
    """Make one allowed change, record it, and flush; the caller commits.

    ``expected_version`` is the version the person saw; if the referral moved on
    since, or a concurrent writer wins at flush, ``TransitionRefused("changed")``.
    """
    if expected_version is not None and expected_version != referral.version:
        raise TransitionRefused("changed")
    rule = check(referral, change, actor_kinds)
    now = clock.utcnow()
    start = referral.status
    at = _event_time(session, referral, now)  # read before changing anything: no autoflush of the change here
    _set_status(referral, change, rule, now, recorded_by_referrer="provider" not in actor_kinds)
    if change.feedback:
        _append_feedback(referral, change.feedback, at=now, by=actor_id)
    code = change.business_status if rule.needs_outcome else change.reason_code if rule.reasons is not None else None
    session.add(ReferralEvent(referral_id=referral.id, at=at, actor_id=actor_id, from_status=start,
                              to_status=change.to, reason_code=code))
    try:
        # The conditional UPDATE (… WHERE version = :seen) runs here, before the audit lock.
        session.flush()
    except StaleDataError:
        raise TransitionRefused("changed") from None
    # From and to only: the reason or outcome (a decline reason, "treatment-started") says
    # something about the person and lives on the referral's own events, which erasure removes.
    record(session, f"referral.{change.to}", actor_id=actor_id, actor_role=actor_role,
           object_type="referral", object_id=referral.id, details={"from": start, "to": change.to})
    if change.feedback:
        _record_feedback(session, referral, actor_id=actor_id, actor_role=actor_role)


def _event_time(session: Session, referral: Referral, now: datetime) -> datetime:
    """Strictly after the previous event, so the timeline keeps its order even within one clock tick."""
    last = session.scalar(select(func.max(ReferralEvent.at)).where(ReferralEvent.referral_id == referral.id))
    return max(now, last + timedelta(microseconds=1)) if last else now


def _set_status(referral: Referral, change: Change, rule: Rule, now: datetime, *,
                recorded_by_referrer: bool) -> None:
    referral.status = change.to
    referral.updated_at = now
    # The reason always belongs to the current status (a hold reason ends when work resumes).
    referral.reason_code = change.reason_code if rule.reasons is not None else None
    referral.reason = (change.reason_text or None) if rule.reasons is not None else None
    if change.to == "received":
        referral.received_at = now
    elif change.to == "accepted":
        referral.accepted_at = now
    elif change.to == "completed":
        referral.completed_at = now
        referral.business_status = change.business_status
    if change.to in ("completed", "failed"):
        referral.outcome = change.outcome or None
        referral.outcome_recorded_by_referrer = recorded_by_referrer
    if change.to in vocab.TERMINAL_STATUSES:
        referral.closed_at = now


# --- feedback from the receiving service ----------------------------------------------------

FEEDBACK_ACTION = "referral.feedback_sent"
# Far more than a real referral gathers; it bounds the size of the one encrypted field.
FEEDBACK_NOTES_MAX = 50


@dataclass(frozen=True)
class FeedbackNote:
    at: datetime | None  # None: a note kept from before notes were dated
    by: str | None  # user id of the provider who wrote it
    text: str


def feedback_notes(referral: Referral) -> list[FeedbackNote]:
    """The provider's notes to the referrer, oldest first.

    They are kept as a JSON list inside the one encrypted ``feedback`` field: appended,
    never replaced, so the referrer reads the whole exchange of a closed loop. A value
    written before the list existed is plain text and reads as one undated note.
    """
    raw = referral.feedback
    if not raw:
        return []
    try:
        data = json.loads(raw)
        return [FeedbackNote(datetime.fromisoformat(n["at"]), n.get("by"), str(n["text"])) for n in data["notes"]]
    except (ValueError, TypeError, KeyError):
        return [FeedbackNote(None, None, raw)]


def _append_feedback(referral: Referral, text: str, *, at: datetime, by: str | None) -> None:
    notes = feedback_notes(referral)
    if len(notes) >= FEEDBACK_NOTES_MAX:
        raise TransitionRefused("too_many_notes")
    notes.append(FeedbackNote(at, by, text))
    referral.feedback_count = (referral.feedback_count or 0) + 1
    referral.feedback = json.dumps(
        {"v": 1, "notes": [{"at": n.at.isoformat() if n.at else at.isoformat(), "by": n.by, "text": n.text}
                           for n in notes]}, ensure_ascii=False)


def _record_feedback(session: Session, referral: Referral, *, actor_id: str | None, actor_role: str) -> None:
    # Codes only: the note itself lives encrypted on the referral.
    record(session, FEEDBACK_ACTION, actor_id=actor_id, actor_role=actor_role, object_type="referral",
           object_id=referral.id, details={"status": referral.status})


def add_feedback(session: Session, referral: Referral, text: str, *, actor_id: str, actor_role: str,
                 actor_kinds: frozenset[str], expected_version: int) -> None:
    """A provider's note to the referrer without a change of status; flushed, the caller commits.

    Only the receiving provider may write one, and never once the referral is entered-in-error
    (it was never meant for them). The version check is the transitions' own, so a note and a
    status change made at the same moment cannot both be kept unseen.
    """
    if "provider" not in actor_kinds or referral.status == "entered-in-error":
        raise TransitionRefused("not_allowed")
    if expected_version != referral.version:
        raise TransitionRefused("changed")
    now = clock.utcnow()
    _append_feedback(referral, text, at=now, by=actor_id)
    referral.updated_at = now
    try:
        session.flush()  # UPDATE … WHERE version = :seen
    except StaleDataError:
        raise TransitionRefused("changed") from None
    _record_feedback(session, referral, actor_id=actor_id, actor_role=actor_role)
