"""Directory changes behind the admin screens: each writes its audit entry (ids and field names only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.audit import record
from casework.db import new_id
from casework.directory import hsds
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation


def _apply(row: Any, values: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip() or None
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def _audit(session: Session, actor: Any, action: str, object_type: str, object_id: str, fields: list[str]) -> None:
    record(session, action, actor_id=actor.id, actor_role=actor.role, object_type=object_type,
           object_id=object_id, details={"fields": sorted(fields)})


def save_organisation(session: Session, actor: Any, org: Organisation | None, values: dict[str, Any]) -> Organisation:
    created = org is None
    if org is None:
        org = Organisation(id=new_id())
        session.add(org)
    fields = _apply(org, values)
    session.flush()
    _audit(session, actor, "directory.organisation_created" if created else "directory.organisation_changed",
           "organisation", org.id, fields)
    return org


def save_location(session: Session, actor: Any, organisation_id: str, loc: Location | None,
                  values: dict[str, Any]) -> Location:
    created = loc is None
    if loc is None:
        loc = Location(id=new_id(), organisation_id=organisation_id, address_country="VN")
        session.add(loc)
    fields = _apply(loc, values)
    session.flush()
    _audit(session, actor, "directory.location_created" if created else "directory.location_changed",
           "location", loc.id, fields)
    return loc


def save_service(session: Session, actor: Any, organisation_id: str, service: Service | None,
                 values: dict[str, Any], location_id: str | None) -> Service:
    created = service is None
    if service is None:
        service = Service(id=new_id(), organisation_id=organisation_id)
        session.add(service)
    fields = _apply(service, values)
    session.flush()
    if _place(session, service, location_id):
        fields.append("location")
    _audit(session, actor, "directory.service_created" if created else "directory.service_changed",
           "service", service.id, fields)
    return service


def _place(session: Session, service: Service, location_id: str | None) -> bool:
    """Offer the service at exactly one location (or none); True when that changed."""
    links = session.scalars(select(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id)).all()
    if [link.location_id for link in links] == ([location_id] if location_id else []):
        return False
    for link in links:
        session.delete(link)
    session.flush()
    if location_id:
        session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location_id))
    session.flush()
    session.expire(service, ["locations"])
    return True


def import_document(session: Session, actor: Any, document: dict[str, Any]) -> dict[str, int]:
    counts = hsds.load(session, document)
    record(session, "directory.imported", actor_id=actor.id, actor_role=actor.role, object_type="directory",
           details=counts)
    return counts
