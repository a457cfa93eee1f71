"""casework: confidential case management and closed-loop referrals."""

from __future__ import annotations

from typing import Any

from flask import Flask

from casework.config import PROJECT_ROOT, Settings, load_settings

__version__ = "0.1.0"


def create_app(settings: Settings | None = None, *, check_schema: bool = True, **overrides: Any) -> Flask:
    """Build the application. Refuses to start on an unsafe keyring or unreachable database."""
    import casework.models  # noqa: F401  (every mapper configured before the first query)
    from casework import web
    from casework.clients.uic import UicRules
    from casework.crypto import BlindIndexer, FieldCipher, Keyring
    from casework.db import Database, check_database
    from casework.migrate import check_current
    from casework.runtime import Runtime

    settings = settings or load_settings(**overrides)
    keyring = Keyring.load(settings.keys_dir, allow_example=settings.allows_example_keys)
    database = Database(
        settings.database_url,
        FieldCipher(keyring),
        BlindIndexer(keyring, settings.blind_index_bits),
        audit_checkpoint=settings.audit_checkpoint,
        info={"uic_rules": UicRules.from_settings(settings)},
    )
    check_database(database.engine)
    if check_schema:
        from casework.clients.storage import check_width

        check_current(database.engine)
        with database.transaction() as session:
            check_width(session, settings.blind_index_bits)

    app = Flask(
        "casework",
        root_path=str(PROJECT_ROOT / "casework"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "casework" / "static"),
        instance_path=str(settings.instance_path),
    )
    app.extensions["casework"] = Runtime(settings, keyring, database)
    web.configure(app, settings, keyring)
    return app
