"""A tampered ciphertext on a client page shows a clear message, never a stack trace, and is audited."""

from __future__ import annotations

from sqlalchemy import select
from test_clients_support import register

from casework.audit import AuditEvent
from casework.clients.models import Client


def test_a_ciphertext_copied_from_another_client_is_refused_with_a_clear_page(signed_in, database):
    # Given two clients, and someone with database access copies one alias onto the other record
    browser, _account = signed_in("collaborator")
    first = register(browser, uic="AAAA1990N", alias="Người thứ nhất")
    second = register(browser, uic="BBBB1990N", alias="Người thứ hai")
    with database.transaction() as session:
        stolen = session.get(Client, first).alias_enc
        session.get(Client, second).alias_enc = stolen
    # When the worker opens the second client
    response = browser.get(f"/clients/{second}")
    # Then the value is not shown, the page explains, and the event is audited
    assert response.status_code == 500
    assert "Người thứ nhất" not in browser.last_html and "Traceback" not in browser.last_html
    with database.transaction() as session:
        failure = session.scalars(select(AuditEvent).where(AuditEvent.action == "integrity.failure")).one()
    assert (failure.object_type, failure.object_id) == ("clients", second)
