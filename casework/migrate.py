"""Running Alembic from casework (``casework db upgrade``) and checking the schema is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from casework.config import PROJECT_ROOT
from casework.errors import ConfigError


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


SEALS_REVISION = "0005"  # adds the row seals (casework.db): rows older than it are sealed once


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def crossed(before: str | None, revision: str, after: str | None) -> bool:
    """Whether an upgrade from ``before`` to ``after`` applied ``revision`` (ids sort in order)."""
    return before is not None and after is not None and before < revision <= after


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def check_current(engine: Engine) -> None:
    """Refuse to serve a database that is not at the newest migration."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head_revision():
        raise ConfigError(
            "the database schema is not up to date: run `casework db upgrade` "
            "(CASEWORK_DATABASE_URL points at the database it will change)"
        )
