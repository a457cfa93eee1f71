"""Referral operations behind the views and the CLI: make, read, list, expire.

Each operation works in the caller's session and writes its audit entry there;
the caller commits once. Status changes go through ``lifecycle.apply`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session

from casework import clock, codes, vocab
from casework.audit import record
from casework.auth.models import User
from casework.clients.models import Client
from casework.db import begin_writing, new_id
from casework.directory.models import Service
from casework.paging import page_of
from casework.policy.clients import caseload_filter
from casework.referrals import lifecycle
from casework.referrals.models import Referral, ReferralRead

ACTIVE_EARLY = ("requested", "received")
UNDER_WAY = ("accepted", "in-progress", "on-hold")
# A new referral may follow one that did not lead to the service.
FOLLOWABLE = ("rejected", "failed", "cancelled")


class ReferralRefused(Exception):
    """A referral that cannot be made; ``code`` says why (the view translates it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- making a referral -----------------------------------------------------------------


def blockers(session: Session, client: Client) -> list[str]:
    """Why no referral can be made for this client now (empty: it can).

    Consent is read through the clients area (latest consent row per purpose), so
    both areas agree on what "active" means.
    """
    from casework.clients.services import consent_active

    found = []
    if client.status != "open":
        found.append("case_closed")
    if not consent_active(session, client.id, "registration"):
        found.append("no_registration_consent")
    if not consent_active(session, client.id, "share_with_provider"):
        found.append("no_sharing_consent")
    return found


def services_for(session: Session, need_domain: str | None) -> list[Service]:
    """Active services a collaborator may pick, for one need domain (or all)."""
    query = select(Service).where(Service.status == "active").order_by(Service.name)
    if need_domain:
        query = query.where(Service.need_domain == need_domain)
    return [s for s in session.scalars(query) if s.organisation.active]


@dataclass(frozen=True)
class NewReferral:
    service_id: str
    urgency: str
    share_phone: bool
    note_to_receiver: str | None
    consent_confirmed: bool
    previous_referral_id: str | None = None


def create(session: Session, actor: User, client: Client, request: NewReferral) -> Referral:
    """Issue a referral with a fresh code and due dates from the service."""
    if blockers(session, client):
        raise ReferralRefused("blocked")
    if not request.consent_confirmed:
        raise ReferralRefused("consent_required")
    service = session.get(Service, request.service_id)
    if service is None or service.status != "active" or not service.organisation.active:
        raise ReferralRefused("service_unavailable")
    previous = _previous(session, client, request.previous_referral_id)
    now = clock.utcnow()
    today = clock.local_today()
    from casework.runtime import settings

    referral = Referral(
        id=new_id(), code=_unused_code(session), client_id=client.id, service_id=service.id,
        organisation_id=service.organisation_id, need_domain=service.need_domain, referred_by=actor.id,
        previous_referral_id=previous.id if previous else None, status="requested",
        urgency=request.urgency, share_phone=request.share_phone, consent_confirmed_at=now,
        created_at=now, updated_at=now,
        accept_due_on=today + timedelta(days=service.accept_within_days),
        complete_due_on=today + timedelta(days=service.complete_within_days),
        expires_on=today + timedelta(days=settings().referral_expire_after_days),
    )
    session.add(referral)
    referral.note_to_receiver = request.note_to_receiver or None
    from casework.referrals.models import ReferralEvent

    session.add(ReferralEvent(referral_id=referral.id, at=now, actor_id=actor.id, from_status=None,
                              to_status="requested"))
    session.flush()
    # Not the client's id: the audit log outlives erasure, and a referral's later events (the
    # organisation that acted on it) would then still link the person to a kind of service.
    record(session, "referral.created", actor_id=actor.id, actor_role=actor.role, object_type="referral",
           object_id=referral.id, details={"share_phone": request.share_phone,
                                           "previous_referral_id": referral.previous_referral_id})
    return referral


def _previous(session: Session, client: Client, previous_id: str | None) -> Referral | None:
    if not previous_id:
        return None
    previous = session.get(Referral, previous_id)
    if previous is None or previous.client_id != client.id or previous.status not in FOLLOWABLE:
        raise ReferralRefused("bad_previous")
    return previous


def _unused_code(session: Session) -> str:
    while True:
        code = codes.referral_code()
        if session.scalar(select(Referral.id).where(Referral.code == code)) is None:
            return code


# --- what each side sees -----------------------------------------------------------------


@dataclass(frozen=True)
class ProviderView:
    """The minimal dataset of docs/DESIGN.md §5, and nothing else, for provider pages and the preview."""

    code: str | None
    display_code: str
    age_band: str
    sex_gender: str
    service_name: str
    organisation_name: str
    need_domain: str
    urgency: str
    note_to_receiver: str | None
    contact_preference: str
    phone: str | None
    referrer_name: str
    referrer_phone: str | None
    created_at: datetime | None
    accept_due_on: date | None
    complete_due_on: date | None
    expires_on: date | None
    status: str | None


def client_code_for(session: Session, client_id: str, organisation_id: str) -> str:
    """The code a service's staff know a client by: the same for all of that organisation's referrals
    of this client, different at every other organisation, and never the case worker's display code,
    so two organisations comparing their lists cannot tell that they saw the same person."""
    return codes.provider_client_code(session.info["sealer"].pseudonym(organisation_id, client_id))


def provider_view(session: Session, referral: Referral) -> ProviderView:
    client = session.get(Client, referral.client_id)
    service = session.get(Service, referral.service_id)
    referrer = session.get(User, referral.referred_by)
    # What was shared stays shared only while the client's consent to share stands, and never
    # again once a withdrawal cancelled this referral (consent given later is for new referrals).
    withdrawn_here = referral.status == "cancelled" and referral.reason_code == "client-withdrew-consent"
    shared = sharing_consented(session, client.id) and not withdrawn_here
    return ProviderView(
        code=referral.code, display_code=client_code_for(session, client.id, referral.organisation_id),
        age_band=client.age_band,
        sex_gender=client.sex_gender, service_name=service.name, organisation_name=service.organisation.name,
        need_domain=referral.need_domain, urgency=referral.urgency,
        note_to_receiver=referral.note_to_receiver if shared else None,
        contact_preference=client.contact_preference,
        phone=client.phone if referral.share_phone and shared and _may_call(session, client, referral) else None,
        referrer_name=referrer.display_name, referrer_phone=referrer.work_phone,
        created_at=referral.created_at, accept_due_on=referral.accept_due_on,
        complete_due_on=referral.complete_due_on, expires_on=referral.expires_on, status=referral.status,
    )


# After a referral ends, its service may still need to call back for a few days (a result to
# give, a follow-up appointment); then the phone number is no longer shown.
PHONE_AFTER_CLOSE = timedelta(days=7)


def _may_call(session: Session, client: Client, referral: Referral) -> bool:
    """The phone is shown only while the client may be contacted at all, and not long after the end."""
    from casework.clients.services import consent_active

    if client.contact_preference == "do_not_contact" or not consent_active(session, client.id, "contact"):
        return False
    return referral.closed_at is None or clock.utcnow() - referral.closed_at <= PHONE_AFTER_CLOSE


def sharing_consented(session: Session, client_id: str) -> bool:
    """Registration and sharing consents both stand (either withdrawn: nothing more is shared)."""
    from casework.clients.services import consent_active

    return consent_active(session, client_id, "registration") and consent_active(
        session, client_id, "share_with_provider")


def cancel_after_consent_withdrawn(session: Session, client_id: str, *, actor: User) -> int:
    """Cancel every open referral of a client who withdrew consent to share; returns how many.

    Called by the clients area in the same transaction as the withdrawal, so a
    provider never keeps working from data the client took back.
    """
    count = 0
    for referral in session.scalars(
        select(Referral).where(Referral.client_id == client_id, Referral.status.not_in(vocab.TERMINAL_STATUSES))
    ):
        lifecycle.apply(session, referral, lifecycle.Change(to="cancelled", reason_code="client-withdrew-consent"),
                        actor_id=actor.id, actor_role=actor.role, actor_kinds=lifecycle.REFERRER)
        count += 1
    return count


def preview_view(client: Client, service: Service, actor: User, *, urgency: str, share_phone: bool,
                 note: str | None) -> ProviderView:
    """What the provider will see if the referral is sent as filled in (code issued on sending)."""
    from casework.runtime import settings

    today = clock.local_today()
    session = object_session(client)
    return ProviderView(
        code=None, display_code=client_code_for(session, client.id, service.organisation_id),
        age_band=client.age_band, sex_gender=client.sex_gender,
        service_name=service.name, organisation_name=service.organisation.name, need_domain=service.need_domain,
        urgency=urgency, note_to_receiver=note or None, contact_preference=client.contact_preference,
        phone=client.phone if share_phone else None, referrer_name=actor.display_name,
        referrer_phone=actor.work_phone, created_at=None,
        accept_due_on=today + timedelta(days=service.accept_within_days),
        complete_due_on=today + timedelta(days=service.complete_within_days),
        expires_on=today + timedelta(days=settings().referral_expire_after_days), status=None,
    )


@dataclass(frozen=True)
class Slip:
    """What the client carries: no name, no display code, no programme label."""

    code: str
    service_name: str
    organisation_name: str
    address: str | None
    opening_hours: str | None
    phone: str | None
    valid_until: date


def slip(session: Session, referral: Referral) -> Slip:
    service = session.get(Service, referral.service_id)
    return Slip(code=referral.code, service_name=service.name, organisation_name=service.organisation.name,
                address=service_address(service), opening_hours=service.opening_hours,
                phone=service.phone or service.organisation.phone, valid_until=referral.expires_on)


def service_address(service: Service) -> str | None:
    for location in service.locations:
        parts = [location.address_1, location.address_locality, location.address_region]
        text = ", ".join(p for p in parts if p)
        if text:
            return text
    return None


def organisation_staffed(session: Session, organisation_id: str) -> bool:
    """Whether the organisation has any active provider account to answer referrals."""
    return bool(session.scalar(select(exists().where(
        User.organisation_id == organisation_id, User.role == "provider", User.active.is_(True)))))


# --- lists, overdue, badges --------------------------------------------------------------


def overdue_condition(today: date) -> ColumnElement[bool]:
    """Not accepted by the accept date, or not completed by the completion date. It begins with
    the open statuses as a plain list, so that an index on status reads open referrals only."""
    return and_(Referral.status.in_((*ACTIVE_EARLY, *UNDER_WAY)),
                or_(and_(Referral.status.in_(ACTIVE_EARLY), Referral.accept_due_on < today),
                    and_(Referral.status.in_(UNDER_WAY), Referral.complete_due_on < today)))


def is_overdue(referral: Referral, today: date) -> str | None:
    """``not_accepted``, ``not_completed`` or None."""
    if referral.status in ACTIVE_EARLY and referral.accept_due_on < today:
        return "not_accepted"
    if referral.status in UNDER_WAY and referral.complete_due_on < today:
        return "not_completed"
    return None


INBOX_TABS = ("new", "accepted", "in-progress", "overdue", "closed")


INBOX_PAGE = 25
SENT_PAGE = 25


def inbox(session: Session, organisation_id: str, tab: str, *, page: int = 1,
          per_page: int = INBOX_PAGE) -> tuple[list[Referral], bool]:
    """A page of one inbox tab, urgent first, then oldest first (they wait longest), and whether
    another page follows."""
    return page_of(session, _inbox_query(organisation_id, tab)
                   .order_by(Referral.urgency.desc(), Referral.created_at, Referral.id),
                   page=page, per_page=per_page)


def inbox_counts(session: Session, organisation_id: str) -> dict[str, int]:
    """How many referrals each tab holds (one count per tab, on the organisation-status index)."""
    return {tab: session.scalar(_inbox_query(organisation_id, tab).with_only_columns(func.count())) or 0
            for tab in INBOX_TABS}


def _inbox_query(organisation_id: str, tab: str) -> Select[Any]:
    today = clock.local_today()
    query = select(Referral).where(Referral.organisation_id == organisation_id)
    if tab == "new":
        query = query.where(Referral.status.in_(ACTIVE_EARLY))
    elif tab == "accepted":
        query = query.where(Referral.status == "accepted")
    elif tab == "in-progress":
        query = query.where(Referral.status.in_(("in-progress", "on-hold")))
    elif tab == "overdue":
        query = query.where(overdue_condition(today))
    else:
        # entered-in-error is left out: such a referral was never meant for this organisation's eyes
        query = query.where(Referral.status.in_(("completed", "rejected", "cancelled", "failed")))
    return query


def sent(session: Session, user_id: str, *, overdue_only: bool = False, feedback_only: bool = False,
         page: int = 1, per_page: int = SENT_PAGE) -> tuple[list[tuple[Referral, Client]], bool]:
    """A page of the referrals for the clients in the user's caseload, newest first."""
    query = (select(Referral, Client).join(Client, Client.id == Referral.client_id)
             .where(caseload_filter(user_id), Referral.status != "entered-in-error"))
    if overdue_only:
        query = query.where(overdue_condition(clock.local_today()))
    if feedback_only:
        query = query.where(unread_feedback_condition(user_id))
    return page_of(session, query.order_by(Referral.created_at.desc(), Referral.id), page=page, per_page=per_page,
                   scalars=False)


def unread_feedback_condition(user_id: str) -> ColumnElement[bool]:
    """Referrals whose service wrote feedback since ``user_id`` last opened them: the referral's
    feedback count against the reader's mark (one primary-key seek per candidate)."""
    seen = (select(ReferralRead.feedback_seen)
            .where(ReferralRead.referral_id == Referral.id, ReferralRead.user_id == user_id)
            .scalar_subquery())
    return (Referral.feedback_count > 0) & (Referral.feedback_count > func.coalesce(seen, 0))


def mark_feedback_read(session: Session, referral: Referral, user_id: str) -> None:
    """Record that ``user_id`` has now seen every feedback note of ``referral`` (an upsert: two tabs
    opening it at once both succeed)."""
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"referral_id": referral.id, "user_id": user_id, "feedback_seen": referral.feedback_count or 0,
              "read_at": clock.utcnow()}
    statement = upsert(ReferralRead).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["referral_id", "user_id"],
        set_={"feedback_seen": statement.excluded.feedback_seen, "read_at": statement.excluded.read_at}))


def with_unread_feedback(session: Session, user_id: str, *, per_page: int) -> tuple[list[tuple[Any, ...]], bool]:
    """The newest caseload referrals with unread feedback: (id, code, service id, client display code)."""
    query = (select(Referral.id, Referral.code, Referral.service_id, Client.display_code)
             .join(Client, Client.id == Referral.client_id)
             .where(caseload_filter(user_id), Referral.status != "entered-in-error",
                    unread_feedback_condition(user_id))
             .order_by(Referral.created_at.desc(), Referral.id))
    return page_of(session, query, page=1, per_page=per_page, scalars=False)


def for_client(session: Session, client_id: str) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.client_id == client_id)
                                .order_by(Referral.created_at.desc())))


def unread_feedback(session: Session, user_id: str, referral_ids: set[str] | list[str]) -> set[str]:
    """The referrals among ``referral_ids`` whose service wrote feedback since ``user_id`` last opened them."""
    ids = set(referral_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Referral.id).where(Referral.id.in_(ids), unread_feedback_condition(user_id))))


def inbox_badge(session: Session, organisation_id: str) -> int:
    """New (not yet opened) plus overdue referrals waiting on this organisation."""
    today = clock.local_today()
    # The status list first: the (organisation, status) index then reads only open referrals, not
    # every referral the organisation ever had (measured: 28 ms → see docs/PERFORMANCE.md).
    return session.scalar(select(func.count()).select_from(Referral).where(
        Referral.organisation_id == organisation_id, Referral.status.in_((*ACTIVE_EARLY, *UNDER_WAY)),
        Referral.expires_on >= today, or_(Referral.status == "requested", overdue_condition(today)))) or 0


def sent_badge(session: Session, user_id: str) -> int:
    """The user's caseload referrals waiting on someone past their due date."""
    today = clock.local_today()
    return session.scalar(select(func.count()).select_from(Referral).join(Client, Client.id == Referral.client_id)
                          .where(caseload_filter(user_id), overdue_condition(today),
                                 or_(Referral.status.not_in(ACTIVE_EARLY), Referral.expires_on >= today))) or 0


# --- expiry ---------------------------------------------------------------------------


def expire_due(session: Session, *, where: Any = None) -> int:
    """Cancel (reason ``expired``) every referral still requested/received after its valid-until date."""
    today = clock.local_today()
    query = select(Referral).where(Referral.status.in_(ACTIVE_EARLY), Referral.expires_on < today)
    if where is not None:
        query = query.where(where)
    count = 0
    if session.scalar(query.with_only_columns(Referral.id).limit(1)) is None:
        return 0  # the usual case on an inbox view: nothing due, and no lock taken
    # Lock every row first (PostgreSQL; on SQLite the write lock), before the audit lock taken at
    # commit: a row busy in someone else's transaction is skipped and expires next time.
    begin_writing(session)
    query = query.order_by(Referral.expires_on).with_for_update(skip_locked=True)
    for referral in session.scalars(query).all():
        lifecycle.apply(session, referral, lifecycle.Change(to="cancelled", reason_code="expired"),
                        actor_id=None, actor_role="system", actor_kinds=frozenset({"system"}))
        count += 1
    return count
