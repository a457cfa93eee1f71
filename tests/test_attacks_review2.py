"""The second adversarial review: each finding performed as the attacker would, asserting what
they now observe. (The first review's findings are in tests/test_attacks.py.)"""

from __future__ import annotations

import stat

import pytest
from conftest import BACKEND, run_casework

from casework.db import make_engine
from casework.errors import DatabaseUnavailable

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="about the SQLite file on disk")


# --- the database file on disk ------------------------------------------------------------------------


@sqlite_only
def test_a_new_sqlite_database_and_its_log_are_readable_by_their_owner_only(tmp_path):
    # When casework creates its database (quickstart, db upgrade)
    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    # Then nobody but the account running casework can read the file or its write-ahead log
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    engine.dispose()


@sqlite_only
def test_a_database_file_other_accounts_can_read_is_refused(tmp_path, settings):
    # Given a database file someone made readable by everyone on the machine
    path = tmp_path / "casework.sqlite3"
    path.touch()
    path.chmod(0o644)
    # Then casework refuses it, in one line that says how to fix it
    with pytest.raises(DatabaseUnavailable, match="chmod 600"):
        make_engine(f"sqlite:///{path}")
    result = run_casework(settings, "audit", "verify", CASEWORK_DATABASE_URL=f"sqlite:///{path}")
    assert result.returncode == 2 and "chmod 600" in result.stderr and "Traceback" not in result.stderr


# --- sign-in ---------------------------------------------------------------------------------------


def test_the_password_step_cookie_is_worthless_once_the_sign_in_is_complete(app, make_user, new_browser, clock):
    from casework.auth import totp

    # Given someone who copies a person's cookie between the password and the code steps
    account = make_user("collaborator")
    person = new_browser()
    clock.advance(seconds=31)
    person.post("/login", {"username": account.username, "password": account.password}, page="/login")
    copied = person.client.get_cookie("casework_session").value
    # When the person completes their sign-in a few seconds later
    clock.advance(seconds=5)
    response = person.post("/login/code", {"code": totp.code_at(account.totp_secret, clock.now)},
                           page="/login/code")
    assert response.status_code == 302
    # Then the copied cookie no longer reaches the code step
    thief = new_browser()
    thief.client.set_cookie("casework_session", copied)
    answer = thief.client.get("/login/code")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")


# --- the provider's inbox ---------------------------------------------------------------------------


def test_an_entered_in_error_code_answers_like_a_wrong_code(signed_in, make_organisation, make_user, database):
    from test_referrals_support import make_client, make_referral, make_service

    org = make_organisation()
    place = make_service(database, org)
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id,
                                status="entered-in-error")
    from casework.referrals.models import Referral

    with database.transaction() as session:
        code = session.get(Referral, referral_id).code
    browser, _account = signed_in("provider", organisation_id=org)

    def answer(typed: str) -> tuple[int, str, str]:
        browser.get("/inbox")
        response = browser.post("/inbox/find", {"code": typed})
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        return response.status_code, response.headers["Location"], page.split('<main id="main">')[1][:400]

    # A referral marked entered-in-error gives exactly the answer of a code nobody has
    assert answer(code) == answer("RF-0000-0000")


# --- what the audit log keeps after erasure ------------------------------------------------------------


def test_after_erasure_nothing_in_the_audit_log_links_the_client_to_a_health_fact(ward, database):
    # Given a client with a whole history: needs, referrals completed, failed and rejected, the
    # case closed as "deceased" — then erased
    from datetime import date

    from sqlalchemy import select

    from casework import vocab
    from casework.audit import AuditEvent
    from casework.referrals import lifecycle
    from casework.referrals.models import Referral

    client_id = ward.register(date(2026, 1, 5), birth_year="2009")
    ward.assess(client_id, date(2026, 1, 5), needs={"hiv_treatment": "urgent", "drug_dependency": "some",
                                                     "child_protection": "urgent"})
    done = ward.refer(client_id, date(2026, 1, 6))
    ward.walk(done, (date(2026, 1, 6), "accepted"))
    ward.move(done, date(2026, 1, 20), "completed", business_status="test-done-result-given")
    failed = ward.refer(client_id, date(2026, 1, 7))
    ward.walk(failed, (date(2026, 1, 7), "accepted"), (date(2026, 1, 9), "failed"))
    rejected = ward.refer(client_id, date(2026, 1, 8), ward.legal)
    ward.move(rejected, date(2026, 1, 9), "rejected", reason_code="not-eligible")
    ward.close(client_id, date(2026, 2, 1), reason="deceased")
    referral_ids = {done, failed, rejected}
    ward.erase(client_id, date(2026, 2, 2))
    with database.snapshot() as session:
        assert session.scalar(select(Referral.id).where(Referral.id.in_(referral_ids))) is None
        rows = session.execute(select(AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id,
                                      AuditEvent.details)).all()
    # Then the rows about the client name nothing but what was done to the record
    for action, object_type, object_id, details in rows:
        if client_id in details:
            raise AssertionError(f"{action} on {object_type} {object_id} names the client in its details")
        if object_id in referral_ids:
            assert object_type == "referral"
    # and no row of any kind holds a code that says what the person is, needs or received
    person_codes = {*vocab.NEED_DOMAINS, *vocab.AGE_BANDS, *vocab.SEX_GENDER, *vocab.CLOSE_REASONS,
                    *vocab.BUSINESS_STATUSES, *vocab.DECLINE_REASONS, *vocab.FAILURE_REASONS,
                    *vocab.HOLD_REASONS, *lifecycle.ERROR_REASONS, *vocab.OUTREACH_SOURCES} - {"other", "unknown"}
    for action, _type, _id, details in rows:
        found = {code for code in person_codes if f'"{code}"' in details}
        assert not found, f"{action}: {found}"


# --- what a provider keeps seeing ------------------------------------------------------------------------


@pytest.fixture
def shared_phone(make_organisation, make_user, database, new_browser):
    """A referral to the health station with the phone shared, and that station's provider signed in."""
    from test_referrals_support import SENTINELS, make_client, make_referral, make_service

    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_service(database, station)
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id,
                                share_phone=True, note="NOTE-FOR-THE-STATION")
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=station))

    def sees() -> tuple[bool, bool]:
        page = provider.get(f"/inbox/{referral_id}").get_data(as_text=True)
        return SENTINELS["phone"] in page, "NOTE-FOR-THE-STATION" in page

    return {"client_id": client_id, "referral_id": referral_id, "owner": owner, "sees": sees}


def _withdraw(database, client_id: str, owner_id: str, purpose: str) -> None:
    from casework.auth.models import User
    from casework.clients import services
    from casework.clients.models import Client

    with database.transaction() as session:
        consent = services.current_consents(session, client_id)[purpose]
        services.withdraw_consent(session, session.get(User, owner_id), session.get(Client, client_id), consent)


def test_withdrawing_contact_consent_hides_the_phone_from_the_provider(shared_phone, database, app):
    assert shared_phone["sees"]() == (True, True)
    with app.app_context():
        _withdraw(database, shared_phone["client_id"], shared_phone["owner"].user_id, "contact")
    assert shared_phone["sees"]() == (False, True)


def test_a_do_not_contact_preference_hides_the_phone_from_the_provider(shared_phone, database):
    from casework.clients.models import Client

    with database.transaction() as session:
        session.get(Client, shared_phone["client_id"]).contact_preference = "do_not_contact"
    assert shared_phone["sees"]() == (False, True)


def test_sharing_consent_given_again_does_not_reopen_a_referral_the_withdrawal_cancelled(shared_phone, database,
                                                                                        app):
    from datetime import date

    from casework.auth.models import User
    from casework.clients import services
    from casework.clients.models import Client

    with app.app_context():
        _withdraw(database, shared_phone["client_id"], shared_phone["owner"].user_id, "share_with_provider")
        with database.transaction() as session:
            services.record_consent(session, session.get(User, shared_phone["owner"].user_id),
                                    session.get(Client, shared_phone["client_id"]), purpose="share_with_provider",
                                    method="verbal", given_on=date.today())
    assert shared_phone["sees"]() == (False, False)


def test_the_phone_is_hidden_a_week_after_the_referral_ended(shared_phone, database, clock):
    from datetime import timedelta

    from casework.referrals.models import Referral

    def ended(days_ago: float) -> None:
        with database.transaction() as session:
            referral = session.get(Referral, shared_phone["referral_id"])
            referral.status, referral.closed_at = "completed", clock.now - timedelta(days=days_ago)

    # A service may call back for a few days after the referral ended (a result to give) …
    ended(6.5)
    assert shared_phone["sees"]() == (True, True)
    # … but not after a week
    ended(7.5)
    assert shared_phone["sees"]() == (False, True)


# --- the UIC oracle ---------------------------------------------------------------------------------------


@pytest.fixture
def elsewhere(make_user, new_browser):
    """A client with UIC LANA1999N in another collaborator's caseload."""
    from test_clients_support import register

    owner = make_user("collaborator", username="owner.collaborator")
    browser = new_browser()
    browser.login(owner)
    return register(browser, uic="LANA1999N")


def _lookups(database, actor_id: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from casework.audit import AuditEvent

    with database.snapshot() as session:
        return [(a, d) for a, d in session.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.actor_id == actor_id, AuditEvent.action == "client.uic_lookup")
            .order_by(AuditEvent.id))]


def test_a_co_assignment_request_answers_the_same_whether_or_not_the_uic_is_known(elsewhere, signed_in, database):
    from test_attacks import strip_tokens

    browser, prober = signed_in("collaborator")

    def ask(uic: str) -> tuple[int, str]:
        browser.get("/clients/")
        response = browser.post("/clients/co-assignment-requests", {"uic": uic})
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        # CSRF tokens carry the second they were made in: two pages a second apart differ there only
        return response.status_code, strip_tokens(page[page.index('<main id="main">'):].split("</main>")[0])

    # When a prober sends a UIC that is held in another caseload and one nobody has
    hit, miss = ask("LANA1999N"), ask("ZZQQ1950N")
    # Then the two answers are the same page, and each probe is audited the same way
    assert hit == miss
    assert _lookups(database, prober.user_id) == [("client.uic_lookup", '{"page":"coassign_request"}')] * 2
    # while the hit is logged against the record it matched, for its owner and the administrators
    from sqlalchemy import select

    from casework.audit import AuditEvent

    with database.snapshot() as session:
        against = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == elsewhere,
                                                                  AuditEvent.actor_id == prober.user_id)).all()
    assert "client.coassign_requested" in against


def test_every_page_that_tests_a_uic_audits_hits_and_misses_alike(elsewhere, signed_in, database):
    from test_clients_support import register, registration

    browser, prober = signed_in("collaborator")
    own = register(browser, uic="OWNC1990N")
    pages = []
    for uic in ("LANA1999N", "ZZQQ1950N"):
        browser.post("/clients/find", {"query": uic}, page="/clients/")
        browser.get("/clients/register")
        browser.post("/clients/register", registration(uic=uic))
        browser.get(f"/clients/{own}/correct")
        form = {"uic": uic, "sex_gender": "female", "birth_year": "1998", "age_band": "unknown",
                "outreach_source": "venue", "contact_preference": "sms", "alias": "", "phone": "", "residence": ""}
        browser.post(f"/clients/{own}/correct", form)
        pages.append(_lookups(database, prober.user_id))
    first, both = pages
    # The registration of the first client was a lookup too; then three pages, for a hit and a miss
    hit, miss = first[1:], both[len(first):]
    assert [d for _a, d in hit] == [d for _a, d in miss] == [
        '{"page":"search"}', '{"page":"registration"}', '{"page":"correction"}']


def test_the_uic_budget_is_one_across_every_page_that_tests_a_uic(signed_in, elsewhere):
    from test_clients_support import registration

    browser, _prober = signed_in("collaborator")
    statuses = []
    for n in range(20):
        statuses.append(browser.post("/clients/find", {"query": f"NGTR{1950 + n}1"}, page="/clients/").status_code)
    for n in range(20):
        browser.get("/clients/register")
        statuses.append(browser.post("/clients/register",
                                     registration(uic=f"NGTR{1970 + n}1", consent_date="2000-01-01")).status_code)
    for n in range(20):
        browser.get("/clients/")
        statuses.append(browser.post("/clients/co-assignment-requests", {"uic": f"NGTR{1990 + n}1"}).status_code)
    # Then sixty lookups spread over three pages use up the budget, and the next one is refused on any page
    assert 429 not in statuses
    assert browser.post("/clients/find", {"query": "NGTR20101"}, page="/clients/").status_code == 429
    browser.get("/clients/register")
    assert browser.post("/clients/register", registration(uic="NGTR20111")).status_code == 429


# --- keys and the blind index ---------------------------------------------------------------------


def test_changing_the_index_width_without_a_reindex_refuses_to_start(app, settings, make_user, database):
    from casework import create_app
    from casework.clients import storage
    from casework.errors import ConfigError

    # Given clients indexed at the configured width (the first start recorded it)
    owner = make_user("collaborator")
    with database.transaction() as session:
        client = storage.new_client(session, owner_id=owner.user_id, uic="NGTR1990F")
        session.flush()
        client_id = client.id
    # When the operator changes the width and restarts without `keys reindex`
    settings.blind_index_bits = settings.blind_index_bits + 3
    # Then casework does not start, and says which command to run (rather than finding nobody)
    with pytest.raises(ConfigError, match="casework keys reindex"):
        create_app(settings)
    served = run_casework(settings, "demo-data", "--clients", "1",
                          CASEWORK_MODE="development", CASEWORK_BLIND_INDEX_BITS=str(settings.blind_index_bits))
    assert served.returncode == 2 and "casework keys reindex" in served.stderr
    # And after the reindex it starts, and the client is found at the new width
    env = {"CASEWORK_BLIND_INDEX_BITS": str(settings.blind_index_bits)}
    assert run_casework(settings, "keys", "reindex", **env).returncode == 0
    started = create_app(settings)
    try:
        with started.extensions["casework"].database.transaction() as session:
            assert storage.find_ids_by_uic(session, "ngtr1990f") == [client_id]
    finally:
        started.extensions["casework"].database.dispose()


def test_key_usage_reads_key_ids_of_any_length(database, make_user):
    from sqlalchemy import text

    from casework.clients import storage
    from casework.keyops import key_usage

    # Given a stored value whose key id is longer than the eight characters casework makes today
    owner = make_user("collaborator")
    with database.transaction() as session:
        client = storage.new_client(session, owner_id=owner.user_id, uic=None)
        session.flush()
        session.execute(text("INSERT INTO case_notes (id, client_id, author_id, body_enc, created_at) VALUES "
                             "('n-1', :c, :u, 'cw1.0123456789abcdef.AAAA', '2026-12-01 00:00:00')"),
                        {"c": client.id, "u": owner.user_id})
    # Then `keys status` and `keys retire` count it under its whole id, not a prefix of it
    with database.transaction() as session:
        usage = key_usage(session)
    assert usage["0123456789abcdef"] == 1 and "01234567" not in usage


# --- what travels in URLs and cookies ---------------------------------------------------------------


def test_a_referral_never_puts_its_need_in_a_url_nor_its_code_in_the_cookie(make_organisation, make_user,
                                                                            new_browser, database):
    from test_attacks import cookie_payload, make_client, make_place, referral_code_of, signed_in_as

    from casework.referrals.models import Referral

    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_place(database, station)
    make_place(database, station, name="Xét nghiệm lưu động")  # a second service for the same need
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    browser = signed_in_as(new_browser, owner)
    # The client page offers the referral for each open need by a form, not a link carrying the need
    client_page = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    assert "?need=" not in client_page and "&amp;need=" not in client_page
    assert '<input name="need" type="hidden" value="hiv_sti_testing">' in client_page
    # When a case worker sends a referral and then refers the client elsewhere from it
    url = f"/clients/{client_id}/referrals/new"
    browser.get(url)
    sent = browser.post(url, {"service_id": place.service_id, "urgency": "routine", "consent": "y",
                              "action": "send"})
    assert sent.status_code == 302
    with database.transaction() as session:
        referral = session.scalars(__import__("sqlalchemy").select(Referral)).one()
        referral_id, need = referral.id, referral.need_domain
    # Then the flashed confirmation, kept in the session cookie until shown, holds no referral code
    assert referral_code_of(database, referral_id) not in cookie_payload(browser)
    # And no link the pages give carries the need ("refer elsewhere" names only the earlier referral)
    browser.get(sent.headers["Location"])
    response = browser.get(f"/referrals/{referral_id}")
    detail = response.get_data(as_text=True)
    assert response.status_code == 200, detail[-600:]
    assert "?need=" not in detail and "&amp;need=" not in detail
    # And the page it opens offers services for that need, from the referral, with the need in the form only
    page = browser.get(f"{url}?previous={referral_id}").get_data(as_text=True)
    assert f'<input name="need" type="hidden" value="{need}">' in page
