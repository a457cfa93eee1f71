"""No password, one-time password, recovery code or TOTP secret is written anywhere it could
leak from: the audit table, the logs, or the database file itself (docs/DESIGN.md §7)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import select, text

from casework.audit import AuditEvent
from casework.auth import totp
from casework.db import Base


def raw_database_text(database, url: str) -> str:
    """Everything the database holds, as an attacker with a copy of it would read it."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        blobs = [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
        return b"".join(blobs).decode("latin-1")
    parts = []
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):  # noqa: S608 (our table names)
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_secrets_never_reach_the_audit_log_the_logs_or_the_database_file(
        signed_in, new_browser, make_user, database, settings, clock, caplog):
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    # Given an admin who creates an account (one-time password)
    admin, _ = signed_in("admin")
    admin.post("/admin/users/new", {"username": "mai", "display_name": "Mai", "role": "collaborator",
                                    "organisation_id": "", "locale": "vi"}, page="/admin/users/new")
    one_time = re.search(r'<code class="secret">([a-z0-9-]+)</code>', admin.last_html).group(1)
    secrets.append(one_time)
    # And the person signs in, chooses a password, and enrols a second factor
    person = new_browser()
    person.post("/login", {"username": "mai", "password": one_time}, page="/login")
    own_password = "the mango tree by the river gate"
    secrets.append(own_password)
    person.post("/account/password", {"current_password": one_time, "new_password": own_password,
                                      "confirm": own_password}, page="/account/password")
    person.get("/account/second-factor")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', person.last_html).group(1).replace(" ", "")
    secrets.append(secret)
    person.post("/account/second-factor", {"code": totp.code_at(secret, clock.now)})
    recovery = re.findall(r"<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>", person.last_html)
    assert recovery
    secrets += recovery + [c.replace("-", "") for c in recovery]
    # And someone types a password into the username field, and a wrong password
    stray = "my other secret sentence typed here"
    secrets.append(stray)
    new_browser().post("/login", {"username": stray, "password": "whatever"}, page="/login")
    wrong = "a wrong guess at the password"
    secrets.append(wrong)
    new_browser().post("/login", {"username": "mai", "password": wrong}, page="/login")
    # And an existing account with its own secret and password is used
    other = make_user("collaborator")
    secrets += [other.password, other.totp_secret]
    new_browser().login(other)
    # Then none of the secrets is in the audit table
    with database.transaction() as session:
        audit_text = "\n".join(repr((e.action, e.actor_id, e.object_id, e.details))
                               for e in session.scalars(select(AuditEvent)))
    # nor in anything logged, nor anywhere in the database file
    stored = raw_database_text(database, settings.database_url)
    assert "auth.login_failed" in audit_text  # the failures were recorded, without the values
    for value in secrets:
        assert value not in audit_text, "secret in the audit log"
        assert value not in caplog.text, "secret in the logs"
        assert value not in stored, "secret in the database"
