"""Demo data for development and demo mode: accounts, a directory, a few clients.

Loaded once by ``casework quickstart`` into an empty database. Everything is
fictional; the passwords are printed so a newcomer can sign in.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.auth.models import User

DEMO_ACCOUNTS = (
    # username, role, display name, password, organisation key
    ("ctv.lan", "collaborator", "Trần Thị Lan (CTV)", "demo-ctv-lan-2026", None),
    ("ctv.minh", "collaborator", "Lê Văn Minh (CTV)", "demo-ctv-minh-2026", None),
    ("tram.yte", "provider", "Nguyễn Thị Hoa (Trạm Y tế)", "demo-tram-yte-2026", "health_station"),
    ("giamsat", "supervisor", "Phạm Quốc Huy (Giám sát)", "demo-giamsat-2026", None),
    ("quantri", "admin", "Đỗ Minh Tâm (Quản trị)", "demo-quantri-2026", None),
)


def load(session: Session) -> list[tuple[str, str, str]]:
    """Load the demo set into an empty database; returns (username, role, password) rows."""
    if session.scalar(select(func.count()).select_from(User)):
        return []
    from casework.admin.services import create_account

    organisations = _load_directory(session)
    shown = []
    for username, role, name, password, org_key in DEMO_ACCOUNTS:
        user = create_account(
            session, None, username=username, display_name=name, role=role, password=password,
            organisation_id=organisations.get(org_key) if org_key else None,
            work_phone="0225 000 0000" if role != "admin" else None,
        )
        user.must_change_password = False  # demo only: real accounts always change it
        shown.append((username, role, password))
    _load_clients(session)
    return shown


def _load_directory(session: Session) -> dict[str, str]:
    """The demo directory; returns organisation ids by kind. Extended by the directory area."""
    try:
        from casework.directory.demo import load_directory
    except ImportError:
        from casework.db import new_id
        from casework.directory.models import Organisation

        org = Organisation(id=new_id(), name="Trạm Y tế phường Tân Hưng", kind="health_station")
        session.add(org)
        session.flush()
        return {"health_station": org.id}
    return load_directory(session)


def _load_clients(session: Session) -> None:
    try:
        from casework.clients.demo import load_clients
    except ImportError:
        return
    load_clients(session)
