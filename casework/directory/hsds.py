"""Directory export and import as Open Referral HSDS 3.0 JSON.

Follows HSDS 3.0 as published in the repository openreferral/specification, tag ``v3.0``
(commit c457a0e3ecb0cfe43525ea8bcdbfd62542ed6730, documented there as release 3.0.1),
``schema/compiled/organization.json``. docs/HSDS.md explains the mapping.

Export: ``{"version": "3.0", "organizations": [...]}``, each organization a complete HSDS 3.0
organization object with its services, locations (with one address), phones and schedules
nested. Absent optional fields are left out; required strings casework has no value for
(organization ``description``, address ``city``, ``state_province``, ``postal_code``) are
written as "". Facts HSDS has no field for — organisation kind and active flag, need
domain, free/no-ID/confidential, referral deadlines — travel as HSDS ``attributes`` whose
``taxonomy_term`` belongs to the taxonomy "casework" (``taxonomy``, ``taxonomy_id``,
``taxonomy_detail``). Ids of rows casework does not store (phones, addresses, schedules,
service-at-location links, attributes, terms) are UUIDv5 derived from their parent, so an
export is reproducible and export → import → export gives the same document.

Import (``read`` then ``load``) takes casework's own file, one HSDS organization, a service
or a service-at-location with its ``organization`` nested, a JSON list of those, or an HSDS
API page (``contents``). It checks casework's schema (``hsds_schema.json``, the subset of
HSDS 3.0 that casework reads and writes), then the meaning (unique ids, known codes,
locations that exist). What casework cannot hold is not an error: ``not_kept`` names it
(field paths and counts) for the import report. ``load`` writes nothing itself unless the
caller commits, so a file is imported whole or not at all.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import vocab
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation

HSDS_VERSION = "3.0"
NAMESPACE = uuid.UUID("5f0c4c1e-8a55-4f0b-9a3e-7c2a1d9b6e41")
TAXONOMY = "casework"
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy/casework"))
TAXONOMY_DETAIL = {
    "id": TAXONOMY_ID,
    "name": TAXONOMY,
    "description": "Facts the casework referral system keeps about organisations and services that "
                   "HSDS 3.0 has no field for. Each attribute's value holds the fact.",
    "version": "1",
}
# term code -> (name, description); the attribute's value holds the fact
TERMS = {
    "organisation_kind": ("Organisation kind", "What kind of organisation this is, as one of casework's codes: "
                          + ", ".join(vocab.ORGANISATION_KINDS) + "."),
    "organisation_active": ("Organisation active", "'true' when collaborators can refer clients to the "
                            "organisation, 'false' when it is inactive."),
    "need_domain": ("Need domain", "The need the service answers, as one of casework's codes: "
                    + ", ".join(vocab.NEED_DOMAINS) + "."),
    "free_of_charge": ("Free of charge", "'true' when the service costs the client nothing, else 'false'."),
    "no_id_needed": ("No identity document needed", "'true' when the client needs no identity document, "
                     "else 'false'."),
    "confidential": ("Confidential", "'true' when the service keeps the client's identity confidential, "
                     "else 'false'."),
    "accept_within_days": ("Days to accept a referral", "Whole number of days (1 to 60) within which the "
                           "service accepts or declines a referral."),
    "complete_within_days": ("Days to complete a referral", "Whole number of days (1 to 365) within which "
                             "a referral to the service is completed."),
}
TERM_IDS = {code: str(uuid.uuid5(NAMESPACE, f"term/{code}")) for code in TERMS}
CODE_BY_TERM_ID = {term_id: code for code, term_id in TERM_IDS.items()}
FLAG_TERMS = {"free_of_charge": "is_free", "no_id_needed": "no_id_needed", "confidential": "confidential"}
DAY_TERMS = {"accept_within_days": ("accept_within_days", 1, 60, 3),
             "complete_within_days": ("complete_within_days", 1, 365, 30)}
COLLECTIONS = {"organizations": "organization", "services": "service", "locations": "location",
               "phones": "phone", "attributes": "attribute", "addresses": "address", "schedules": "schedule",
               "service_at_locations": "service_at_location"}
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
MAX_DEPTH = 64  # HSDS 3.0 objects nest about 20 deep; far deeper JSON is no directory
# Keys an HSDS organization, service or service-at-location never has, but a location, taxonomy,
# taxonomy term or attribute does: such a file is not one casework can import.
OTHER_ENTITY_KEYS = {"location_type", "code", "taxonomy", "taxonomy_id", "taxonomy_detail", "term_uri",
                     "parent_id", "version", "link_id", "link_entity", "taxonomy_term_id"}


def _derived(parent_id: str, what: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{parent_id}/{what}"))


def _term(code: str) -> dict[str, Any]:
    name, description = TERMS[code]
    return {"id": TERM_IDS[code], "code": code, "name": name, "description": description,
            "taxonomy": TAXONOMY, "taxonomy_id": TAXONOMY_ID, "taxonomy_detail": dict(TAXONOMY_DETAIL)}


def _attribute(entity: str, link_id: str, code: str, value: str) -> dict[str, Any]:
    return {"id": _derived(link_id, f"attribute/{code}"), "link_id": link_id, "link_entity": entity,
            "taxonomy_term_id": TERM_IDS[code], "taxonomy_term": _term(code), "value": value}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _put(item: dict[str, Any], key: str, value: str | None) -> None:
    """Optional HSDS strings are left out when casework has no value (HSDS allows no null)."""
    if value:
        item[key] = value


def _uri(website: str | None) -> str | None:
    """HSDS ``website`` is a URI: a bare host name such as ``tanhung.gov.vn`` gets ``https://``."""
    if not website:
        return None
    return website if SCHEME.match(website) else f"https://{website}"


# --- export -----------------------------------------------------------------------------


def export(session: Session) -> dict[str, Any]:
    organisations = session.scalars(select(Organisation).order_by(Organisation.name, Organisation.id)).all()
    return {"version": HSDS_VERSION, "organizations": [_organisation(o) for o in organisations]}


def _phones(parent_id: str, number: str | None) -> list[dict[str, Any]]:
    return [{"id": _derived(parent_id, "phone"), "number": number}] if number else []


def _organisation(org: Organisation) -> dict[str, Any]:
    item: dict[str, Any] = {"id": org.id, "name": org.name, "description": org.description or ""}
    _put(item, "alternate_name", org.alternate_name)
    _put(item, "email", org.email)
    _put(item, "website", _uri(org.website))
    item["phones"] = _phones(org.id, org.phone)
    item["attributes"] = [_attribute("organization", org.id, "organisation_kind", org.kind),
                          _attribute("organization", org.id, "organisation_active", _bool(org.active))]
    item["locations"] = [_location(loc) for loc in sorted(org.locations, key=lambda x: (x.name, x.id))]
    item["services"] = [_service(s) for s in sorted(org.services, key=lambda x: (x.name, x.id))]
    return item


def _location(loc: Location) -> dict[str, Any]:
    item: dict[str, Any] = {"id": loc.id, "organization_id": loc.organisation_id, "location_type": "physical",
                            "name": loc.name}
    _put(item, "description", loc.description)
    country = loc.address_country or "VN"
    item["addresses"] = []
    if loc.address_1 or loc.address_locality or loc.address_region or country != "VN":
        item["addresses"].append({
            "id": _derived(loc.id, "address"), "location_id": loc.id, "address_1": loc.address_1 or "",
            "city": loc.address_locality or "", "state_province": loc.address_region or "",
            "postal_code": "", "country": country, "address_type": "physical"})
    return item


def _service(service: Service) -> dict[str, Any]:
    item: dict[str, Any] = {"id": service.id, "organization_id": service.organisation_id, "name": service.name,
                            "status": service.status}
    _put(item, "description", service.description)
    _put(item, "email", service.email)
    _put(item, "eligibility_description", service.eligibility_description)
    item["phones"] = _phones(service.id, service.phone)
    item["schedules"] = ([{"id": _derived(service.id, "schedule"), "service_id": service.id,
                           "description": service.opening_hours}] if service.opening_hours else [])
    item["service_at_locations"] = [
        {"id": _derived(f"{service.id}/{loc.id}", "service_at_location"), "service_id": service.id,
         "location_id": loc.id} for loc in sorted(service.locations, key=lambda x: x.id)]
    attributes = [_attribute("service", service.id, "need_domain", service.need_domain)]
    attributes += [_attribute("service", service.id, term, _bool(getattr(service, column)))
                   for term, column in FLAG_TERMS.items()]
    attributes += [_attribute("service", service.id, term, str(getattr(service, column)))
                   for term, (column, *_limits) in DAY_TERMS.items()]
    item["attributes"] = attributes
    return item


def export_json(session: Session) -> str:
    return json.dumps(export(session), ensure_ascii=False, indent=2, sort_keys=True)


# --- reading a file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (entity, 1-based number, name), which field, what kind.

    ``kind``: ``not_json``, ``not_hsds``, ``nul_character``, ``missing``, ``invalid``, ``unknown_code``,
    ``duplicate_id``, ``unknown_location``, ``no_need_domain``, ``belongs_elsewhere``, ``unknown_property``.
    """

    where: tuple[tuple[str, int, str | None], ...]
    field: str | None
    kind: str


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(resources.files("casework.directory").joinpath("hsds_schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@cache
def _hsds_properties() -> dict[str, frozenset[str]]:
    raw = json.loads(resources.files("casework.directory").joinpath("hsds_properties.json").read_text("utf-8"))
    return {holder: frozenset(names) for holder, names in raw["properties"].items()}


# Roots casework reads besides a bare entity or list: its own export file, and an HSDS page.
EXPORT_ROOT_KEYS = frozenset({"version", "organizations"})
PAGE_KEYS = frozenset({"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty",
                       "contents"})
_ENTITY_OF = {"organization": "organization", "services": "service", "service": "service", "locations": "location",
              "location": "location", "service_at_locations": "service_at_location",
              "service_at_location": "service_at_location"}


def unknown_properties(document: Any) -> list[Problem]:
    """Every field of the file that HSDS 3.0 does not define (a misspelling, or another format's)."""
    found: list[Problem] = []
    if isinstance(document, dict) and isinstance(document.get("organizations"), list):
        found += [Problem((), key, "unknown_property") for key in document if key not in EXPORT_ROOT_KEYS | PAGE_KEYS]
        items = [("organization", item) for item in document["organizations"]]
    elif isinstance(document, dict) and isinstance(document.get("contents"), list):
        found += [Problem((), key, "unknown_property") for key in document if key not in PAGE_KEYS]
        items = [(_kind(item), item) for item in document["contents"]]
    elif isinstance(document, list):
        items = [(_kind(item), item) for item in document]
    else:
        items = [(_kind(document), document)]
    for number, (kind, item) in enumerate(items, start=1):
        if isinstance(item, dict) and kind in ("organization", "service", "service_at_location"):
            name = item.get("name") if isinstance(item.get("name"), str) else None
            _unknown_in(item, kind, ((_ENTITY_OF[kind], number, name),), "", found)
    return found


def _unknown_in(node: dict[str, Any], holder: str, where: tuple[tuple[str, int, str | None], ...], prefix: str,
                found: list[Problem]) -> None:
    known = _hsds_properties().get(holder)
    if known is None or len(found) >= 50:
        return
    for key, value in node.items():
        if key not in known:
            found.append(Problem(where, prefix + key, "unknown_property"))
            continue
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                continue
            if key in _ENTITY_OF:
                name = item.get("name") if isinstance(item.get("name"), str) else None
                _unknown_in(item, key, (*where, (_ENTITY_OF[key], number, name)), "", found)
            else:
                _unknown_in(item, key, where, f"{prefix}{key}[{number}]." if isinstance(value, list)
                            else f"{prefix}{key}.", found)


def parse(raw: bytes) -> tuple[Any, list[Problem]]:
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None, [Problem((), None, "not_json")]
    problem = _shape_problem(document)
    return (None, [Problem((), None, problem)]) if problem else (document, [])


def _shape_problem(document: Any) -> str | None:
    """``not_hsds`` for JSON nested far deeper than HSDS, ``nul_character`` for text no database can hold."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "not_hsds"
        if isinstance(node, str) and "\x00" in node:
            return "nul_character"
        if isinstance(node, dict):
            stack.extend((key, depth) for key in node)
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return None


def read(document: Any, *, default_need_domain: str | None = None,
         session: Session | None = None) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The import plan for ``load``, or everything wrong with the file (schema first).

    A new service the file gives no casework need domain for is imported inactive with
    ``default_need_domain``; without one, such a file is refused (``no_need_domain``). With a
    ``session``, services that already exist keep the need domain casework has for them.
    """
    organizations, problems = _organizations(document)
    if problems:
        return None, problems
    unknown = unknown_properties(document)
    if unknown:
        return None, unknown[:50]
    normalised = {"organizations": organizations}
    errors = sorted(_validator().iter_errors(normalised), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        return None, [_schema_problem(normalised, e) for e in errors[:50]]
    problems = list(_meaning_problems(organizations, default_need_domain, session))[:50]
    if problems:
        return None, problems
    return {"organizations": organizations, "default_need_domain": default_need_domain}, []


def _kind(item: Any) -> str:
    if not isinstance(item, dict):
        return "organization"
    if OTHER_ENTITY_KEYS & item.keys():
        return "other"
    if isinstance(item.get("service"), dict) and "name" not in item:
        return "service_at_location"
    if "services" not in item and ("status" in item or isinstance(item.get("organization"), dict)):
        return "service"
    return "organization"


def _organizations(document: Any) -> tuple[list[Any], list[Problem]]:
    """Every organization in the file, each a copy with its services nested (HSDS organization shape)."""
    if isinstance(document, dict) and isinstance(document.get("organizations"), list):
        return copy.deepcopy(document["organizations"]), []
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        items = document["contents"]
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict) and any(k in document for k in ("id", "name", "service", "organization")):
        items = [document]
    else:
        return [], [Problem((), None, "not_hsds")]
    if any(_kind(item) == "other" for item in items):
        return [], [Problem((), None, "not_hsds")]
    organizations: list[Any] = []
    from_services: dict[str, dict[str, Any]] = {}
    problems = []
    for number, item in enumerate(items, start=1):
        kind = _kind(item)
        if kind == "organization":
            organizations.append(copy.deepcopy(item))
            continue
        if kind == "service_at_location":
            link = copy.deepcopy(item)
            service = link.pop("service")
            links = service.get("service_at_locations")
            links = links if isinstance(links, list) else []
            if not any(isinstance(x, dict) and x.get("id") == link.get("id") for x in links):
                links.append(link)
            service["service_at_locations"] = links
        else:
            service = copy.deepcopy(item)
        org = service.pop("organization", None)
        if not isinstance(org, dict) or not isinstance(org.get("id"), str):
            name = service.get("name") if isinstance(service.get("name"), str) else None
            problems.append(Problem((("service", number, name),), "organization", "missing"))
            continue
        target = from_services.get(org["id"].lower())
        if target is None:
            target = org
            target["services"] = target["services"] if isinstance(target.get("services"), list) else []
            from_services[org["id"].lower()] = target
            organizations.append(target)
        known = next((s for s in target["services"] if isinstance(s, dict) and s.get("id") == service.get("id")), None)
        if known is None:
            target["services"].append(service)
        else:  # the same service again, e.g. at another location
            links = service.get("service_at_locations")
            if isinstance(links, list) and isinstance(known.setdefault("service_at_locations", []), list):
                ids = {x.get("id") for x in known["service_at_locations"] if isinstance(x, dict)}
                known["service_at_locations"] += [x for x in links if isinstance(x, dict) and x.get("id") not in ids]
    return organizations, problems


def _where(document: Any, path: list[Any]) -> tuple[tuple[tuple[str, int, str | None], ...], str | None]:
    where = []
    node = document
    field_name = None
    i = 0
    while i < len(path):
        key = path[i]
        if key in COLLECTIONS and i + 1 < len(path) and isinstance(path[i + 1], int):
            node = node[key][path[i + 1]]
            name = node.get("name") if isinstance(node, dict) and isinstance(node.get("name"), str) else None
            where.append((COLLECTIONS[key], path[i + 1] + 1, name))
            field_name = None
            i += 2
            continue
        field_name = str(key)
        node = node[key] if isinstance(node, dict | list) else node
        i += 1
    return tuple(where), field_name


def _schema_problem(document: Any, error: Any) -> Problem:
    path = list(error.absolute_path)
    where, field_name = _where(document, path)
    if error.validator == "required":
        missing = next((f for f in error.validator_value if f not in error.instance), None)
        return Problem(where, missing, "missing")
    return Problem(where, field_name, "invalid")


def _casework_code(attribute: dict[str, Any]) -> str | None:
    """The casework term an attribute carries (by the term's id, or taxonomy "casework" and code)."""
    term = attribute.get("taxonomy_term") if isinstance(attribute.get("taxonomy_term"), dict) else {}
    term_id = str(term.get("id") or attribute.get("taxonomy_term_id") or "").lower()
    if term_id in CODE_BY_TERM_ID:
        return CODE_BY_TERM_ID[term_id]
    detail = term.get("taxonomy_detail") if isinstance(term.get("taxonomy_detail"), dict) else {}
    ours = (term.get("taxonomy") == TAXONOMY or str(term.get("taxonomy_id", "")).lower() == TAXONOMY_ID
            or str(detail.get("id", "")).lower() == TAXONOMY_ID)
    return term.get("code") if ours and term.get("code") in TERMS else None


def _attributes(item: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """casework's facts on an organization or service (code -> value), and codes given twice differently."""
    found: dict[str, Any] = {}
    conflicting = set()
    for attribute in item.get("attributes", []):
        code = _casework_code(attribute)
        if code is None:
            continue
        if code in found and found[code] != attribute.get("value"):
            conflicting.add(code)
        found[code] = attribute.get("value")
    return found, conflicting


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _link_location_id(link: dict[str, Any]) -> str | None:
    nested = link.get("location") if isinstance(link.get("location"), dict) else {}
    return link.get("location_id") or nested.get("id")


def _exists(session: Session | None, model: type, item_id: str) -> bool:
    return session is not None and session.get(model, item_id) is not None


def _meaning_problems(organizations: list[dict[str, Any]], default_need_domain: str | None,
                      session: Session | None) -> Iterator[Problem]:
    seen: set[str] = set()
    owner = {loc["id"].lower(): o for o, org in enumerate(organizations) for loc in org.get("locations", [])}
    for o_index, org in enumerate(organizations, start=1):
        here = (("organization", o_index, org["name"]),)
        yield from _duplicate(seen, org["id"], here)
        attrs, conflicting = _attributes(org)
        for code in sorted(conflicting):
            yield Problem(here, code, "invalid")
        if "organisation_kind" in attrs and attrs["organisation_kind"] not in vocab.ORGANISATION_KINDS:
            yield Problem(here, "organisation_kind", "unknown_code")
        if attrs.get("organisation_active", "true") not in ("true", "false"):
            yield Problem(here, "organisation_active", "invalid")
        locations = set()
        for l_index, loc in enumerate(org.get("locations", []), start=1):
            yield from _duplicate(seen, loc["id"], (*here, ("location", l_index, loc["name"])))
            yield from _elsewhere(session, Location, loc["id"], org["id"], (*here, ("location", l_index, loc["name"])))
            locations.add(loc["id"].lower())
        for s_index, service in enumerate(org.get("services", []), start=1):
            there = (*here, ("service", s_index, service["name"]))
            yield from _duplicate(seen, service["id"], there)
            yield from _elsewhere(session, Service, service["id"], org["id"], there)
            yield from _service_problems(service, there, default_need_domain, session)
            for link in service.get("service_at_locations", []):
                location_id = _link_location_id(link)
                nested = link.get("location")
                if isinstance(nested, dict) and link.get("location_id") and not _same(nested["id"], location_id):
                    yield Problem(there, "service_at_locations", "invalid")
                elif location_id is None or (location_id.lower() not in locations and (
                        not isinstance(nested, dict) or location_id.lower() in owner)):
                    yield Problem(there, "service_at_locations", "unknown_location")
                elif location_id.lower() not in locations:  # a place of this organisation named only here
                    yield from _duplicate(seen, location_id, there)
                    yield from _elsewhere(session, Location, location_id, org["id"], there)
                    locations.add(location_id.lower())


def _elsewhere(session: Session | None, model: type, item_id: str, organisation_id: str,
               where: tuple[tuple[str, int, str | None], ...]) -> Iterator[Problem]:
    """An id casework already has under another organisation: an import never moves it there."""
    if session is None:
        return
    row = session.get(model, item_id)
    if row is not None and row.organisation_id != organisation_id:
        yield Problem(where, "id", "belongs_elsewhere")


def _duplicate(seen: set[str], item_id: str, where: tuple[tuple[str, int, str | None], ...]) -> Iterator[Problem]:
    if item_id.lower() in seen:
        yield Problem(where, "id", "duplicate_id")
    seen.add(item_id.lower())


def _service_problems(service: dict[str, Any], where: tuple[tuple[str, int, str | None], ...],
                      default_need_domain: str | None, session: Session | None) -> Iterator[Problem]:
    attrs, conflicting = _attributes(service)
    for code in sorted(conflicting):
        yield Problem(where, code, "invalid")
    if "need_domain" in attrs:
        if attrs["need_domain"] not in vocab.NEED_DOMAINS:
            yield Problem(where, "need_domain", "unknown_code")
    elif default_need_domain not in vocab.NEED_DOMAINS and not _exists(session, Service, service["id"]):
        yield Problem(where, "need_domain", "no_need_domain")
    for term in FLAG_TERMS:
        if attrs.get(term, "false") not in ("true", "false"):
            yield Problem(where, term, "invalid")
    for term, (_column, low, high, _default) in DAY_TERMS.items():
        value = attrs.get(term)
        if term in attrs and not (isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value)
                                  and low <= int(value) <= high):
            yield Problem(where, term, "invalid")


# --- what casework does not keep ----------------------------------------------------------------

KEPT_ORGANIZATION = {"id", "name", "alternate_name", "description", "email", "website", "phones", "attributes",
                     "locations", "services"}
KEPT_LOCATION = {"id", "name", "description", "location_type", "addresses"}
KEPT_ADDRESS = {"id", "address_1", "city", "state_province", "country", "address_type"}
KEPT_SERVICE = {"id", "name", "description", "status", "email", "eligibility_description", "phones", "schedules",
                "service_at_locations", "attributes"}
KEPT_PHONE = {"id", "number"}
KEPT_SCHEDULE = {"id", "description"}
KEPT_LINK = {"id", "location_id", "location"}


@dataclass
class NotKept:
    """Field paths (``organization.services[].cost_options``) and how many values the file had there.

    ``fields``: values casework has no column for; ``extra``: entries after the first of a list
    casework keeps one of (phones, addresses, schedules).
    """

    fields: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)

    def rest(self, path: str, item: dict[str, Any], kept: set[str], links: dict[str, str] | None = None) -> None:
        """Count every field of ``item`` casework does not keep; parent ids that only repeat the nesting are kept."""
        for key, value in item.items():
            if key in kept or (links and key in links and _same(value, links[key])):
                continue
            if value not in (None, "", [], {}):
                self.fields[f"{path}.{key}"] += len(value) if isinstance(value, list) else 1

    def value(self, path: str, item: dict[str, Any], key: str, kept_values: tuple[Any, ...]) -> None:
        if item.get(key) not in (None, "", *kept_values):
            self.fields[f"{path}.{key}"] += 1

    def first(self, path: str, items: list[Any]) -> dict[str, Any] | None:
        if len(items) > 1:
            self.extra[path] += len(items) - 1
        return items[0] if items else None


def not_kept(organizations: list[dict[str, Any]]) -> NotKept:
    """What an import of these (read) organizations leaves out."""
    report = NotKept()
    for org in organizations:
        path = "organization"
        report.rest(path, org, KEPT_ORGANIZATION)
        _phones_not_kept(report, path, org, org["id"], {"organization_id": org["id"]})
        _foreign_attributes(report, path, org)
        locations = {loc["id"].lower() for loc in org.get("locations", [])}
        for loc in org.get("locations", []):
            _location_not_kept(report, f"{path}.locations[]", loc, org["id"])
        for service in org.get("services", []):
            _service_not_kept(report, f"{path}.services[]", service, org["id"], locations)
    return report


def _phones_not_kept(report: NotKept, path: str, item: dict[str, Any], parent_id: str,
                     links: dict[str, str]) -> None:
    first = report.first(f"{path}.phones[]", item.get("phones", []))
    if first is not None:
        report.rest(f"{path}.phones[]", first, KEPT_PHONE, links)
        report.value(f"{path}.phones[]", first, "id", (_derived(parent_id, "phone"),))


def _foreign_attributes(report: NotKept, path: str, item: dict[str, Any]) -> None:
    foreign = sum(1 for a in item.get("attributes", []) if _casework_code(a) is None)
    if foreign:
        report.fields[f"{path}.attributes"] += foreign


def _location_not_kept(report: NotKept, path: str, loc: dict[str, Any], org_id: str) -> None:
    report.rest(path, loc, KEPT_LOCATION, {"organization_id": org_id})
    report.value(path, loc, "location_type", ("physical",))
    address = report.first(f"{path}.addresses[]", loc.get("addresses", []))
    if address is not None:
        report.rest(f"{path}.addresses[]", address, KEPT_ADDRESS, {"location_id": loc["id"]})
        report.value(f"{path}.addresses[]", address, "id", (_derived(loc["id"], "address"),))
        report.value(f"{path}.addresses[]", address, "address_type", ("physical",))


def _service_not_kept(report: NotKept, path: str, service: dict[str, Any], org_id: str,
                      locations: set[str]) -> None:
    service_id = service["id"]
    report.rest(path, service, KEPT_SERVICE, {"organization_id": org_id})
    report.value(path, service, "status", ("active", "inactive", "defunct"))
    _phones_not_kept(report, path, service, service_id, {"service_id": service_id, "organization_id": org_id})
    schedule = report.first(f"{path}.schedules[]", service.get("schedules", []))
    if schedule is not None:
        report.rest(f"{path}.schedules[]", schedule, KEPT_SCHEDULE, {"service_id": service_id})
        report.value(f"{path}.schedules[]", schedule, "id", (_derived(service_id, "schedule"),))
    for link in service.get("service_at_locations", []):
        link_path = f"{path}.service_at_locations[]"
        location_id = _link_location_id(link) or ""
        report.rest(link_path, link, KEPT_LINK, {"service_id": service_id})
        report.value(link_path, link, "id", (_derived(f"{service_id}/{location_id}", "service_at_location"),))
        nested = link.get("location")
        if isinstance(nested, dict) and location_id.lower() not in locations:
            locations.add(location_id.lower())
            _location_not_kept(report, f"{link_path}.location", nested, org_id)
    _foreign_attributes(report, path, service)


# --- import -----------------------------------------------------------------------------


def load(session: Session, plan: dict[str, Any]) -> dict[str, Any]:
    """Create or update every organization, location and service of a ``read`` plan.

    Rows are matched by id; nothing is deleted. Facts the file does not give keep casework's
    value for an existing row and get a default for a new one: kind "other" for an
    organisation; for a service the plan's default need domain and status inactive (listed
    in ``services_to_check``). The caller commits (all or nothing). Returns counts, what was
    not kept and the ids to check: plain codes, ids and counts, fit for the audit log.
    """
    default_need = plan.get("default_need_domain")
    counts = {"organizations": 0, "locations": 0, "services": 0}
    to_check: list[str] = []
    kind_other: list[str] = []
    for item in plan["organizations"]:
        org, created = _upsert(session, Organisation, item["id"])
        attrs, _conflicting = _attributes(item)
        org.name = item["name"]
        org.alternate_name, org.description = _text(item, "alternate_name"), _text(item, "description")
        org.email, org.website, org.phone = _text(item, "email"), _text(item, "website"), _first_phone(item)
        if "organisation_kind" in attrs:
            org.kind = attrs["organisation_kind"]
        elif created:
            org.kind = "other"
            kind_other.append(org.id)
        if "organisation_active" in attrs or created:
            org.active = attrs.get("organisation_active", "true") == "true"
        counts["organizations"] += 1
        places = _all_locations(item)
        for loc_item in places:
            _load_location(session, org.id, loc_item)
            counts["locations"] += 1
        session.flush()
        place_ids = {loc["id"].lower(): loc["id"] for loc in places}
        for service_item in item.get("services", []):
            if _load_service(session, org.id, service_item, default_need, place_ids):
                to_check.append(service_item["id"])
            counts["services"] += 1
    session.flush()
    report = not_kept(plan["organizations"])
    return {**counts,
            "not_kept": sorted(report.fields), "not_kept_counts": [report.fields[k] for k in sorted(report.fields)],
            "not_kept_extra": sorted(report.extra),
            "not_kept_extra_counts": [report.extra[k] for k in sorted(report.extra)],
            "services_to_check": to_check, "organisations_kind_other": kind_other,
            "default_need_domain": default_need if to_check else None}


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _upsert(session: Session, model: type, item_id: str) -> tuple[Any, bool]:
    row = session.get(model, item_id)
    if row is not None:
        return row, False
    row = model(id=item_id)
    session.add(row)
    return row, True


def _first_phone(item: dict[str, Any]) -> str | None:
    phones = item.get("phones") or []
    return phones[0]["number"] if phones else None


def _all_locations(org: dict[str, Any]) -> list[dict[str, Any]]:
    """The organization's locations, then places named only inside its services' location links."""
    found = list(org.get("locations", []))
    known = {loc["id"].lower() for loc in found}
    for service in org.get("services", []):
        for link in service.get("service_at_locations", []):
            nested = link.get("location")
            if isinstance(nested, dict) and nested["id"].lower() not in known:
                known.add(nested["id"].lower())
                found.append(nested)
    return found


def _load_location(session: Session, organisation_id: str, item: dict[str, Any]) -> None:
    loc, _created = _upsert(session, Location, item["id"])
    loc.organisation_id = organisation_id
    loc.name, loc.description = item["name"], _text(item, "description")
    address = (item.get("addresses") or [{}])[0]
    loc.address_1 = _text(address, "address_1")
    loc.address_locality = _text(address, "city")
    loc.address_region = _text(address, "state_province")
    loc.address_country = _text(address, "country") or "VN"


def _load_service(session: Session, organisation_id: str, item: dict[str, Any], default_need: str | None,
                  place_ids: dict[str, str]) -> bool:
    """Write one service; True when it got the default need domain and must be checked."""
    service, created = _upsert(session, Service, item["id"])
    attrs, _conflicting = _attributes(item)
    service.organisation_id = organisation_id
    service.name, service.description = item["name"], _text(item, "description")
    service.status = "inactive" if item["status"] == "temporarily closed" else item["status"]
    service.email = _text(item, "email")
    service.eligibility_description = _text(item, "eligibility_description")
    service.phone = _first_phone(item)
    schedules = item.get("schedules") or [{}]
    service.opening_hours = _text(schedules[0], "description")
    to_check = False
    if "need_domain" in attrs:
        service.need_domain = attrs["need_domain"]
    elif created:
        service.need_domain = default_need
        service.status = "defunct" if item["status"] == "defunct" else "inactive"
        to_check = True
    for term, column in FLAG_TERMS.items():
        if term in attrs or created:
            setattr(service, column, attrs.get(term) == "true")
    for term, (column, _low, _high, default) in DAY_TERMS.items():
        if term in attrs or created:
            setattr(service, column, int(attrs.get(term, default)))
    wanted = {place_ids[str(_link_location_id(link)).lower()] for link in item.get("service_at_locations", [])}
    session.flush()
    existing = {row.location_id: row for row in session.scalars(
        select(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id))}
    for location_id, row in existing.items():
        if location_id not in wanted:
            session.delete(row)
    for location_id in sorted(wanted - existing.keys()):
        session.add(ServiceAtLocation(service_id=service.id, location_id=location_id))
    return to_check
