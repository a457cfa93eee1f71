"""What a worker types about a client is stored only as ciphertext: not in the database
file, not in a dump, not in the logs, not in the audit log, not in URLs or cookies."""

from __future__ import annotations

import logging
from datetime import timedelta

from conftest import raw_database_bytes
from sqlalchemy import select, text
from test_clients_support import assessment, register

from casework import clock as casework_clock
from casework.audit import AuditEvent

SENTINELS = {
    "uic": "QZXK1987N",
    "alias": "Sentinel-Alias-Vy7q",
    "phone": "0987 650 321",
    "residence": "Hẻm Sentinel-Residence-Rk3",
    "note": "Sentinel-Note-Mw9 ghi chú bí mật",
    "need_note": "Sentinel-NeedNote-Zp4",
    "follow_up": "Sentinel-FollowUp-Lx2",
}


def fill_everything(browser) -> str:
    client_id = register(browser, uic="qz xk 1987 n", alias=SENTINELS["alias"], phone=SENTINELS["phone"],
                         residence=SENTINELS["residence"])
    browser.get(f"/clients/{client_id}/assessment")
    assert browser.post(f"/clients/{client_id}/assessment",
                        assessment({"gbv": "urgent"}, {"gbv": SENTINELS["need_note"]})).status_code == 302
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/notes", {"body": SENTINELS["note"]}).status_code == 302
    due = (casework_clock.local_today() + timedelta(days=2)).isoformat()
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/follow-ups",
                        {"due_on": due, "description": SENTINELS["follow_up"]}).status_code == 302
    browser.get(f"/clients/{client_id}")
    browser.post("/clients/find", {"query": "QZXK-1987-N"})
    return client_id


def test_values_typed_into_the_forms_never_reach_the_disk_logs_audit_urls_or_cookies(
        signed_in, database, database_url, caplog, app):
    # Given a collaborator, and every log record captured at DEBUG
    caplog.set_level(logging.DEBUG)
    browser, _account = signed_in("collaborator")
    locations: list[str] = []
    original_post = browser.client.post

    def recording_post(*args, **kwargs):
        response = original_post(*args, **kwargs)
        locations.append(response.headers.get("Location", ""))
        return response

    browser.client.post = recording_post

    # When they register a client and record an assessment, a note, a follow-up and a search by UIC
    client_id = fill_everything(browser)

    # Then the page shows the values back to the worker (they are stored) ...
    browser.get(f"/clients/{client_id}")
    assert SENTINELS["alias"] in browser.last_html and SENTINELS["note"] in browser.last_html
    # ... but none is in the raw database, whatever the engine
    with database.transaction() as session:
        session.execute(text("SELECT 1"))
    raw = raw_database_bytes(database_url)
    assert len(raw) > 10_000
    for name, value in SENTINELS.items():
        for form in {value, value.replace(" ", ""), value.upper()}:
            assert form.encode("utf-8") not in raw, f"{name} is stored in clear"
    # ... nor in any log record
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for name, value in SENTINELS.items():
        assert value not in logged and value.replace(" ", "") not in logged, f"{name} was logged"
    # ... nor in the audit log
    with database.transaction() as session:
        audit = "\n".join(f"{e.action} {e.object_id} {e.details}" for e in session.scalars(select(AuditEvent)))
    assert "client.registered" in audit
    for name, value in SENTINELS.items():
        assert value not in audit and value.replace(" ", "") not in audit, f"{name} is in the audit log"
    # ... nor in any redirect URL or in the session cookie (where flash messages live)
    cookie = browser.client.get_cookie("casework_session")
    serializer = app.session_interface.get_signing_serializer(app)
    session_data = repr(serializer.loads(cookie.value)) if cookie else ""
    for value in SENTINELS.values():
        assert not any(value.replace(" ", "") in loc.replace(" ", "") for loc in locations)
        assert value not in session_data


def test_the_uic_search_is_a_post_and_finds_the_client_by_another_spelling(signed_in):
    # Given a client registered with a UIC
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="ĐÀ MI 1995 N")
    # When the worker searches with another spelling of the same UIC
    browser.get("/clients/")
    response = browser.post("/clients/find", {"query": "da-mi-1995-n"})
    # Then they land on the client, and the UIC is not in the URL
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{client_id}")
    # And the search form cannot be used with GET
    assert browser.get("/clients/find?query=DAMI1995N").status_code in (404, 405)


def test_search_by_display_code_finds_only_the_own_caseload(signed_in, new_browser, make_user, database):
    # Given a client of another collaborator
    other = make_user("collaborator")
    other_browser = new_browser()
    other_browser.login(other)
    client_id = register(other_browser, uic="ABCD2000M")
    from casework.clients.models import Client

    with database.transaction() as session:
        code = session.get(Client, client_id).display_code
    # When I search for its display code
    browser, _account = signed_in("collaborator")
    browser.get("/clients/")
    response = browser.post("/clients/find", {"query": code.lower()})
    # Then nothing is found, and its code is not shown
    assert response.status_code == 200
    assert "Không có thân chủ nào trong danh sách của bạn khớp." in browser.last_html
    # When the owner searches for it, they find it
    other_browser.get("/clients/")
    assert other_browser.post("/clients/find", {"query": code}).headers["Location"].endswith(client_id)


def test_a_display_code_is_read_leniently_as_people_type_it(signed_in, database):
    from casework.clients.models import Client

    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    with database.transaction() as session:
        code = session.get(Client, client_id).display_code
    typed = " ".join(code.lower().replace("-", " ").replace("0", "o").replace("1", "l"))
    browser.get("/clients/")
    assert browser.post("/clients/find", {"query": typed}).headers["Location"].endswith(client_id)
