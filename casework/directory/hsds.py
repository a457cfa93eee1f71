"""Directory export and import as Open Referral HSDS 3.0 JSON.

The file is ``{"version": "3.0", "organizations": [...]}`` with services,
locations (with addresses), phones and schedules nested in each organization,
all with UUID ids. Facts HSDS has no field for — organisation kind, need
domain, free/no-ID/confidential, referral deadlines — travel as HSDS
``attributes`` whose taxonomy term has vocabulary ``casework``; ids of the
nested rows casework does not store (phones, addresses, attributes) are
UUIDv5 derived from their parent, so an export is reproducible.

``validate`` checks the bundled JSON Schema (``hsds_schema.json``, a subset
of HSDS 3.0) and then the meaning (known codes, unique ids, locations that
exist); ``load`` writes nothing unless the whole file is valid.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import vocab
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation

HSDS_VERSION = "3.0"
VOCABULARY = "casework"
NAMESPACE = uuid.UUID("5f0c4c1e-8a55-4f0b-9a3e-7c2a1d9b6e41")
FLAG_TERMS = {"free_of_charge": "is_free", "no_id_needed": "no_id_needed", "confidential": "confidential"}
DAY_TERMS = {"accept_within_days": ("accept_within_days", 1, 60),
             "complete_within_days": ("complete_within_days", 1, 365)}
COLLECTIONS = {"organizations": "organization", "services": "service", "locations": "location",
               "phones": "phone", "attributes": "attribute", "addresses": "address", "schedules": "schedule",
               "service_at_locations": "service_at_location"}


def _derived(parent_id: str, what: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{parent_id}/{what}"))


def _term(code: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid5(NAMESPACE, f"term/{code}")), "code": code, "name": code,
            "description": None, "vocabulary": VOCABULARY}


def _attribute(entity: str, link_id: str, code: str, value: str) -> dict[str, Any]:
    term = _term(code)
    return {"id": _derived(link_id, f"attribute/{code}"), "link_id": link_id, "link_type": code,
            "link_entity": entity, "taxonomy_term_id": term["id"], "taxonomy_term": term,
            "value": value, "label": code}


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- export -----------------------------------------------------------------------------


def export(session: Session) -> dict[str, Any]:
    organisations = session.scalars(select(Organisation).order_by(Organisation.name, Organisation.id)).all()
    return {"version": HSDS_VERSION, "organizations": [_organisation(o) for o in organisations]}


def _phones(parent_id: str, number: str | None) -> list[dict[str, Any]]:
    return [{"id": _derived(parent_id, "phone"), "number": number, "type": "voice"}] if number else []


def _organisation(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id, "name": org.name, "alternate_name": org.alternate_name, "description": org.description,
        "email": org.email, "website": org.website, "phones": _phones(org.id, org.phone),
        "attributes": [_attribute("organization", org.id, "organisation_kind", org.kind),
                       _attribute("organization", org.id, "organisation_active", _bool(org.active))],
        "locations": [_location(loc) for loc in sorted(org.locations, key=lambda x: (x.name, x.id))],
        "services": [_service(s) for s in sorted(org.services, key=lambda x: (x.name, x.id))],
    }


def _location(loc: Location) -> dict[str, Any]:
    addresses = []
    if loc.address_1 or loc.address_locality or loc.address_region:
        addresses.append({"id": _derived(loc.id, "address"), "location_id": loc.id, "address_1": loc.address_1 or "",
                          "city": loc.address_locality, "state_province": loc.address_region,
                          "postal_code": None, "country": loc.address_country or "VN", "address_type": "physical"})
    return {"id": loc.id, "organization_id": loc.organisation_id, "location_type": "physical", "name": loc.name,
            "description": loc.description, "addresses": addresses}


def _service(service: Service) -> dict[str, Any]:
    attributes = [_attribute("service", service.id, "need_domain", service.need_domain)]
    attributes += [_attribute("service", service.id, term, _bool(getattr(service, column)))
                   for term, column in FLAG_TERMS.items()]
    attributes += [_attribute("service", service.id, term, str(getattr(service, column)))
                   for term, (column, _low, _high) in DAY_TERMS.items()]
    schedules = ([{"id": _derived(service.id, "schedule"), "service_id": service.id,
                   "description": service.opening_hours}] if service.opening_hours else [])
    return {
        "id": service.id, "organization_id": service.organisation_id, "name": service.name,
        "description": service.description, "status": service.status, "email": service.email,
        "eligibility_description": service.eligibility_description, "phones": _phones(service.id, service.phone),
        "schedules": schedules,
        "service_at_locations": [{"id": _derived(f"{service.id}/{loc.id}", "service_at_location"),
                                  "service_id": service.id, "location_id": loc.id}
                                 for loc in sorted(service.locations, key=lambda x: x.id)],
        "attributes": attributes,
    }


def export_json(session: Session) -> str:
    return json.dumps(export(session), ensure_ascii=False, indent=2, sort_keys=True)


# --- validation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (entity, 1-based number, name), which field, what kind.

    ``kind``: ``not_json``, ``missing``, ``invalid``, ``unknown_code``, ``duplicate_id``, ``unknown_location``.
    """

    where: tuple[tuple[str, int, str | None], ...]
    field: str | None
    kind: str


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(resources.files("casework.directory").joinpath("hsds_schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def parse(raw: bytes) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(raw.decode("utf-8")), []
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, [Problem((), None, "not_json")]


def validate(document: Any) -> list[Problem]:
    """Everything wrong with the file, schema first; empty when it can be imported."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        return [_schema_problem(document, e) for e in errors[:50]]
    return list(_meaning_problems(document))[:50]


def _where(document: Any, path: list[Any]) -> tuple[tuple[tuple[str, int, str | None], ...], str | None]:
    where = []
    node = document
    field = None
    i = 0
    while i < len(path):
        key = path[i]
        if key in COLLECTIONS and i + 1 < len(path) and isinstance(path[i + 1], int):
            node = node[key][path[i + 1]]
            name = node.get("name") if isinstance(node, dict) and isinstance(node.get("name"), str) else None
            where.append((COLLECTIONS[key], path[i + 1] + 1, name))
            field = None
            i += 2
            continue
        field = str(key)
        node = node[key] if isinstance(node, dict | list) else node
        i += 1
    return tuple(where), field


def _schema_problem(document: Any, error: Any) -> Problem:
    path = list(error.absolute_path)
    where, field = _where(document, path)
    if error.validator == "required":
        missing = next((f for f in error.validator_value if f not in error.instance), None)
        return Problem(where, missing, "missing")
    return Problem(where, field, "invalid")


def _attributes(item: dict[str, Any]) -> dict[str, str]:
    found = {}
    for attribute in item.get("attributes", []):
        term = attribute.get("taxonomy_term") or {}
        code = term.get("code") or attribute.get("label")
        if code:
            found[code] = attribute["value"]
    return found


def _meaning_problems(document: dict[str, Any]) -> Iterator[Problem]:
    seen: set[str] = set()
    for o_index, org in enumerate(document["organizations"], start=1):
        here = (("organization", o_index, org["name"]),)
        yield from _duplicate(seen, org["id"], here)
        attrs = _attributes(org)
        if attrs.get("organisation_kind") not in vocab.ORGANISATION_KINDS:
            yield Problem(here, "organisation_kind", "unknown_code")
        if attrs.get("organisation_active", "true") not in ("true", "false"):
            yield Problem(here, "organisation_active", "invalid")
        locations = set()
        for l_index, loc in enumerate(org.get("locations", []), start=1):
            yield from _duplicate(seen, loc["id"], (*here, ("location", l_index, loc["name"])))
            locations.add(loc["id"])
        for s_index, service in enumerate(org.get("services", []), start=1):
            there = (*here, ("service", s_index, service["name"]))
            yield from _duplicate(seen, service["id"], there)
            yield from _service_problems(service, there, locations)


def _duplicate(seen: set[str], item_id: str, where: tuple[tuple[str, int, str | None], ...]) -> Iterator[Problem]:
    if item_id.lower() in seen:
        yield Problem(where, "id", "duplicate_id")
    seen.add(item_id.lower())


def _service_problems(service: dict[str, Any], where: tuple[tuple[str, int, str | None], ...],
                      locations: set[str]) -> Iterator[Problem]:
    attrs = _attributes(service)
    if attrs.get("need_domain") not in vocab.NEED_DOMAINS:
        yield Problem(where, "need_domain", "unknown_code")
    for term in FLAG_TERMS:
        if attrs.get(term, "false") not in ("true", "false"):
            yield Problem(where, term, "invalid")
    for term, (_column, low, high) in DAY_TERMS.items():
        value = attrs.get(term)
        if value is not None and not (value.isdigit() and low <= int(value) <= high):
            yield Problem(where, term, "invalid")
    for link in service.get("service_at_locations", []):
        if link["location_id"] not in locations:
            yield Problem(where, "service_at_locations", "unknown_location")


# --- import -----------------------------------------------------------------------------


def load(session: Session, document: dict[str, Any]) -> dict[str, int]:
    """Create or update every organization, location and service in a validated document.

    Rows are matched by id; nothing is deleted. The caller commits (all or nothing).
    """
    counts = {"organizations": 0, "locations": 0, "services": 0}
    for item in document["organizations"]:
        org = _upsert(session, Organisation, item["id"])
        attrs = _attributes(item)
        org.name, org.alternate_name, org.description = item["name"], item.get("alternate_name"), \
            item.get("description")
        org.email, org.website = item.get("email"), item.get("website")
        org.phone = _first_phone(item)
        org.kind = attrs["organisation_kind"]
        org.active = attrs.get("organisation_active", "true") == "true"
        counts["organizations"] += 1
        for loc_item in item.get("locations", []):
            _load_location(session, org.id, loc_item)
            counts["locations"] += 1
        session.flush()
        for service_item in item.get("services", []):
            _load_service(session, org.id, service_item)
            counts["services"] += 1
    session.flush()
    return counts


def _upsert(session: Session, model: type, item_id: str) -> Any:
    row = session.get(model, item_id)
    if row is None:
        row = model(id=item_id)
        session.add(row)
    return row


def _first_phone(item: dict[str, Any]) -> str | None:
    phones = item.get("phones") or []
    return phones[0]["number"] if phones else None


def _load_location(session: Session, organisation_id: str, item: dict[str, Any]) -> None:
    loc = _upsert(session, Location, item["id"])
    loc.organisation_id = organisation_id
    loc.name, loc.description = item["name"], item.get("description")
    address = (item.get("addresses") or [None])[0]
    loc.address_1 = (address["address_1"] or None) if address else None
    loc.address_locality = address.get("city") if address else None
    loc.address_region = address.get("state_province") if address else None
    loc.address_country = address["country"] if address else "VN"


def _load_service(session: Session, organisation_id: str, item: dict[str, Any]) -> None:
    service = _upsert(session, Service, item["id"])
    attrs = _attributes(item)
    service.organisation_id = organisation_id
    service.name, service.description, service.status = item["name"], item.get("description"), item["status"]
    service.email = item.get("email")
    service.eligibility_description = item.get("eligibility_description")
    service.phone = _first_phone(item)
    schedules = item.get("schedules") or []
    service.opening_hours = schedules[0].get("description") if schedules else None
    service.need_domain = attrs["need_domain"]
    for term, column in FLAG_TERMS.items():
        setattr(service, column, attrs.get(term) == "true")
    for term, (column, _low, _high) in DAY_TERMS.items():
        setattr(service, column, int(attrs.get(term, 3 if column == "accept_within_days" else 30)))
    wanted = {link["location_id"] for link in item.get("service_at_locations", [])}
    session.flush()
    existing = {row.location_id: row for row in session.scalars(
        select(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id))}
    for location_id, row in existing.items():
        if location_id not in wanted:
            session.delete(row)
    for location_id in wanted - existing.keys():
        session.add(ServiceAtLocation(service_id=service.id, location_id=location_id))
