"""Operations on clients. Each one changes data and writes its audit entry in the
caller's transaction; the view (or CLI) commits once.

Audit details hold codes, counts and field names only, never a stored value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, union_all, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, object_session

from casework import clock, codes, vocab
from casework.approvals.models import AccessChange
from casework.audit import AuditEvent, record
from casework.auth.models import User
from casework.clients import queries, storage
from casework.clients.models import (
    Assessment,
    AssessmentNeed,
    CaseNote,
    Client,
    ClientAssignment,
    CoassignRequest,
    Consent,
    FollowUp,
)
from casework.clients.needs import NeedState, need_states
from casework.db import is_unreadable
from casework.errors import CaseworkError
from casework.paging import page_of
from casework.policy.clients import caseload_filter, in_caseload

MINOR_AGE = 18
ENCRYPTED_DETAILS = ("uic", "alias", "phone", "birth_year", "residence")
PLAIN_DETAILS = ("sex_gender", "age_band", "outreach_source", "contact_preference")


class ClientError(CaseworkError):
    """An operation refused for a reason the user can act on; ``code`` picks the message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _audit(session: Session, action: str, actor: User | None, client_id: str | None, **details: Any) -> None:
    record(session, action, actor_id=actor.id if actor else None,
           actor_role=actor.role if actor else "system", object_type="client", object_id=client_id,
           details=details)


# --- age -------------------------------------------------------------------------------


def age_band_for(birth_year: int, today: date) -> str:
    """The aggregate band for an age computed from the birth year alone (docs/DESIGN.md §2)."""
    age = today.year - birth_year
    if age < MINOR_AGE:
        return "lt18"
    for band, upper in (("18-24", 24), ("25-34", 34), ("35-49", 49)):
        if age <= upper:
            return band
    return "50+"


def _apply_age(client: Client, birth_year: str | None, chosen_band: str) -> None:
    """Age band from the birth year when known, else the band the worker chose."""
    client.birth_year = birth_year
    band = age_band_for(int(birth_year), clock.local_today()) if birth_year else chosen_band
    client.age_band = band if band in vocab.AGE_BANDS else "unknown"
    client.is_minor = client.age_band == "lt18"


def refresh_age_band(session: Session, actor: User | None, client: Client) -> bool:
    """Bands come from the birth year and move with time: a 17-year-old turns 18. Kept current
    whenever the case worker opens the record, and by the retention run for records nobody
    opens (``actor`` None: the system). The change is audited, never the year or the band."""
    if client.birth_year is None or is_unreadable(client.birth_year):
        return False
    band = age_band_for(int(client.birth_year), clock.local_today())
    if band == client.age_band:
        return False
    client.age_band, client.is_minor = band, band == "lt18"
    _audit(session, "client.age_band_updated", actor, client.id)
    return True


# --- consent ---------------------------------------------------------------------------


def current_consents(session: Session, client_id: str) -> dict[str, Consent | None]:
    """The latest consent row per purpose (None if never given)."""
    rows = session.scalars(
        select(Consent).where(Consent.client_id == client_id).order_by(Consent.given_on, Consent.created_at)
    ).all()
    latest: dict[str, Consent | None] = dict.fromkeys(vocab.CONSENT_PURPOSES)
    for row in rows:
        latest[row.purpose] = row
    return latest


def consent_active(session: Session, client_id: str, purpose: str) -> bool:
    row = current_consents(session, client_id).get(purpose)
    return row is not None and row.withdrawn_on is None


def can_refer(session: Session, client: Client) -> bool:
    """A new referral is allowed: open case, registration and sharing consents both active."""
    if client.status != "open":
        return False
    consents = current_consents(session, client.id)
    return all(
        consents[p] is not None and consents[p].withdrawn_on is None  # type: ignore[union-attr]
        for p in ("registration", "share_with_provider")
    )


def can_contact(session: Session, client: Client) -> bool:
    """Contact is allowed: registration and contact consents active and no do-not-contact preference."""
    consents = current_consents(session, client.id)
    active = all(consents[p] is not None and consents[p].withdrawn_on is None  # type: ignore[union-attr]
                 for p in ("registration", "contact"))
    return active and client.contact_preference != "do_not_contact"


def record_consent(session: Session, actor: User, client: Client, *, purpose: str, method: str,
                   given_on: date) -> Consent:
    if purpose not in vocab.CONSENT_PURPOSES or method not in vocab.CONSENT_METHODS:
        raise ClientError("bad_consent")
    if purpose != "registration" and not consent_active(session, client.id, "registration"):
        raise ClientError("registration_consent_needed")
    consent = Consent(client_id=client.id, purpose=purpose, method=method, given_on=given_on,
                      recorded_by=actor.id)
    session.add(consent)
    session.flush()
    _audit(session, "client.consent_recorded", actor, client.id, purpose=purpose, method=method)
    return consent


def withdraw_consent(session: Session, actor: User, client: Client, consent: Consent) -> None:
    """Withdraw one consent; withdrawing registration withdraws the others too."""
    if consent.client_id != client.id or consent.withdrawn_on is not None:
        raise ClientError("consent_not_active")
    today = clock.local_today()
    withdrawn = [consent]
    if consent.purpose == "registration":
        for other in current_consents(session, client.id).values():
            if other is not None and other.withdrawn_on is None and other is not consent:
                withdrawn.append(other)
    for row in withdrawn:
        row.withdrawn_on = today
        row.withdrawn_by = actor.id
    _audit(session, "client.consent_withdrawn", actor, client.id, purposes=sorted(r.purpose for r in withdrawn))
    if {r.purpose for r in withdrawn} & {"registration", "share_with_provider"}:
        from casework.referrals.services import cancel_after_consent_withdrawn

        session.flush()
        cancel_after_consent_withdrawn(session, client.id, actor=actor)


# --- registration -------------------------------------------------------------------------


@dataclass
class Registration:
    """What the registration form collected (values already validated)."""

    consent_method: str
    consent_date: date
    uic: str | None
    sex_gender: str
    birth_year: str | None
    age_band: str
    outreach_source: str
    contact_preference: str
    alias: str | None = None
    phone: str | None = None
    residence: str | None = None
    share_consent: bool = False
    contact_consent: bool = False


def register_client(session: Session, actor: User, data: Registration, *, overrode_match: bool = False) -> Client:
    """Registration consent first, then the record: nothing is stored without consent."""
    if data.consent_method not in vocab.CONSENT_METHODS or data.consent_date is None:
        raise ClientError("consent_needed")
    client = storage.new_client(
        session, owner_id=actor.id, uic=data.uic, sex_gender=data.sex_gender,
        outreach_source=data.outreach_source, contact_preference=data.contact_preference,
        registered_at=clock.utcnow(), status="open",
    )
    session.flush()
    _apply_age(client, data.birth_year, data.age_band)
    client.alias = data.alias
    client.phone = data.phone
    client.residence = data.residence
    purposes = ["registration"] + ["share_with_provider"] * data.share_consent + ["contact"] * data.contact_consent
    for purpose in purposes:
        session.add(Consent(client_id=client.id, purpose=purpose, method=data.consent_method,
                            given_on=data.consent_date, recorded_by=actor.id))
    session.flush()
    # No categories that say something about the person (age band, minor, needs): the audit log
    # outlives erasure, so it holds who did what, never what a client is.
    _audit(session, "client.registered", actor, client.id, consent_method=data.consent_method, consents=purposes,
           uic_declined=client.uic_declined, uic_match_overridden=overrode_match)
    return client


def request_coassignment(session: Session, actor: User, client_ids: list[str]) -> int:
    """Ask an admin to co-assign the actor to clients found by UIC in other caseloads (a request
    already open for the same client is not repeated)."""
    for client_id in client_ids:
        open_already = session.scalar(select(CoassignRequest.id).where(
            CoassignRequest.client_id == client_id, CoassignRequest.requester_id == actor.id,
            CoassignRequest.status == "open"))
        if open_already is None:
            session.add(CoassignRequest(client_id=client_id, requester_id=actor.id))
        _audit(session, "client.coassign_requested", actor, client_id)
    return len(client_ids)


# --- correction ---------------------------------------------------------------------------


def correct_client(session: Session, actor: User, client: Client, values: dict[str, Any], *,
                   overrode_match: bool = False) -> list[str]:
    """Apply corrections; returns the names of the fields that changed (old values are never logged)."""
    changed: list[str] = []
    new_uic = None if values.get("uic_declined") else values.get("uic")
    if (storage.canonical_uic(new_uic, session) if new_uic else None) != client.uic:
        storage.set_uic(session, client, new_uic)
        changed.append("uic")
    for name in ("alias", "phone", "residence"):
        if values.get(name) != getattr(client, name):
            setattr(client, name, values.get(name))
            changed.append(name)
    for name in ("sex_gender", "outreach_source", "contact_preference"):
        if values.get(name) != getattr(client, name):
            setattr(client, name, values[name])
            changed.append(name)
    before = (client.birth_year, client.age_band)
    _apply_age(client, values.get("birth_year"), values.get("age_band", client.age_band))
    if before[0] != client.birth_year:
        changed.append("birth_year")
    if before[1] != client.age_band:
        changed.append("age_band")
    if changed:
        extra = {"uic_match_overridden": True} if overrode_match else {}
        _audit(session, "client.corrected", actor, client.id, fields=sorted(changed), **extra)
    return changed


def uic_changes(client: Client, raw: str | None) -> bool:
    """True when ``raw`` (None: declined) is a different UIC from the stored one."""
    new = storage.canonical_uic(raw, object_session(client)) if raw else None
    return bool(new) and new != client.uic


def uic_duplicates(session: Session, actor: User, client: Client, raw: str, where: str) -> tuple[list[str], int]:
    """Other records with the same UIC: (ids in the actor's caseload, how many elsewhere).

    The same check as registration; a match outside the caseload is logged against
    that record (``record_uic_probe``). A match is "possibly the same person": a
    human decides, nothing is merged.
    """
    matches = [m for m in storage.find_ids_by_uic(session, raw) if m != client.id]
    audit_uic_lookup(session, actor, where)
    mine = in_caseload(session, actor, matches)
    record_uic_probe(session, actor, [m for m in matches if m not in mine], where)
    return sorted(mine), len(matches) - len(mine)


def correct_note(session: Session, actor: User, client: Client, note: CaseNote, body: str) -> list[str]:
    """Correct a case note's text; audited with the note id and field name only."""
    if note.client_id != client.id:
        raise ClientError("not_found")
    if body == note.body:
        return []
    note.body = body
    _audit(session, "client.note_corrected", actor, client.id, note_id=note.id, fields=["body"])
    return ["body"]


def correct_follow_up(session: Session, actor: User, client: Client, follow_up: FollowUp, *, due_on: date,
                      description: str | None) -> list[str]:
    """Correct a follow-up's due date and description; audited with the id and field names only."""
    if follow_up.client_id != client.id:
        raise ClientError("not_found")
    changed = []
    if due_on != follow_up.due_on:
        follow_up.due_on = due_on
        changed.append("due_on")
    if description != follow_up.description:
        follow_up.description = description
        changed.append("description")
    if changed:
        _audit(session, "client.follow_up_corrected", actor, client.id, follow_up_id=follow_up.id,
               fields=sorted(changed))
    return changed


def correct_need_notes(session: Session, actor: User, client: Client, assessment: Assessment,
                       notes: dict[str, str | None]) -> int:
    """Correct the need notes of the client's latest assessment; earlier ones stay as history.

    The audit names the need rows by id, never by domain: which needs a client has
    says what the client is, and the audit log outlives erasure.
    """
    latest = latest_assessment(session, client.id)
    if latest is None or latest.id != assessment.id or set(notes) - set(vocab.NEED_DOMAINS):
        raise ClientError("not_latest_assessment")
    changed = [need for need in assessment.needs if need.domain in notes and notes[need.domain] != need.note]
    for need in changed:
        need.note = notes[need.domain]
    if changed:
        _audit(session, "client.assessment_corrected", actor, client.id, assessment_id=assessment.id,
               need_ids=sorted(n.id for n in changed), fields=["note"])
    return len(changed)


# --- assessments, notes, follow-ups ----------------------------------------------------------


def _require_active(session: Session, client: Client) -> None:
    if client.status != "open":
        raise ClientError("closed")
    if not consent_active(session, client.id, "registration"):
        raise ClientError("registration_consent_withdrawn")


def add_assessment(session: Session, actor: User, client: Client, *, assessed_on: date, eligible: bool,
                   needs: dict[str, tuple[str, str | None]]) -> Assessment:
    """A new dated assessment covering every need domain; earlier ones stay as history."""
    _require_active(session, client)
    if set(needs) != set(vocab.NEED_DOMAINS) or any(lv not in vocab.NEED_LEVELS for lv, _ in needs.values()):
        raise ClientError("bad_assessment")
    assessment = Assessment(client_id=client.id, assessed_on=assessed_on, assessed_by=actor.id,
                            eligible=eligible, created_at=clock.utcnow())
    assessment.summarise_needs({domain: level for domain, (level, _note) in needs.items()})
    session.add(assessment)
    session.flush()
    for domain, (level, note) in needs.items():
        need = AssessmentNeed(assessment_id=assessment.id, domain=domain, level=level)
        need.note = note
        assessment.needs.append(need)
    session.flush()
    _audit(session, "client.assessed", actor, client.id, assessment_id=assessment.id)
    return assessment


def latest_assessment(session: Session, client_id: str) -> Assessment | None:
    return session.scalars(
        select(Assessment).where(Assessment.client_id == client_id).order_by(*queries.LATEST_FIRST).limit(1)
    ).first()


def assessments(session: Session, client_id: str) -> list[Assessment]:
    return list(session.scalars(
        select(Assessment).where(Assessment.client_id == client_id).order_by(*queries.LATEST_FIRST)
    ))


def add_note(session: Session, actor: User, client: Client, body: str) -> CaseNote:
    _require_active(session, client)
    note = CaseNote(client_id=client.id, author_id=actor.id, created_at=clock.utcnow())
    note.body = body
    session.add(note)
    session.flush()
    _audit(session, "client.note_added", actor, client.id, note_id=note.id)
    return note


def add_follow_up(session: Session, actor: User, client: Client, *, due_on: date,
                  description: str | None) -> FollowUp:
    _require_active(session, client)
    follow_up = FollowUp(client_id=client.id, created_by=actor.id, due_on=due_on, created_at=clock.utcnow())
    follow_up.description = description
    session.add(follow_up)
    session.flush()
    _audit(session, "client.follow_up_added", actor, client.id, follow_up_id=follow_up.id)
    return follow_up


def complete_follow_up(session: Session, actor: User, client: Client, follow_up: FollowUp) -> None:
    if follow_up.client_id != client.id or follow_up.done_at is not None:
        raise ClientError("follow_up_done")
    follow_up.done_at = clock.utcnow()
    follow_up.done_by = actor.id
    _audit(session, "client.follow_up_done", actor, client.id, follow_up_id=follow_up.id)


# --- close, reopen ----------------------------------------------------------------------------


def close_client(session: Session, actor: User, client: Client, reason: str) -> None:
    if client.status != "open":
        raise ClientError("already_closed")
    if reason not in vocab.CLOSE_REASONS:
        raise ClientError("bad_reason")
    client.status, client.close_reason, client.closed_at = "closed", reason, clock.utcnow()
    # Not the reason: "deceased" or "reintegrated" is a fact about the person, and the log outlives erasure.
    _audit(session, "client.closed", actor, client.id)


def reopen_client(session: Session, actor: User, client: Client) -> None:
    if client.status != "closed":
        raise ClientError("already_open")
    if not consent_active(session, client.id, "registration"):
        raise ClientError("registration_consent_withdrawn")
    client.status, client.close_reason, client.closed_at = "open", None, None
    _audit(session, "client.reopened", actor, client.id)


# --- erasure ------------------------------------------------------------------------------------


def erase_client(session: Session, client_id: str, *, actor: User | None, reason: str) -> None:
    """Hard-delete the client and everything that hangs off it (ON DELETE CASCADE).

    Only an audit event remains, holding the client's random id and the reason
    code. On SQLite every connection zeroes freed pages (``secure_delete`` in
    casework.db) so the ciphertext does not linger in the file; call
    ``compact_after_erasure`` after the commit to flush the write-ahead log as well.
    """
    for obj in list(session):  # loaded rows of this client must not be flushed back
        if isinstance(obj, _CLIENT_ROWS):
            session.expunge(obj)
    session.execute(delete(Client).where(Client.id == client_id))
    _audit(session, "client.erased", actor, client_id, reason=reason)


_CLIENT_ROWS = (Client, ClientAssignment, Consent, Assessment, AssessmentNeed, CaseNote, FollowUp)


def compact_after_erasure(engine: Engine) -> None:
    """SQLite: copy the WAL into the database and truncate it, so erased pages leave the log."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


# --- views and access history -----------------------------------------------------------------------


def record_view(session: Session, actor: User, client: Client, page: str) -> None:
    _audit(session, "client.viewed", actor, client.id, page=page)


@dataclass
class AccessEntry:
    at: datetime  # the latest of a folded run
    action: str
    actor_name: str | None
    actor_role: str | None
    count: int = 1
    first_at: datetime | None = None  # the earliest of a folded run


@dataclass
class AccessHistory:
    others: list[AccessEntry]  # what anyone but the viewer did, newest first, one row each
    own: list[AccessEntry]  # the viewer's own, newest first, consecutive repeats of one action folded
    window: int  # how many of the newest events were read


HISTORY_WINDOW = 200


def access_history(session: Session, client_id: str, viewer_id: str | None = None,
                   limit: int = HISTORY_WINDOW) -> AccessHistory:
    """Who read or changed the record, from the newest ``limit`` audit events: others' access first
    (what the owner most needs to see), then the viewer's own, with runs of the same action folded."""
    rows = session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.actor_role, AuditEvent.actor_id,
               User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == "client", AuditEvent.object_id == client_id)
        .order_by(AuditEvent.id.desc()).limit(limit)
    ).all()
    others: list[AccessEntry] = []
    own: list[AccessEntry] = []
    for r in rows:
        at = datetime.strptime(r.occurred_at, "%Y-%m-%dT%H:%M:%S.%fZ")
        if viewer_id is None or r.actor_id != viewer_id:
            others.append(AccessEntry(at, r.action, r.display_name, r.actor_role))
        elif own and own[-1].action == r.action:
            own[-1].count += 1
            own[-1].first_at = at
        else:
            own.append(AccessEntry(at, r.action, r.display_name, r.actor_role, 1, at))
    return AccessHistory(others, own, limit)


# --- caseload -------------------------------------------------------------------------------------


@dataclass
class CaseloadRow:
    client: Client
    open_needs: list[NeedState]  # the latest assessment's needs not met yet, with their state
    last_contact: datetime | None
    co_assigned: bool


CASELOAD_PAGE = 30


@dataclass
class CaseloadPage:
    rows: list[CaseloadRow]
    page: int
    has_next: bool
    total: int


def caseload(session: Session, user: User, *, page: int = 1, per_page: int = CASELOAD_PAGE) -> CaseloadPage:
    """A page of the user's clients, open first and newest first, with current needs and last contact
    (a few queries on that page's clients only, no decryption), and how many there are in all."""
    clients, has_next = page_of(session, select(Client).where(caseload_filter(user.id))
                                .order_by(Client.status.desc(), Client.registered_at.desc(), Client.id),
                                page=page, per_page=per_page)
    ids = [c.id for c in clients]
    states = need_states(session, ids)
    needs = {cid: [n for n in items if n.still_needed] for cid, items in states.items()}
    contacts = last_contacts(session, ids)
    total = session.scalar(select(func.count()).select_from(Client).where(caseload_filter(user.id))) or 0
    return CaseloadPage([CaseloadRow(c, needs.get(c.id, []), contacts.get(c.id), c.owner_id != user.id)
                         for c in clients], page, has_next, total)


def open_needs(session: Session, client_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Needs at level some/urgent in each client's latest assessment, urgent first."""
    if not client_ids:
        return {}
    rows = session.execute(queries.open_need_rows(queries.latest_assessments(client_ids=client_ids))).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for client_id, domain, level in rows:
        found.setdefault(client_id, []).append((domain, level))
    order = list(vocab.NEED_DOMAINS)
    for items in found.values():
        items.sort(key=lambda item: (item[1] != "urgent", order.index(item[0]) if item[0] in order else 99))
    return found


def last_contacts(session: Session, client_ids: list[str]) -> dict[str, datetime]:
    """The latest note, assessment or completed follow-up per client."""
    if not client_ids:
        return {}
    events = union_all(
        select(CaseNote.client_id.label("cid"), CaseNote.created_at.label("at"))
        .where(CaseNote.client_id.in_(client_ids)),
        select(Assessment.client_id, Assessment.created_at).where(Assessment.client_id.in_(client_ids)),
        select(FollowUp.client_id, FollowUp.done_at)
        .where(FollowUp.client_id.in_(client_ids), FollowUp.done_at.is_not(None)),
    ).subquery()
    rows = session.execute(select(events.c.cid, func.max(events.c.at)).group_by(events.c.cid)).all()
    return {cid: at for cid, at in rows if at is not None}


@dataclass
class OverduePage:
    rows: list[tuple[date, str, str]]  # (due on, client id, client display code)
    page: int
    has_next: bool
    total: int


def overdue_follow_ups(session: Session, user: User, *, page: int = 1, per_page: int = CASELOAD_PAGE) -> OverduePage:
    """The caseload's open follow-ups past their date, the longest overdue first: a page of them
    (dates and display codes only, nothing decrypted) and how many there are."""
    today = clock.local_today()
    condition = (caseload_filter(user.id), FollowUp.done_at.is_(None), FollowUp.due_on < today,
                 Client.status == "open")
    rows, has_next = page_of(session, select(FollowUp.due_on, Client.id, Client.display_code)
                             .join(Client, Client.id == FollowUp.client_id).where(*condition)
                             .order_by(FollowUp.due_on, FollowUp.id), page=page, per_page=per_page, scalars=False)
    total = session.scalar(select(func.count()).select_from(FollowUp).join(Client, Client.id == FollowUp.client_id)
                           .where(*condition)) or 0
    return OverduePage(rows, page, has_next, total)


def find_in_caseload(session: Session, user: User, query: str) -> tuple[Client | None, int]:
    """By display code, else by UIC: (the client in the caseload or None, matches outside it)."""
    code = normalise_display_code(query)
    if code is not None:
        client = session.scalars(select(Client).where(Client.display_code == code, caseload_filter(user.id))).first()
        if client is not None:
            return client, 0
    ids = storage.find_ids_by_uic(session, query)
    audit_uic_lookup(session, user, "search")
    if not ids:
        return None, 0
    mine_ids = in_caseload(session, user, ids)
    others = [i for i in ids if i not in mine_ids]
    record_uic_probe(session, user, others, "search")
    mine = session.get(Client, sorted(mine_ids)[0]) if mine_ids else None
    return mine, len(others)


def audit_uic_lookup(session: Session, actor: User, where: str) -> None:
    """Every lookup by UIC, whatever it found: one row by the person, the same for a hit and a miss
    (what it matched is logged against the matched records, see ``record_uic_probe``)."""
    record(session, "client.uic_lookup", actor_id=actor.id, actor_role=actor.role, object_type="user",
           object_id=actor.id, details={"page": where})


def record_uic_probe(session: Session, actor: User, client_ids: list[str], where: str) -> None:
    """A UIC typed by someone matched records outside their caseload: log it against each record.

    Telling a worker "this UIC is known elsewhere" is by design (duplicates must be
    found), but it reveals that someone is in the programme; so every such answer
    shows in the access history of the records it was about.
    """
    for client_id in client_ids:
        _audit(session, "client.uic_matched", actor, client_id, page=where)


def normalise_display_code(raw: str) -> str | None:
    """``kh 7q2k 9xdm``, ``KH7Q2K9XDM`` or ``KH-7Q2K-9XDO`` → ``KH-7Q2K-9XD0`` (Crockford reading); else None."""
    text = "".join(ch for ch in raw.upper() if ch.isalnum())
    if not (text.startswith("KH") and len(text) == 10 and text.isascii()):
        return None
    body = text[2:].translate(str.maketrans("OIL", "011"))
    if any(ch not in codes.ALPHABET for ch in body):
        return None
    return f"KH-{body[:4]}-{body[4:]}"


# --- admin: moving caseloads (display codes and counts only) ------------------------------------


def collaborators(session: Session) -> list[tuple[User, int]]:
    """Active and inactive collaborators with the number of clients each owns."""
    counts = {owner: n for owner, n in session.execute(select(Client.owner_id, func.count())
                                                        .group_by(Client.owner_id))}
    users = session.scalars(select(User).where(User.role == "collaborator").order_by(User.display_name))
    return [(u, counts.get(u.id, 0)) for u in users]


def move_caseload(session: Session, approver: User, from_id: str, target: User, *, change: str) -> int:
    """Move every client ``from_id`` owns now to ``target`` (an approved access change); returns how many."""
    moved = list(session.scalars(select(Client).where(Client.owner_id == from_id)))
    for client in moved:
        _move(session, client, target)
    record(session, "client.caseload_reassigned", actor_id=approver.id, actor_role=approver.role,
           object_type="user", object_id=from_id, details={"to_user": target.id, "count": len(moved),
                                                           "change": change})
    for client in moved:
        _audit(session, "client.reassigned", approver, client.id, to_user=target.id, from_user=from_id,
               change=change)
    return len(moved)


def _move(session: Session, client: Client, target: User) -> None:
    client.owner_id = target.id
    session.execute(delete(ClientAssignment).where(ClientAssignment.client_id == client.id,
                                                   ClientAssignment.user_id == target.id))


def move_client(session: Session, approver: User, client: Client, target: User, *, change: str) -> None:
    """Give one client to ``target`` (an approved access change)."""
    source = client.owner_id
    _move(session, client, target)
    _audit(session, "client.reassigned", approver, client.id, to_user=target.id, from_user=source, change=change)


@dataclass
class OpenRequest:
    id: str
    requested_at: datetime
    client_id: str
    display_code: str
    requester: User


def open_requests_query() -> Select[Any]:
    """Requests for the administrator to handle: open, not sent for approval (or its change was
    withdrawn or lapsed), from an active collaborator who is neither the owner nor co-assigned yet.
    Oldest first: the one waiting longest is handled first."""
    change_done = select(AccessChange.id).where(
        AccessChange.id == CoassignRequest.change_id, AccessChange.status.in_(("pending", "approved", "refused")))
    assigned = select(ClientAssignment.client_id).where(
        ClientAssignment.client_id == CoassignRequest.client_id,
        ClientAssignment.user_id == CoassignRequest.requester_id)
    return (
        select(CoassignRequest.id, CoassignRequest.requested_at, Client.id, Client.display_code, User)
        .join(Client, Client.id == CoassignRequest.client_id).join(User, User.id == CoassignRequest.requester_id)
        .where(CoassignRequest.status == "open", User.active.is_(True), Client.owner_id != User.id,
               ~change_done.exists(), ~assigned.exists())
        .order_by(CoassignRequest.requested_at, CoassignRequest.id)
    )


def open_coassign_requests(session: Session, *, page: int, per_page: int) -> tuple[list[OpenRequest], bool]:
    rows, more = page_of(session, open_requests_query(), page=page, per_page=per_page, scalars=False)
    return [OpenRequest(*row) for row in rows], more


def open_coassign_request(session: Session, request_id: str) -> OpenRequest | None:
    row = session.execute(open_requests_query().where(CoassignRequest.id == request_id)).first()
    return OpenRequest(*row) if row is not None else None


def co_assign(session: Session, approver: User, client: Client, target: User, *, change: str) -> None:
    """Let ``target`` also reach ``client`` (an approved access change)."""
    session.add(ClientAssignment(client_id=client.id, user_id=target.id))
    session.execute(update(CoassignRequest).where(
        CoassignRequest.client_id == client.id, CoassignRequest.requester_id == target.id,
        CoassignRequest.status == "open").values(status="granted", closed_at=clock.utcnow()))
    _audit(session, "client.coassigned", approver, client.id, user=target.id, change=change)


@dataclass
class CoAssignment:
    client_id: str
    display_code: str
    user: User


def co_assignments(session: Session) -> list[CoAssignment]:
    """Every co-assignment, by display code (for the admin screen: codes and names only)."""
    rows = session.execute(
        select(ClientAssignment.client_id, Client.display_code, User)
        .join(Client, Client.id == ClientAssignment.client_id).join(User, User.id == ClientAssignment.user_id)
        .order_by(Client.display_code, User.display_name)
    ).all()
    return [CoAssignment(client_id, code, user) for client_id, code, user in rows]


def remove_coassignment(session: Session, actor: User, client: Client, user_id: str) -> None:
    """End a collaborator's co-assignment (the owner's or an admin's decision); audited with ids only."""
    assignment = session.get(ClientAssignment, (client.id, user_id))
    if assignment is None:
        raise ClientError("not_coassigned")
    client.co_assignees.remove(assignment)
    session.flush()
    _audit(session, "client.coassignment_removed", actor, client.id, user=user_id)


# --- access sheet (client rights) -------------------------------------------------------------------


@dataclass
class AccessSheet:
    """Every row held about one client, for the printable access-request sheet."""

    consents: list[Consent]
    assessments: list[Assessment]
    notes: list[CaseNote]
    follow_ups: list[FollowUp]
    assignments: list[ClientAssignment]
    referrals: list[Any]
    user_ids: list[str]


def access_sheet(session: Session, client: Client) -> AccessSheet:
    consents = list(session.scalars(select(Consent).where(Consent.client_id == client.id)
                                    .order_by(Consent.given_on, Consent.created_at)))
    notes = list(session.scalars(select(CaseNote).where(CaseNote.client_id == client.id)
                                 .order_by(CaseNote.created_at)))
    follow_ups = list(session.scalars(select(FollowUp).where(FollowUp.client_id == client.id)
                                      .order_by(FollowUp.due_on)))
    history = assessments(session, client.id)
    referrals = client_referrals(session, client.id)
    users = {client.owner_id, *(a.user_id for a in client.co_assignees)}
    users |= {c.recorded_by for c in consents} | {c.withdrawn_by for c in consents if c.withdrawn_by}
    users |= {a.assessed_by for a in history} | {n.author_id for n in notes}
    users |= {f.created_by for f in follow_ups} | {f.done_by for f in follow_ups if f.done_by}
    users |= {r.referred_by for r, _ in referrals}
    return AccessSheet(consents, history, notes, follow_ups, list(client.co_assignees), referrals, sorted(users))


def client_referrals(session: Session, client_id: str) -> list[tuple[Any, str]]:
    """(referral, service name) rows for the client, oldest first."""
    from casework.directory.models import Service
    from casework.referrals.models import Referral

    return list(session.execute(
        select(Referral, Service.name).join(Service, Service.id == Referral.service_id)
        .where(Referral.client_id == client_id).order_by(Referral.created_at)
    ).all())
