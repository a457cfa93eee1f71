"""Two-person control over who may read client records.

One admin alone can no longer give an account of their choosing access to a client: a caseload
move, a single-client move or a co-assignment is only proposed by the admin and takes effect when
a second person approves it, and an admin's reset of a collaborator's sign-in holds that account's
records until a second person confirms the recovery.

The rules that make the second person a real second person:

- the approver is an active supervisor or admin other than the proposer;
- nobody proposes or approves a change in favour of an account they created, reset or changed the
  access of in the last ``RECENT_SETUP`` (14 days): a freshly made account whose credentials the
  admin knows is exactly what the attack needs;
- an approver account the proposer set up in that window cannot approve the proposer's changes;
- a pending change lapses after ``PENDING_FOR`` (a recovery hold does not: it waits for a decision).

Everything here holds ids, codes and counts; no client content is read. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from casework import clock
from casework.approvals.models import AccessChange
from casework.audit import record
from casework.audit.models import AuditEvent
from casework.auth.models import User
from casework.clients import services as client_services
from casework.clients.models import Client, ClientAssignment, CoassignRequest
from casework.errors import CaseworkError
from casework.policy.clients import caseload_filter

RECENT_SETUP = timedelta(days=14)
PENDING_FOR = timedelta(days=7)
NOTICE_FOR = timedelta(days=30)
KINDS = ("caseload_move", "client_move", "coassignment", "records_release")
MOVES = ("caseload_move", "client_move")
# Why a change is proposed: codes only (free text could carry something about a client).
REASONS = ("left_programme", "long_absence", "workload", "client_request", "same_person", "other")
RELEASE_REASON = "account_recovery"
APPROVERS = ("supervisor", "admin")
# What counts as setting an account up: after any of these the actor may know or choose its credentials.
SETUP_ACTIONS = ("admin.user_created", "auth.password_reset", "auth.second_factor_reset",
                 "admin.user_access_changed")


class ApprovalError(CaseworkError):
    """A proposal or decision refused for a reason the person can act on; ``code`` picks the message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as the audit log stores its times


def _audit(session: Session, action: str, actor: User | None, change: AccessChange, **details: object) -> None:
    record(session, action, actor_id=actor.id if actor else None, actor_role=actor.role if actor else "cli",
           object_type="access_change", object_id=change.id, details={"kind": change.kind, **details})


def set_up_by(session: Session, person_id: str | None, account_id: str) -> bool:
    """Whether ``person_id`` created, reset or changed the access of ``account_id`` recently."""
    if person_id is None:
        return False
    since = _iso(clock.utcnow() - RECENT_SETUP)
    return bool(session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "user", AuditEvent.object_id == account_id,
            AuditEvent.actor_id == person_id, AuditEvent.action.in_(SETUP_ACTIONS),
            AuditEvent.occurred_at >= since)
    ))


def _target(session: Session, actor: User | None, user_id: str) -> User:
    """The collaborator who would gain access, checked against the proposer."""
    target = session.get(User, user_id)
    if target is None or target.role != "collaborator":
        raise ApprovalError("not_a_collaborator")
    if not target.active:
        raise ApprovalError("inactive_collaborator")
    if target.records_held_since is not None:
        raise ApprovalError("target_held")
    if actor is not None and set_up_by(session, actor.id, target.id):
        raise ApprovalError("recently_set_up_by_you")
    return target


def _new(session: Session, actor: User | None, *, kind: str, reason: str, to_user: User,
         from_user_id: str | None = None, client_id: str | None = None, count: int = 1) -> AccessChange:
    if reason not in (*REASONS, RELEASE_REASON):
        raise ApprovalError("choose_reason")
    duplicate = session.scalar(select(AccessChange.id).where(
        AccessChange.status == "pending", AccessChange.kind == kind, AccessChange.to_user_id == to_user.id,
        AccessChange.from_user_id.is_(None) if from_user_id is None else AccessChange.from_user_id == from_user_id,
        AccessChange.client_id.is_(None) if client_id is None else AccessChange.client_id == client_id))
    if duplicate:
        raise ApprovalError("already_pending")
    now = clock.utcnow()
    change = AccessChange(kind=kind, status="pending", reason=reason, client_id=client_id,
                          from_user_id=from_user_id, to_user_id=to_user.id, client_count=count,
                          requested_by=actor.id if actor else None,
                          requested_at=now, expires_at=None if kind == "records_release" else now + PENDING_FOR)
    session.add(change)
    session.flush()
    _audit(session, "access.change_proposed", actor, change, count=count)
    return change


# --- proposals (admin) ----------------------------------------------------------------------------


def propose_caseload_move(session: Session, actor: User, from_id: str, to_id: str, reason: str) -> AccessChange:
    source = session.get(User, from_id)
    if source is None or source.role != "collaborator":
        raise ApprovalError("not_a_collaborator")
    if from_id == to_id:
        raise ApprovalError("same_collaborator")
    target = _target(session, actor, to_id)
    count = session.scalar(select(func.count()).select_from(Client).where(Client.owner_id == source.id)) or 0
    if not count:
        raise ApprovalError("nothing_to_move")
    return _new(session, actor, kind="caseload_move", reason=reason, to_user=target, from_user_id=source.id,
                count=count)


def propose_client_move(session: Session, actor: User, display_code: str, to_id: str,
                        reason: str) -> AccessChange:
    target = _target(session, actor, to_id)
    client = session.scalars(select(Client).where(Client.display_code == display_code)).first()
    if client is None:
        raise ApprovalError("no_such_code")
    if client.owner_id == target.id:
        raise ApprovalError("same_collaborator")
    return _new(session, actor, kind="client_move", reason=reason, to_user=target, from_user_id=client.owner_id,
                client_id=client.id)


def propose_coassignment(session: Session, actor: User, request_id: str) -> AccessChange:
    """Send a collaborator's co-assignment request (found by UIC) to a second person."""
    request = client_services.open_coassign_request(session, request_id)
    if request is None:
        raise ApprovalError("no_such_request")
    target = _target(session, actor, request.requester.id)
    client = session.get(Client, request.client_id)
    change = _new(session, actor, kind="coassignment", reason="same_person", to_user=target,
                  from_user_id=client.owner_id, client_id=client.id)
    session.get(CoassignRequest, request_id).change_id = change.id
    return change


def hold_records(session: Session, actor: User | None, user: User) -> AccessChange | None:
    """After someone else reset ``user``'s sign-in: hold their records until a second person confirms.

    Only for a collaborator who has records to reach; an account without clients has nothing to hold.
    """
    if user.role != "collaborator":
        return None
    count = session.scalar(select(func.count()).select_from(Client).where(caseload_filter(user.id)))
    if not count:
        return None
    if user.records_held_since is None:
        user.records_held_since = clock.utcnow()
    existing = session.scalars(select(AccessChange).where(
        AccessChange.kind == "records_release", AccessChange.to_user_id == user.id,
        AccessChange.status == "pending")).first()
    if existing is not None:
        return existing
    change = _new(session, actor, kind="records_release", reason=RELEASE_REASON, to_user=user, count=count)
    record(session, "access.records_held", actor_id=actor.id if actor else None,
           actor_role=actor.role if actor else "cli", object_type="user", object_id=user.id,
           details={"change": change.id})
    return change


def withdraw(session: Session, actor: User, change_id: str, version: int) -> AccessChange:
    change = _pending(session, change_id)
    if change.requested_by != actor.id or change.kind == "records_release":
        raise ApprovalError("not_yours")
    _settle(session, change, actor, "withdrawn", version)
    _audit(session, "access.change_withdrawn", actor, change)
    return change


# --- decisions (a second person) ----------------------------------------------------------------


def may_decide(session: Session, actor: User, change: AccessChange) -> str | None:
    """None when ``actor`` may decide ``change``; otherwise the code of the reason why not."""
    if actor.role not in APPROVERS or not actor.active:
        return "not_an_approver"
    if change.requested_by == actor.id:
        return "own_request"
    if set_up_by(session, actor.id, change.to_user_id):
        return "recently_set_up_by_you"
    if change.requested_by is not None and set_up_by(session, change.requested_by, actor.id):
        return "approver_set_up_by_proposer"
    return None


def decide(session: Session, actor: User, change_id: str, *, approve: bool, version: int) -> AccessChange:
    change = _pending(session, change_id)
    refusal = may_decide(session, actor, change)
    if refusal is not None:
        raise ApprovalError(refusal)
    _settle(session, change, actor, "approved" if approve else "refused", version)
    if approve:
        change.applied_count = _apply(session, actor, change)
    _audit(session, "access.change_approved" if approve else "access.change_refused", actor, change,
           count=change.applied_count if approve else change.client_count)
    return change


def _pending(session: Session, change_id: str) -> AccessChange:
    change = session.get(AccessChange, change_id)
    if change is None:
        raise ApprovalError("not_found")
    if change.status == "pending" and change.expires_at is not None and change.expires_at <= clock.utcnow():
        raise ApprovalError("lapsed")
    if change.status != "pending":
        raise ApprovalError("already_decided")
    return change


def _settle(session: Session, change: AccessChange, actor: User, status: str, version: int) -> None:
    """Decide at most once: two people pressing at the same moment, only the first counts."""
    now = clock.utcnow()
    done = session.execute(
        update(AccessChange).where(AccessChange.id == change.id, AccessChange.status == "pending",
                                   AccessChange.version == version)
        .values(status=status, decided_by=actor.id, decided_at=now, notice_seen_at=None,
                version=AccessChange.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise ApprovalError("already_decided")
    session.refresh(change)


def _apply(session: Session, approver: User, change: AccessChange) -> int:
    """Make an approved change happen; refused (nothing applied) if the situation moved on since."""
    if change.kind == "records_release":
        user = session.get(User, change.to_user_id)
        user.records_held_since = None
        record(session, "access.records_released", actor_id=approver.id, actor_role=approver.role,
               object_type="user", object_id=user.id, details={"change": change.id})
        return change.client_count
    target = session.get(User, change.to_user_id)
    if target is None or not target.active or target.role != "collaborator" or target.records_held_since:
        raise ApprovalError("changed_since")
    if change.kind == "caseload_move":
        return client_services.move_caseload(session, approver, change.from_user_id, target, change=change.id)
    client = session.get(Client, change.client_id)
    if client is None or client.owner_id != change.from_user_id:
        raise ApprovalError("changed_since")
    if change.kind == "client_move":
        client_services.move_client(session, approver, client, target, change=change.id)
        return 1
    if session.get(ClientAssignment, (client.id, target.id)) is None and client.owner_id != target.id:
        client_services.co_assign(session, approver, client, target, change=change.id)
    return 1


def lapse_due(session: Session) -> int:
    """Pending changes nobody decided in time lapse (the proposer may propose again)."""
    return session.execute(
        update(AccessChange).where(AccessChange.status == "pending", AccessChange.expires_at.is_not(None),
                                   AccessChange.expires_at <= clock.utcnow())
        .values(status="lapsed", version=AccessChange.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- what people see ---------------------------------------------------------------------------------


@dataclass
class AccountFacts:
    """What an approver needs to judge the account that would gain access."""

    created_at: datetime
    set_up_by: list[tuple[str, str, datetime]]  # (action, name of who did it ("" for the operator), when)


@dataclass
class Row:
    change: AccessChange
    names: dict[str, str]
    facts: AccountFacts | None
    refusal: str | None  # why the viewer may not decide it (None: they may)


def queue(session: Session, viewer: User, *, page: int, per_page: int) -> tuple[list[Row], bool]:
    """Pending changes, oldest first (they lapse first); a page and whether there is another."""
    changes = list(session.scalars(select(AccessChange).where(AccessChange.status == "pending")
                                   .order_by(AccessChange.requested_at, AccessChange.id)
                                   .limit(per_page + 1).offset((page - 1) * per_page)))
    rows = _rows(session, changes[:per_page], with_facts=True)
    for row in rows:
        row.refusal = may_decide(session, viewer, row.change)
    return rows, len(changes) > per_page


def decided(session: Session, *, page: int, per_page: int) -> tuple[list[Row], bool]:
    changes = list(session.scalars(select(AccessChange).where(AccessChange.status != "pending")
                                   .order_by(AccessChange.requested_at.desc(), AccessChange.id)
                                   .limit(per_page + 1).offset((page - 1) * per_page)))
    return _rows(session, changes[:per_page], with_facts=False), len(changes) > per_page


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AccessChange)
                          .where(AccessChange.status == "pending")) or 0


def proposed_by(session: Session, actor: User, limit: int = 20) -> list[Row]:
    """The admin's own proposals still waiting, for the caseload screen."""
    changes = list(session.scalars(select(AccessChange).where(AccessChange.status == "pending",
                                                              AccessChange.requested_by == actor.id)
                                   .order_by(AccessChange.requested_at.desc()).limit(limit)))
    return _rows(session, changes, with_facts=False)


def _rows(session: Session, changes: list[AccessChange], *, with_facts: bool) -> list[Row]:
    ids = {i for c in changes for i in (c.from_user_id, c.to_user_id, c.requested_by, c.decided_by) if i}
    facts: dict[str, AccountFacts] = {}
    if with_facts:
        for user_id in {c.to_user_id for c in changes}:
            facts[user_id] = _facts(session, user_id)
            ids |= {who for _a, who, _t in facts[user_id].set_up_by}
    names = _names(session, ids)
    for account in facts.values():
        account.set_up_by = [(a, names.get(who, ""), t) for a, who, t in account.set_up_by]
    return [Row(c, names, facts.get(c.to_user_id), None) for c in changes]


def _facts(session: Session, user_id: str) -> AccountFacts:
    user = session.get(User, user_id)
    since = _iso(clock.utcnow() - RECENT_SETUP)
    events = session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.occurred_at).where(
            AuditEvent.object_type == "user", AuditEvent.object_id == user_id,
            AuditEvent.action.in_(SETUP_ACTIONS), AuditEvent.occurred_at >= since)
        .order_by(AuditEvent.id.desc()).limit(10)).all()
    names = _names(session, {who for _a, who, _at in events if who})
    return AccountFacts(user.created_at, [
        (a, names.get(who, "") if who else "", datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ"))
        for a, who, at in events])


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {row.id: f"{row.display_name} ({row.username})"
            for row in session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids)))}


def approvers(session: Session) -> list[User]:
    """Everyone who can approve: the real supervisor should recognise each of them, so all are
    listed (a ward has a handful; an account made to approve in secret must show here too)."""
    return list(session.scalars(select(User).where(User.role.in_(APPROVERS), User.active.is_(True))
                                .order_by(User.role, User.display_name, User.id)))


@dataclass
class Notice:
    change: AccessChange
    names: dict[str, str]
    display_code: str | None


def notices_for(session: Session, user: User) -> list[Notice]:
    """What was proposed or done to the collaborator's own caseload in the last month, not yet dismissed."""
    since = clock.utcnow() - NOTICE_FOR
    changes = list(session.scalars(select(AccessChange).where(
        AccessChange.from_user_id == user.id, AccessChange.kind.in_((*MOVES, "coassignment")),
        AccessChange.status.in_(("pending", "approved")), AccessChange.requested_at >= since,
        AccessChange.notice_seen_at.is_(None)).order_by(AccessChange.requested_at.desc()).limit(20)))
    codes = dict(session.execute(select(Client.id, Client.display_code).where(
        Client.id.in_({c.client_id for c in changes if c.client_id}))).all()) if changes else {}
    names = _names(session, {i for c in changes for i in (c.to_user_id, c.requested_by, c.decided_by) if i})
    return [Notice(c, names, codes.get(c.client_id)) for c in changes]


def dismiss_notice(session: Session, user: User, change_id: str) -> None:
    session.execute(update(AccessChange).where(AccessChange.id == change_id, AccessChange.from_user_id == user.id)
                    .values(notice_seen_at=clock.utcnow()).execution_options(synchronize_session=False))


def hold_of(session: Session, user: User) -> AccessChange | None:
    return session.scalars(select(AccessChange).where(
        AccessChange.kind == "records_release", AccessChange.to_user_id == user.id,
        or_(AccessChange.status == "pending", AccessChange.status == "refused"))
        .order_by(AccessChange.requested_at.desc())).first()
