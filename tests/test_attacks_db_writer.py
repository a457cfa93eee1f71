"""Someone who can write to the database but holds none of casework's keys (a stolen database
password, a restored backup, a careless DBA). Each attack is done with SQL on the raw database,
no application code; then the application is used and what the attacker observes is asserted."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import BACKEND
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from test_attacks import S, assert_no_sentinel, make_client, make_place, make_referral, signed_in_as

from casework.audit import AuditEvent
from casework.auth.passwords import hash_password


def _sql(database: Any, statement: str, **params: Any) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(statement), params)


def _one(database: Any, statement: str, **params: Any) -> Any:
    with database.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar()


def _refusals(database: Any, table: str) -> int:
    with database.transaction() as session:
        return len(session.scalars(select(AuditEvent.id).where(AuditEvent.action == "integrity.failure",
                                                               AuditEvent.object_type == table)).all())


def _refused(browser: Any, url: str) -> str:
    response = browser.client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code in (404, 500), (url, response.status_code)
    assert "Traceback" not in html
    return html


@pytest.fixture
def victim(make_organisation, make_user, database):
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    station = make_organisation("Trạm Y tế phường", "health_station")
    place = make_place(database, station)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id,
                                share_phone=True)
    return {"owner": owner, "client_id": client_id, "station": station, "referral_id": referral_id}


def test_moving_a_client_to_another_caseload_by_sql_shows_nothing(victim, make_user, new_browser, database):
    # Given an insider's own collaborator account and the database password
    insider = make_user("collaborator")
    # When they make themselves the owner of someone else's client in the database
    _sql(database, "UPDATE clients SET owner_id = :me WHERE id = :id", me=insider.user_id, id=victim["client_id"])
    browser = signed_in_as(new_browser, insider)
    # Then the record does not open, nor does the caseload list it with its contents, and it is recorded
    assert_no_sentinel("record", _refused(browser, f"/clients/{victim['client_id']}"))
    assert_no_sentinel("caseload", browser.client.get("/clients/").get_data(as_text=True))
    assert _refusals(database, "clients") >= 1


def test_copying_a_seal_from_the_insiders_own_client_does_not_help(victim, make_user, new_browser, database):
    # Given the insider's own client, whose seal is valid for the insider as owner
    insider = make_user("collaborator")
    own_id, _ = make_client(database, insider.user_id, alias=S["other_alias"], phone=S["other_phone"])
    seal = _one(database, "SELECT seal FROM clients WHERE id = :id", id=own_id)
    # When they move the victim's client to themselves and copy that seal onto it
    _sql(database, "UPDATE clients SET owner_id = :me, seal = :seal WHERE id = :id",
         me=insider.user_id, seal=seal, id=victim["client_id"])
    # Then it is still refused: a seal names its row
    assert_no_sentinel("record", _refused(signed_in_as(new_browser, insider), f"/clients/{victim['client_id']}"))


def test_a_co_assignment_inserted_by_sql_grants_nothing(victim, make_user, new_browser, database):
    insider = make_user("collaborator")
    # When the insider adds themselves as co-assigned to the client, even with a seal copied from another row
    other = make_user("collaborator")
    own_id, _ = make_client(database, other.user_id, alias=S["other_alias"], phone=S["other_phone"])
    _sql(database, "INSERT INTO client_assignments (client_id, user_id, created_at) VALUES (:c, :u, :t)",
         c=own_id, u=insider.user_id, t="2026-12-01 00:00:00.000000")
    _sql(database, "INSERT INTO client_assignments (client_id, user_id, created_at, seal) VALUES (:c, :u, :t, :s)",
         c=victim["client_id"], u=insider.user_id, t="2026-12-01 00:00:00.000000", s="0" * 64)
    browser = signed_in_as(new_browser, insider)
    # Then neither record opens for them
    assert_no_sentinel("record", _refused(browser, f"/clients/{victim['client_id']}"))
    assert_no_sentinel("other record", _refused(browser, f"/clients/{own_id}"))
    assert _refusals(database, "client_assignments") >= 1


def test_pointing_a_referral_at_another_organisation_shows_its_phone_to_nobody(victim, make_organisation,
                                                                               make_user, new_browser, database):
    # Given a provider of another organisation
    legal = make_organisation("Trợ giúp pháp lý", "legal_aid")
    provider = make_user("provider", organisation_id=legal)
    # When the referral (phone shared) is re-pointed at that organisation in the database
    _sql(database, "UPDATE referrals SET organisation_id = :org WHERE id = :id", org=legal, id=victim["referral_id"])
    browser = signed_in_as(new_browser, provider)
    # Then the referral does not open and its inbox shows no phone
    assert_no_sentinel("referral", _refused(browser, f"/inbox/{victim['referral_id']}"))
    assert_no_sentinel("inbox", browser.client.get("/inbox/").get_data(as_text=True))
    assert _refusals(database, "referrals") >= 1


def test_sharing_the_phone_by_sql_is_refused(victim, database, make_user, new_browser):
    provider = make_user("provider", organisation_id=victim["station"])
    _sql(database, "UPDATE referrals SET share_phone = :no WHERE id = :id", no=False, id=victim["referral_id"])
    _sql(database, "UPDATE referrals SET share_phone = :yes WHERE id = :id", yes=True, id=victim["referral_id"])
    # The same value written back by hand holds (the seal covers values, not the act of writing)
    browser = signed_in_as(new_browser, provider)
    assert browser.client.get(f"/inbox/{victim['referral_id']}").status_code == 200
    # But an unshared referral switched to shared by hand is refused
    other = make_referral(database, client_id=victim["client_id"],
                          place=make_place(database, victim["station"], name="Khám"),
                          referred_by=victim["owner"].user_id, share_phone=False)
    _sql(database, "UPDATE referrals SET share_phone = :yes WHERE id = :id", yes=True, id=other)
    assert_no_sentinel("referral", _refused(browser, f"/inbox/{other}"), keys=("phone",))


def test_a_replaced_password_hash_and_cleared_second_factor_do_not_sign_in(victim, browser, database):
    # Given an attacker who writes a password hash they know and removes the second factor
    _sql(database, "UPDATE users SET password_hash = :h, totp_secret_enc = NULL, must_change_password = :f "
         "WHERE id = :id", h=hash_password("attacker-chosen-password-1"), f=False, id=victim["owner"].user_id)
    # When they sign in with it
    response = browser.post("/login", {"username": victim["owner"].username,
                                       "password": "attacker-chosen-password-1"}, page="/login")
    # Then there is no session: the account's row is refused, and nothing of the caseload is reachable
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and response.status_code in (200, 500)
    assert browser.client.get("/clients/").status_code == 302
    assert _refusals(database, "users") >= 1


def test_promoting_an_account_by_sql_is_refused(make_user, new_browser, database):
    # Given a collaborator whose role the attacker rewrites to admin
    account = make_user("collaborator")
    browser = signed_in_as(new_browser, account)
    _sql(database, "UPDATE users SET role = 'admin' WHERE id = :id", id=account.user_id)
    # Then the next request does not run as an admin, nor as anyone: the session ends at the sign-in page
    response = browser.client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _refusals(database, "users") >= 1


def test_an_older_ciphertext_put_back_in_the_same_row_is_refused(victim, new_browser, database):
    # Given the phone as stored today, and a case worker who then corrects it
    old = _one(database, "SELECT phone_enc FROM clients WHERE id = :id", id=victim["client_id"])
    with database.transaction() as session:
        from casework.clients.models import Client

        session.get(Client, victim["client_id"]).phone = S["other_phone"]
    # When the attacker puts the old ciphertext back (it decrypts: same row, same column, same key)
    _sql(database, "UPDATE clients SET phone_enc = :old WHERE id = :id", old=old, id=victim["client_id"])
    # Then the record is refused rather than showing the rolled-back number
    html = _refused(signed_in_as(new_browser, victim["owner"]), f"/clients/{victim['client_id']}")
    assert_no_sentinel("record", html, keys=("phone", "other_phone", "alias"))


def test_a_row_without_a_seal_is_refused(victim, new_browser, database):
    _sql(database, "UPDATE clients SET seal = NULL WHERE id = :id", id=victim["client_id"])
    _refused(signed_in_as(new_browser, victim["owner"]), f"/clients/{victim['client_id']}")


# --- the audit log ------------------------------------------------------------------------------


def _verify(settings: Any, monkeypatch: Any) -> tuple[int, str]:
    from test_attacks import _cli_verify

    return _cli_verify(settings, monkeypatch)


@pytest.mark.skipif(BACKEND != "sqlite", reason="INSERT OR REPLACE is SQLite's")
def test_insert_or_replace_cannot_rewrite_an_audit_row(victim, database):
    row = dict(_row_of(database, 1))
    kept_action = row["action"]
    row["action"] = "something.else"
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(database, "INSERT OR REPLACE INTO audit_events (id, occurred_at, actor_id, actor_role, action, "
             "object_type, object_id, details, prev_hash, hash, seal) VALUES (:id, :occurred_at, :actor_id, "
             ":actor_role, :action, :object_type, :object_id, :details, :prev_hash, :hash, :seal)", **row)
    assert _row_of(database, 1)["action"] == kept_action


@pytest.mark.skipif(BACKEND != "postgresql", reason="TRUNCATE's trigger is PostgreSQL's")
def test_truncate_of_the_audit_log_is_refused(victim, database):
    before = _one(database, "SELECT count(*) FROM audit_events")
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(database, "TRUNCATE audit_events")
    assert _one(database, "SELECT count(*) FROM audit_events") == before


def test_an_emptied_audit_log_does_not_verify(victim, new_browser, database, settings, monkeypatch):
    # Given some audited reads (which record the head outside the database)
    signed_in_as(new_browser, victim["owner"]).client.get(f"/clients/{victim['client_id']}")
    assert _verify(settings, monkeypatch)[0] == 0
    # When an owner of the database empties the table around its triggers
    from test_attacks import _tamper

    _tamper(database, "DELETE FROM audit_events")
    # Then verify fails and says the recorded head is missing
    code, output = _verify(settings, monkeypatch)
    assert code == 1 and "recorded outside the database" in output


def test_a_chain_rewritten_without_seals_does_not_verify(victim, new_browser, database, settings, monkeypatch):
    # Given a trail; the attacker rewrites every row's hash from row 1 and sets every seal to NULL,
    # as if the rows predated seals
    signed_in_as(new_browser, victim["owner"]).client.get(f"/clients/{victim['client_id']}")
    from test_attacks import _tamper

    from casework.audit.chain import GENESIS, row_hash

    with database.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.id))]
    prev = GENESIS
    for row in rows:
        row["prev_hash"], row["actor_id"] = prev, None
        row["hash"] = prev = row_hash(row)
        _tamper(database, "UPDATE audit_events SET actor_id = NULL, prev_hash = :p, hash = :h, seal = NULL "
                "WHERE id = :id", p=row["prev_hash"], h=row["hash"], id=row["id"])
    # Then verify refuses it: the head recorded outside the database says rows were sealed from the start
    code, output = _verify(settings, monkeypatch)
    assert code == 1 and "seal" in output


def _row_of(database: Any, row_id: int) -> dict[str, Any]:
    with database.engine.connect() as conn:
        return dict(conn.execute(select(AuditEvent.__table__).where(AuditEvent.id == row_id)).one()._mapping)


# --- rows written before seals existed ------------------------------------------------------------


@pytest.mark.skipif(BACKEND != "sqlite", reason="a database of its own, at an older revision")
def test_db_upgrade_seals_older_rows_once_and_later_unsealed_rows_are_refused(tmp_path, settings):
    from conftest import run_casework

    from casework.auth.models import User
    from casework.crypto import BlindIndexer, FieldCipher, Keyring
    from casework.db import Database
    from casework.errors import RowIntegrityError

    url = f"sqlite:///{tmp_path / 'older.sqlite3'}"
    # Given a database at the revision before seals, with an account in it
    assert run_casework(settings, "db", "upgrade", "0004", CASEWORK_DATABASE_URL=url).returncode == 0
    older = Database(url, FieldCipher(Keyring.load(settings.keys_dir, allow_example=False)),
                     BlindIndexer(Keyring.load(settings.keys_dir, allow_example=False), 10))
    _sql(older, "INSERT INTO users (id, username, display_name, role, locale, active, password_hash, "
         "must_change_password, failed_logins, created_at) VALUES ('u-1', 'older.account', 'Older', "
         "'collaborator', 'vi', 1, 'x', 0, 0, '2026-11-01 00:00:00.000000')")
    # When it is upgraded with the keyring at hand
    result = run_casework(settings, "db", "upgrade", CASEWORK_DATABASE_URL=url)
    # Then that row is sealed, once, and loads
    assert result.returncode == 0 and "sealed 1 rows" in result.stdout
    with older.transaction() as session:
        assert session.get(User, "u-1").username == "older.account"
    # And a row added later without a seal (by hand) is refused, upgrade or not
    _sql(older, "INSERT INTO users (id, username, display_name, role, locale, active, password_hash, "
         "must_change_password, failed_logins, created_at) VALUES ('u-2', 'planted', 'Planted', "
         "'admin', 'vi', 1, 'x', 0, 0, '2026-11-01 00:00:00.000000')")
    assert "sealed" not in run_casework(settings, "db", "upgrade", CASEWORK_DATABASE_URL=url).stdout
    with older.transaction() as session, pytest.raises(RowIntegrityError):
        session.get(User, "u-2")
    older.dispose()


def test_rewrapping_under_a_new_key_does_not_launder_a_forged_row(victim, make_user, settings, database):
    from conftest import run_casework

    # Given a client moved by hand to an insider
    insider = make_user("collaborator")
    _sql(database, "UPDATE clients SET owner_id = :me WHERE id = :id", me=insider.user_id, id=victim["client_id"])
    # When the operator rotates the key and re-encrypts everything
    assert run_casework(settings, "keys", "rotate").returncode == 0
    result = run_casework(settings, "keys", "rewrap")
    # Then the re-encryption stops at the forged row instead of sealing it anew, and says which
    assert result.returncode != 0 and victim["client_id"] in result.stderr and "Traceback" not in result.stderr
    seal = _one(database, "SELECT seal FROM clients WHERE id = :id", id=victim["client_id"])
    assert not database.sealer.row_holds("clients", _sealed_values(database, victim["client_id"]), seal)


def _sealed_values(database: Any, client_id: str) -> dict[str, Any]:
    from casework.clients.models import Client
    from casework.db import sealed_columns

    with database.engine.connect() as conn:
        row = conn.execute(select(*[Client.__table__.c[c] for c in sealed_columns(Client)])
                           .where(Client.__table__.c.id == client_id)).one()
    return dict(row._mapping)
