"""`casework demo-data`: fictional clients at scale, stored and audited as the screens store them.

Most tests run the command in-process (click's CliRunner) on the test database, SQLite or
PostgreSQL; one smoke test runs it as a real process.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import Counter
from datetime import timedelta

import pytest
from click.testing import CliRunner
from conftest import BACKEND, pg_database, raw_database_bytes, run_casework
from sqlalchemy import func, select

import casework.models  # noqa: F401  (every mapper)
from casework import clock as clock_module
from casework import migrate, vocab
from casework.audit import AuditEvent, verify
from casework.auth.models import User
from casework.cli import cli
from casework.clients import services as client_services
from casework.clients.models import Assessment, AssessmentNeed, CaseNote, Client, Consent, FollowUp, need_flags
from casework.clients.storage import find_ids_by_uic
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database, make_engine
from casework.demo_data import generate
from casework.directory.models import Service
from casework.errors import ConfigError
from casework.referrals import lifecycle
from casework.referrals.models import Referral, ReferralEvent, ReferralRead

CLIENTS = 400
SEED = 7
TABLES = {"clients": Client, "consents": Consent, "assessments": Assessment, "assessment_needs": AssessmentNeed,
          "case_notes": CaseNote, "follow_ups": FollowUp, "referrals": Referral, "referral_events": ReferralEvent,
          "referral_reads": ReferralRead, "users": User, "audit_events": AuditEvent}


def _env(settings, mode: str = "development") -> dict[str, str | None]:
    """The test's instance for the in-process command, and no other CASEWORK_* setting from outside."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CASEWORK_")}
    return env | {"CASEWORK_MODE": mode, "CASEWORK_INSTANCE_PATH": str(settings.instance_path),
                  "CASEWORK_KEYS_DIR": str(settings.keys_dir), "CASEWORK_DATABASE_URL": settings.database_url}


def _run(settings, *args: str, mode: str = "development"):
    return CliRunner().invoke(cli, list(args), env=_env(settings, mode))


@pytest.fixture
def generated(settings, database) -> str:
    """Given an empty database filled by `casework demo-data --clients 400 --seed 7`; its output."""
    result = _run(settings, "demo-data", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _local_day(moment):
    return (moment + clock_module.LOCAL_ZONE.utcoffset(moment)).date()


# --- what was written, as reported -----------------------------------------------------------------


def test_the_reported_counts_are_what_the_database_holds(generated, database):
    # When the command has run, Then every row count it printed is the count in the database
    reported = dict(re.findall(r"(\w+) ([\d,]+)", re.search(r"rows: (.*)", generated).group(1)))
    assert set(reported) == set(TABLES)
    with database.transaction() as session:
        held = {name: _count(session, model) for name, model in TABLES.items()}
    assert {name: int(n.replace(",", "")) for name, n in reported.items()} == held
    # And the shape asked for: 400 clients, about 3 referrals each, accounts and a password printed once
    assert held["clients"] == CLIENTS
    assert 2.5 * CLIENTS <= held["referrals"] <= 3.5 * CLIENTS
    password = re.search(r"the same password for each: (\S+)\)", generated).group(1)
    assert generated.count(password) == 1
    assert "CASEWORK_REQUIRE_2FA=false" in generated


def test_accounts_are_ready_demo_accounts_with_uneven_caseloads(generated, database):
    with database.transaction() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        owned = Counter(session.scalars(select(Client.owner_id)))
        serving = {s.organisation_id for s in session.scalars(select(Service).where(Service.status == "active"))}
    collaborators = [u for name, u in users.items() if name.startswith("demo.ctv")]
    # Then one collaborator per 500 clients (at least 2), each with clients, in caseloads of different sizes
    assert len(collaborators) == 2 and len({owned[u.id] for u in collaborators}) == 2
    assert sum(owned[u.id] for u in collaborators) == CLIENTS
    # And one provider for every organisation that offers a service, a supervisor and an administrator
    assert {u.organisation_id for u in users.values() if u.role == "provider"} == serving
    assert users["demo.giamsat"].role == "supervisor" and users["demo.quantri"].role == "admin"
    # And none has to change its password or has a second factor yet
    assert all(not u.must_change_password and u.totp_secret_enc is None for u in users.values())


def test_with_enough_collaborators_one_carries_a_hotspot_caseload(database, clock):
    # When 600 clients are shared among ten collaborators
    summary = generate(database, clients=600, seed=3, collaborators=10, now=clock.now)
    loads = summary.caseloads
    others = [n for name, n in loads.items() if name != "demo.ctv001"]
    # Then demo.ctv001 has several times the others' caseload, and theirs differ
    assert set(loads) == {f"demo.ctv{n:03d}" for n in range(1, 11)} and sum(loads.values()) == 600
    assert loads["demo.ctv001"] > 2.5 * max(others) and len(set(others)) > 5


# --- encryption -----------------------------------------------------------------------------------------


def test_every_encrypted_value_decrypts_through_the_orm_and_none_is_stored_in_clear(generated, database,
                                                                                   database_url, app):
    primary = app.extensions["casework"].keyring.primary_id
    with database.transaction() as session:
        clients = session.scalars(select(Client)).all()
        # When every encrypted attribute is read through the models
        plain = {(c.id, name): getattr(c, name) for c in clients
                 for name in ("uic", "alias", "phone", "birth_year", "residence")}
        needs = [n.note for n in session.scalars(select(AssessmentNeed).where(AssessmentNeed.note_enc.is_not(None)))]
        bodies = [n.body for n in session.scalars(select(CaseNote))]
        descriptions = [f.description for f in session.scalars(select(FollowUp))]
        referrals = session.scalars(select(Referral)).all()
        notes = [r.note_to_receiver for r in referrals if r.note_to_receiver_enc]
        feedback = [lifecycle.feedback_notes(r) for r in referrals if r.feedback_enc]
        outcomes = [r.outcome for r in referrals if r.outcome_enc] + [r.reason for r in referrals if r.reason_enc]
        tokens = [c.uic_enc for c in clients if c.uic_enc] + [r.feedback_enc for r in referrals if r.feedback_enc]
    # Then each decrypts (a failure would raise), in the stored form under the primary key
    assert all(t.startswith(f"cw1.{primary}.") for t in tokens)
    for texts in (needs, bodies, notes, outcomes):
        assert texts and all(t.endswith(("(demo)", "(demo).")) for t in texts)
    assert descriptions and all(d is None or d.endswith("(demo)") for d in descriptions)
    # And feedback is the provider's dated list of notes, written by a provider account
    assert feedback and all(n.at is not None and n.by and n.text.endswith("(demo).") for f in feedback for n in f)
    # And no UIC, alias, phone or fictional text can be found in the raw bytes of the database
    raw = raw_database_bytes(database_url)
    secrets_held = {v for (_cid, name), v in plain.items() if v and name in ("uic", "alias", "phone")}
    assert len(secrets_held) > CLIENTS
    assert not [v for v in secrets_held if v.encode() in raw]
    assert b"(demo)" not in raw


def test_a_uic_typed_by_hand_finds_its_client_and_its_deliberate_twins(generated, database):
    with database.transaction() as session:
        clients = [c for c in session.scalars(select(Client)) if c.uic]
        declined = _count(session, Client) - len(clients)
        by_uic: dict[str, set[str]] = {}
        for c in clients:
            by_uic.setdefault(c.uic, set()).add(c.id)
        # When a worker types a stored UIC in lower case with spaces
        for uic, ids in list(by_uic.items())[:50]:
            typed = f"{uic[:2].lower()} {uic[2:4].lower()} {uic[4:8]} {uic[8:].lower()}"
            # Then exactly the clients with that UIC are found
            assert set(find_ids_by_uic(session, typed)) == ids
        # And a UIC two clients share (about 1% are registered with an earlier client's UIC) finds both
        twins = {uic: ids for uic, ids in by_uic.items() if len(ids) > 1}
        assert twins
        for uic, ids in twins.items():
            assert set(find_ids_by_uic(session, uic.lower())) == ids
    # And about a tenth declined a UIC; the UICs have the default form: initials, birth year, sex code
    assert 0.05 * CLIENTS <= declined <= 0.15 * CLIENTS
    assert all(re.fullmatch(r"[A-Z]{4}\d{4}[FMTX]", uic) for uic in by_uic)


# --- the referral lifecycle --------------------------------------------------------------------------------


def test_every_referral_history_is_a_walk_through_the_lifecycle_table(generated, database):
    with database.transaction() as session:
        referrals = {r.id: r for r in session.scalars(select(Referral))}
        events: dict[str, list[ReferralEvent]] = {}
        for e in session.scalars(select(ReferralEvent).order_by(ReferralEvent.at)):
            events.setdefault(e.referral_id, []).append(e)
        audited = Counter((a.object_id, a.action) for a in session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "referral")))
        feedback_at = {r.id: {n.at for n in lifecycle.feedback_notes(r)} for r in referrals.values()}
    for referral in referrals.values():
        history = events[referral.id]
        # Then each history starts with the referrer's request and every change is one the table allows
        assert (history[0].from_status, history[0].to_status, history[0].actor_id) == (
            None, "requested", referral.referred_by)
        for before, after in itertools.pairwise(history):
            assert after.from_status == before.to_status
            assert (after.from_status, after.to_status) in lifecycle.TABLE
        # And the referral is where its history ends, with the reason of its last change
        assert history[-1].to_status == referral.status
        if referral.status == "completed":
            assert history[-1].reason_code == referral.business_status
        elif referral.status in lifecycle.REASON_LISTS:
            assert history[-1].reason_code == referral.reason_code
        # And every change has its audit entry, and its version counts every update
        for to, n in Counter(e.to_status for e in history[1:]).items():
            assert audited[referral.id, f"referral.{to}"] == n
        assert audited[referral.id, "referral.created"] == 1
        # (a feedback note sent with a change of status is part of that change's update)
        with_change = sum(1 for e in history[1:] if e.at in feedback_at[referral.id])
        assert referral.version == len(history) + audited[referral.id, lifecycle.FEEDBACK_ACTION] - with_change
    statuses = Counter(r.status for r in referrals.values())
    # And every status occurs: most closed, a few still open, some expired, a few entered in error
    assert set(statuses) == set(vocab.REFERRAL_STATUSES)
    assert statuses["completed"] > 0.4 * len(referrals)
    assert {r.reason_code for r in referrals.values() if r.status == "cancelled"} >= {"expired",
                                                                                      "withdrawn-by-referrer"}


def test_referrals_go_to_services_for_the_clients_needs_with_the_services_deadlines(generated, database):
    with database.transaction() as session:
        services = {s.id: s for s in session.scalars(select(Service))}
        rows = session.scalars(select(Referral)).all()
        needs: dict[str, set[str]] = {}
        for client_id, domain in session.execute(
                select(Assessment.client_id, AssessmentNeed.domain).join(AssessmentNeed)
                .where(AssessmentNeed.level != "none")):
            needs.setdefault(client_id, set()).add(domain)
    for r in rows:
        service, day = services[r.service_id], _local_day(r.created_at)
        # Then need and organisation are copied from an active service, for a need the client was assessed with
        assert service.status == "active" and (r.need_domain, r.organisation_id) == (
            service.need_domain, service.organisation_id)
        assert r.need_domain in needs[r.client_id]
        # And the due dates are the service's, the expiry the setting's (14 days)
        assert r.accept_due_on == day + timedelta(days=service.accept_within_days)
        assert r.complete_due_on == day + timedelta(days=service.complete_within_days)
        assert r.expires_on == day + timedelta(days=14)
    codes = [r.code for r in rows]
    assert len(set(codes)) == len(codes) and all(re.fullmatch(r"RF-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}", c) for c in codes)
    assert any(r.previous_referral_id for r in rows)  # "refer elsewhere" after one that did not work out


# --- time --------------------------------------------------------------------------------------------------


def test_timestamps_follow_each_other_and_none_is_in_the_future(generated, database, clock):
    now = clock.now
    with database.transaction() as session:
        clients = {c.id: c for c in session.scalars(select(Client))}
        for c in clients.values():
            assert c.registered_at <= c.created_at <= c.updated_at <= now
            assert c.closed_at is None or c.registered_at < c.closed_at <= now
        for r in session.scalars(select(Referral)):
            # created ≤ received ≤ accepted ≤ completed ≤ closed, after the client's registration
            stamps = [r.created_at, r.received_at, r.accepted_at, r.completed_at, r.closed_at]
            present = [s for s in stamps if s is not None]
            assert present == sorted(present) and clients[r.client_id].registered_at < r.created_at
            assert present[-1] <= r.updated_at <= now
        for a in session.scalars(select(Assessment)):
            registered = clients[a.client_id].registered_at
            assert registered < a.created_at <= now and _local_day(registered) <= a.assessed_on <= _local_day(now)
        for consent in session.scalars(select(Consent)):
            assert _local_day(clients[consent.client_id].registered_at) <= consent.given_on
            assert consent.withdrawn_on is None or consent.given_on <= consent.withdrawn_on <= _local_day(now)
        for f in session.scalars(select(FollowUp)):
            assert f.done_at is None or f.created_at < f.done_at <= now
        assert session.scalar(select(func.max(ReferralEvent.at))) <= now
        first = min(c.registered_at for c in clients.values())
    # And the history spans about 18 months: this calendar year and the one before both hold clients
    assert timedelta(days=500) < now - first < timedelta(days=560)
    assert {c.registered_at.year for c in clients.values()} >= {now.year - 1, now.year}


def test_withdrawn_consent_cancelled_the_open_referrals_and_nothing_followed(generated, database):
    with database.transaction() as session:
        withdrawn = {c.client_id: c.withdrawn_on for c in session.scalars(
            select(Consent).where(Consent.purpose == "registration", Consent.withdrawn_on.is_not(None)))}
        cancelled = session.execute(
            select(ReferralEvent.at, Referral.client_id).join(Referral)
            .where(ReferralEvent.reason_code == "client-withdrew-consent")).all()
        # Given clients who withdrew their registration consent, some of them with referrals under way
        assert withdrawn and cancelled
        for client_id, day in withdrawn.items():
            # Then none of their referrals is still open, and nothing was recorded after the withdrawal
            referrals = session.scalars(select(Referral).where(Referral.client_id == client_id)).all()
            assert all(r.status in vocab.TERMINAL_STATUSES for r in referrals)
            assert all(_local_day(r.created_at) <= day for r in referrals)
            later = [a for a in session.scalars(select(Assessment).where(Assessment.client_id == client_id))
                     if _local_day(a.created_at) > day]
            assert not later
            assert all(c.withdrawn_on == day for c in session.scalars(
                select(Consent).where(Consent.client_id == client_id)) if c.given_on <= day)
    assert all(_local_day(at) == withdrawn[client_id] for at, client_id in cancelled)


def test_assessments_carry_the_need_summary_the_reports_read(generated, database):
    with database.transaction() as session:
        assessments = session.scalars(select(Assessment)).all()
        # Then each assessment covers every need domain, and its summary is what its needs add up to
        for a in assessments:
            levels = {n.domain: n.level for n in a.needs}
            assert set(levels) == set(vocab.NEED_DOMAINS)
            assert {name: getattr(a, name) for name in need_flags(levels)} == need_flags(levels)
    assert Counter(a.needs_hr for a in assessments)[True] > len(assessments) / 2


def test_minors_are_flagged_and_assessed_for_child_protection(generated, database):
    with database.transaction() as session:
        minors = session.scalars(select(Client).where(Client.is_minor.is_(True))).all()
        protected = set(session.scalars(
            select(Assessment.client_id).join(AssessmentNeed)
            .where(AssessmentNeed.domain == "child_protection", AssessmentNeed.level != "none")))
        bands = Counter(session.scalars(select(Client.age_band)))
        for c in minors:
            # Then a minor's band is under 18, its birth year (when given) says so, and it has the need
            assert c.age_band == "lt18" and c.id in protected
            assert c.birth_year is None or clock_module.local_today().year - int(c.birth_year) < 18
    assert 0 < len(minors) < 0.08 * CLIENTS
    assert bands.most_common(1)[0][0] == "25-34"


# --- the audit chain ---------------------------------------------------------------------------------------


def test_the_audit_chain_holds_and_grows_in_time_order(generated, settings, database, clock):
    with database.transaction() as session:
        # Then the whole chain verifies
        assert verify(session) is None
        rows = session.execute(select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.object_id)
                               .order_by(AuditEvent.id)).all()
        client_ids = set(session.scalars(select(Client.id)))
    # And the rows follow each other in time, none after now
    times = [r.occurred_at for r in rows]
    assert times == sorted(times) and times[-1] <= clock.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # And every client was registered and opened, and each action is one the services write
    actions = Counter(r.action for r in rows)
    assert {r.object_id for r in rows if r.action == "client.registered"} == client_ids
    expected = {"admin.user_created", "client.registered", "client.viewed", "client.uic_matched",
                "client.consent_recorded", "client.consent_withdrawn", "client.assessed", "client.note_added",
                "client.follow_up_added", "client.follow_up_done", "client.closed", "client.age_band_updated",
                "referral.created", "referral.slip_viewed", "referral.viewed", lifecycle.FEEDBACK_ACTION,
                *(f"referral.{s}" for s in vocab.REFERRAL_STATUSES if s != "requested")}
    assert set(actions) <= expected and actions["client.uic_matched"] > 0
    # And `casework audit verify` agrees
    result = _run(settings, "audit", "verify")
    assert result.exit_code == 0 and result.output.startswith("OK")


def test_audit_details_and_client_versions_are_those_of_the_services(generated, database):
    with database.transaction() as session:
        owner = session.scalars(select(User).where(User.username == "demo.ctv001")).one()
        # Given one more client registered through the service layer, as the registration screen does
        typed = client_services.register_client(session, owner, client_services.Registration(
            consent_method="verbal", consent_date=clock_module.local_today(), uic="Hà Mi 1990 f",
            sex_gender="female", birth_year="1990", age_band="unknown", outreach_source="street",
            contact_preference="sms", share_consent=True))
        typed_id = typed.id
    # (audit rows are written when the transaction commits: read them in the next one)
    with database.transaction() as session:
        typed = session.get(Client, typed_id)
        version = typed.version
        details = {a.object_id: json.loads(a.details) for a in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "client.registered"))}
        generated_versions = session.execute(select(Client.version, Client.status).where(Client.id != typed.id)).all()
        created = [json.loads(d) for d in session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "referral.created"))]
        changes = [json.loads(d) for d in session.scalars(
            select(AuditEvent.details).where(AuditEvent.action.like("referral.%"),
                                             AuditEvent.action.not_in(("referral.created", "referral.viewed",
                                                                       "referral.slip_viewed",
                                                                       lifecycle.FEEDBACK_ACTION))))]
    # Then the generated audit entries have the same details, and a client not changed since has its version
    assert {tuple(sorted(d)) for d in details.values()} == {tuple(sorted(details[typed.id]))}
    assert Counter(v for v, status in generated_versions if status == "open").most_common(1)[0][0] == version == 2
    assert {tuple(sorted(d)) for d in created} == {("previous_referral_id", "share_phone")}
    assert {tuple(sorted(d)) for d in changes} == {("from", "to")}


# --- determinism -------------------------------------------------------------------------------------------


@pytest.fixture
def second_database_url(tmp_path):
    """A second, empty, migrated database on the same engine as the test database."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    with pg_database("demo") as url:
        yield url


def _fingerprint(database: Database) -> tuple:
    """Categorical data and dates, in registration order: everything but random ids, codes and nonces."""
    with database.transaction() as session:
        clients = session.execute(
            select(Client.registered_at, Client.sex_gender, Client.age_band, Client.outreach_source,
                   Client.contact_preference, Client.status, Client.close_reason, Client.uic_declined,
                   Client.is_minor, Client.version, User.username)
            .join(User, User.id == Client.owner_id).order_by(Client.registered_at)).all()
        referrals = session.execute(
            select(Referral.created_at, Referral.need_domain, Referral.status, Referral.reason_code,
                   Referral.business_status, Referral.urgency, Referral.closed_at, Referral.version)
            .order_by(Referral.created_at)).all()
        actions = Counter(session.scalars(select(AuditEvent.action)))
    return clients, referrals, actions


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(settings, database, second_database_url,
                                                                     clock):
    keyring = Keyring.load(settings.keys_dir, allow_example=False)
    other = Database(second_database_url, FieldCipher(keyring), BlindIndexer(keyring, 10))
    try:
        # When the same seed fills two empty databases (in chunks of different sizes)
        first = generate(database, clients=250, seed=11, now=clock.now)
        second = generate(other, clients=250, seed=11, now=clock.now, chunk_size=64)
        # Then the categorical data, dates and assignments are the same, though codes and ciphertexts differ
        assert first.facts == second.facts and first.rows == second.rows
        assert _fingerprint(database) == _fingerprint(other)
        with database.transaction() as a, other.transaction() as b:
            assert set(a.scalars(select(Client.display_code))).isdisjoint(b.scalars(select(Client.display_code)))
        # When another seed adds clients to the second database, Then they differ from the first run's
        third = generate(other, clients=250, seed=12, now=clock.now)
        assert third.facts != first.facts
        assert third.created == [] and third.password is None  # the demo accounts of the first run are reused
    finally:
        other.dispose()


# --- refusals and the real command ----------------------------------------------------------------------


def test_production_mode_is_refused_before_anything_is_written(settings, database):
    with database.transaction() as session:
        before = _count(session, AuditEvent), _count(session, User)
    # When the command is run in production mode
    result = _run(settings, "demo-data", "--clients", "10", mode="production")
    # Then it refuses, naming the mode, and the database is untouched
    assert isinstance(result.exception, ConfigError) and "production" in str(result.exception)
    with database.transaction() as session:
        assert (_count(session, AuditEvent), _count(session, User)) == before


def test_the_command_as_an_operator_runs_it(settings, database):
    # When an operator runs it in production mode, Then it refuses in one line, without a traceback
    refused = run_casework(settings, "demo-data", "--clients", "5")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "casework: demo-data is for development and demo mode only; it refuses CASEWORK_MODE=production"]
    # When they run it in development mode
    done = run_casework(settings, "demo-data", "--clients", "30", "--collaborators", "3", CASEWORK_MODE="development")
    # Then it reports progress, the counts, the time taken and the accounts with their one password
    assert done.returncode == 0, done.stderr
    assert "30/30 clients written" in done.stdout
    assert re.search(r"added 30 fictional clients .* in [\d.]+ s", done.stdout)
    assert "demo.ctv001 … demo.ctv003  collaborator" in done.stdout
    with database.transaction() as session:
        assert _count(session, Client) == 30 and verify(session) is None


def test_the_read_marks_agree_with_the_audit_log(generated, database):
    """Unread feedback from the marks is what the audit log says: feedback written after the
    referrer's last opening of the referral (the rule migration 0009 carried over)."""
    from casework.referrals.services import unread_feedback_condition

    with database.transaction() as session:
        written, read = {}, {}
        for referral_id, actor_id, action, event_id in session.execute(
                select(AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.action, AuditEvent.id)
                .where(AuditEvent.object_type == "referral",
                       AuditEvent.action.in_(("referral.feedback_sent", "referral.viewed")))):
            if action == "referral.feedback_sent":
                written[referral_id] = event_id
            else:
                read[(referral_id, actor_id)] = event_id
        referrers = dict(session.execute(select(Referral.id, Referral.referred_by)).all())
        expected = {r for r, last in written.items() if last > read.get((r, referrers[r]), 0)}
        marked = set()
        for referrer in set(referrers.values()):
            marked |= set(session.scalars(select(Referral.id).where(
                Referral.referred_by == referrer, unread_feedback_condition(referrer))))
    assert written and expected and marked == expected
