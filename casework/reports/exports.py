"""Writing a published report (``services.publish``) in every export format.

Each writer takes the same payload the screen shows, so the same figures are hidden everywhere,
and yields its output in pieces: an export never holds more than one report's aggregate figures
(a few hundred numbers, whatever the number of clients) and never a row per client.

Formats: CSV (one figure per line), JSON (the payload), XLSX (openpyxl write-only), DHIS2
``dataValueSets`` JSON (codes from the mapping file, ``idScheme=code``), IHE ADX XML.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr  # escapes output we write; no XML is parsed  # nosec B406

from flask_babel import gettext as _
from openpyxl import Workbook

from casework import clock
from casework.reports import definitions as d

ADX_NAMESPACE = "urn:ihe:qrph:adx:2015"


@dataclass(frozen=True)
class Format:
    name: str
    mimetype: str
    extension: str


FORMATS = {
    "csv": Format("csv", "text/csv; charset=utf-8", "csv"),
    "json": Format("json", "application/json", "json"),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "dhis2": Format("dhis2", "application/json", "dhis2.json"),
    "adx": Format("adx", "application/xml", "adx.xml"),
}


def filename(payload: dict[str, Any], fmt: Format) -> str:
    """``casework-2026Q1-official.csv``: the period and profile only, never a name or a figure."""
    return f"casework-{payload['period']['key']}-{payload['profile']}.{fmt.extension}"


def figures(payload: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """Every figure of a payload as (table, row, column, value), in a fixed order."""
    for row in d.HEADLINE_ROWS:
        yield "headline", row, "value", payload["headline"][row]
    yield "headline", "indicator_percent", "value", payload["headline"]["indicator_percent"]
    for table_id, rows in payload["tables"].items():
        for entry in rows:
            for column, value in entry["values"].items():
                yield table_id, entry["row"], column, value
            if entry.get("percent") is not None:
                yield table_id, entry["row"], "percent", entry["percent"]
    for measure, rows in payload["medians"].items():
        for kind, value in rows.items():
            yield "median_days", kind, measure, value


def write(payload: dict[str, Any], fmt: str, *, mapping: dict[str, Any], org_unit: str) -> Iterator[Any]:
    """The payload in format ``fmt``; labels are in the current language (needs an app context)."""
    if fmt == "csv":
        return write_csv(payload, labels)
    if fmt == "json":
        return write_json(payload)
    if fmt == "xlsx":
        return write_xlsx(payload, sheets(payload))
    if fmt == "dhis2":
        return write_dhis2(payload, mapping, org_unit)
    if fmt == "adx":
        return write_adx(payload, mapping, org_unit)
    raise ValueError(fmt)


def labels(table: str, row: str, column: str) -> tuple[str, str]:
    return str(d.row_label(table, row)), str(d.column_label(table, column))


def legend(payload: dict[str, Any]) -> str:
    k = payload["k"]
    return _("<%(k)s: between 0 and %(top)s, hidden. x: %(k)s or more, hidden so that a small number cannot be "
             "worked out.", k=k, top=k - 1)


def sheets(payload: dict[str, Any]) -> list[tuple[str, list[list[Any]]]]:
    """The workbook in the reader's language: a summary sheet, then one sheet per table."""
    period = d.Period.parse(payload["period"]["key"])
    summary: list[list[Any]] = [
        [_("Indicator report"), period.label()],
        [_("Profile"), payload["profile"]], [_("Figures as of"), payload["as_of"]],
        [_("Definition version"), payload["definition_version"]],
        [_("Target (%)"), payload["target_percent"]], [],
    ]
    summary += [[str(d.HEADLINE_LABELS[row]), payload["headline"][row]] for row in d.HEADLINE_ROWS]
    summary.append([str(d.HEADLINE_LABELS["indicator_percent"]), payload["headline"]["indicator_percent"]])
    summary += [[], [legend(payload)]]
    found = [(_("Indicator"), summary)]
    for table in d.TABLES.values():
        columns = list(table.columns) + (["percent"] if table.kind == "persons" and not payload["rounding"] else [])
        rows = [[_("Row"), *[str(d.column_label(table.id, c)) for c in columns]]]
        for entry in payload["tables"][table.id]:
            cells = [entry.get("percent") if c == "percent" else entry["values"].get(c) for c in columns]
            rows.append([str(d.row_label(table.id, entry["row"])), *cells])
        found.append((str(table.title), rows))
    medians = [[_("Row"), *[str(d.MEDIANS[m]) for m in d.MEDIANS]]]
    for kind in payload["medians"]["accepted"]:
        medians.append([str(d.row_label("median_days", kind)), *[payload["medians"][m][kind] for m in d.MEDIANS]])
    found.append((_("Median days"), medians))
    return found


# --- CSV and JSON ------------------------------------------------------------------------------------


Labeller = Callable[[str, str, str], tuple[str, str]]


def write_csv(payload: dict[str, Any], labels: Labeller | None = None) -> Iterator[str]:
    """One figure per line. ``labels`` adds human row and column labels (in the reader's language)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["report", "definition_version", "profile", "period", "as_of", "table", "row", "column",
                     "value", "row_label", "column_label"])
    yield "\ufeff" + flush()  # a byte-order mark, so spreadsheet programs read Vietnamese correctly
    head = [payload["report"], payload["definition_version"], payload["profile"], payload["period"]["key"],
            payload["as_of"]]
    for table, row, column, value in figures(payload):
        row_label, column_label = labels(table, row, column) if labels else ("", "")
        writer.writerow([*head, table, row, column, "" if value is None else value, row_label, column_label])
        yield flush()


def write_json(payload: dict[str, Any]) -> Iterator[str]:
    yield json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
    yield "\n"


# --- XLSX ----------------------------------------------------------------------------------------------


def write_xlsx(payload: dict[str, Any], sheets: list[tuple[str, list[list[Any]]]]) -> Iterator[bytes]:
    """A workbook of labelled sheets (built by the caller in the reader's language), written with
    openpyxl's write-only mode into a temporary file and streamed from there."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for title, rows in sheets:
        sheet = workbook.create_sheet(title=_sheet_title(title, used))
        for row in rows:
            sheet.append(row)
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(64 * 1024):
            yield chunk


def _sheet_title(title: str, used: set[str]) -> str:
    """Excel allows 31 characters and none of ``[]:*?/\\`` in a sheet name, each name once."""
    clean = "".join("-" if ch in "[]:*?/\\" else ch for ch in title).strip()[:28] or "Sheet"
    name, n = clean, 2
    while name.lower() in used:
        name, n = f"{clean} {n}", n + 1
    used.add(name.lower())
    return name


# --- DHIS2 and ADX -----------------------------------------------------------------------------------


@cache
def _bundled_mapping() -> dict[str, Any]:
    return json.loads(resources.files("casework.reports").joinpath("dhis2_mapping.json").read_text("utf-8"))


def load_mapping(path: str | None) -> dict[str, Any]:
    """The DHIS2 mapping: the bundled defaults, or the file named by CASEWORK_DHIS2_MAPPING."""
    if not path:
        return _bundled_mapping()
    return json.loads(Path(path).read_text("utf-8"))


@dataclass(frozen=True)
class DataValue:
    data_element: str
    value: int | float
    coc: str | None = None  # category option combo code (DHIS2)
    category: str | None = None  # category code and option code (ADX)
    option: str | None = None


def data_values(payload: dict[str, Any], mapping: dict[str, Any]) -> Iterator[DataValue]:
    """The figures DHIS2 can take: shown counts only. A hidden figure is left out (DHIS2 has no
    marker for it), which is why totals travel as data elements of their own."""
    for row, code in mapping["headline"].items():
        value = payload["headline"].get(row)
        if isinstance(value, int):
            yield DataValue(code, value)
    for table_id, spec in mapping["tables"].items():
        for entry in payload["tables"].get(table_id, []):
            option = spec["options"].get(entry["row"])
            for column, element in spec["dataElements"].items():
                value = entry["values"].get(column)
                if not isinstance(value, int):
                    continue
                if entry["row"] == "total":
                    total_element = spec.get("totals", {}).get(column)
                    if total_element:
                        yield DataValue(total_element, value)
                elif option is not None:
                    yield DataValue(element, value, option["coc"], spec["category"], option["option"])


def write_dhis2(payload: dict[str, Any], mapping: dict[str, Any], org_unit: str) -> Iterator[str]:
    """A DHIS2 ``dataValueSets`` document, to import with ``idScheme=code``."""
    values = []
    for item in data_values(payload, mapping):
        entry = {"dataElement": item.data_element, "value": str(item.value)}
        if item.coc:
            entry["categoryOptionCombo"] = item.coc
        values.append(entry)
    document = {
        "dataSet": mapping["dataSet"],
        "period": payload["period"]["code"],
        "orgUnit": org_unit,
        "completeDate": payload["as_of"],
        "dataValues": values,
    }
    yield json.dumps(document, ensure_ascii=False, indent=2)
    yield "\n"


def write_adx(payload: dict[str, Any], mapping: dict[str, Any], org_unit: str) -> Iterator[str]:
    """IHE ADX XML: one group for the period, one ``dataValue`` per shown figure, the
    disaggregation as an attribute named after its category."""
    exported = clock.utcnow().replace(tzinfo=UTC).isoformat(timespec="seconds")
    period = d.Period.parse(payload["period"]["key"])
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<adx xmlns="{ADX_NAMESPACE}" exported={quoteattr(exported)}>\n'
    completed = "true" if payload["finished"] else "false"
    yield (f'  <group orgUnit={quoteattr(org_unit)} period={quoteattr(period.adx_period)} '
           f'dataSet={quoteattr(mapping["dataSet"])} completed={quoteattr(completed)}>\n')
    for item in data_values(payload, mapping):
        extra = f" {item.category}={quoteattr(item.option)}" if item.category and item.option else ""
        yield f'    <dataValue dataElement={quoteattr(item.data_element)}{extra} value="{item.value}"/>\n'
    yield "  </group>\n</adx>\n"
