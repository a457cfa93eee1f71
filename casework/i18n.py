"""Translation catalogs, one per area so that areas can be translated independently.

Each catalog lives in ``<package dir>/translations/<locale>/LC_MESSAGES/messages.po``
and covers that area's Python modules and its ``templates/<area>/`` folder; the
core catalog covers the top-level modules, ``casework/policy`` and the shared
templates. Flask-Babel merges them all.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask_babel import LazyString

from casework.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "casework"
TEMPLATES = PROJECT_ROOT / "templates"
LOCALES = ("vi", "en")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "_n": (1, 2), "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
JINJA = "jinja2.ext:babel_extract"
JINJA_OPTIONS = {"extensions": "jinja2.ext.do", "trimmed": "true"}


@dataclass(frozen=True)
class Area:
    name: str
    catalog_dir: Path
    python_dirs: tuple[Path, ...]
    python_files: tuple[Path, ...]
    template_dirs: tuple[Path, ...]
    template_files: tuple[Path, ...]


def areas() -> list[Area]:
    found = [
        Area(
            "core",
            PACKAGE / "translations",
            (PACKAGE / "policy",),
            tuple(sorted(PACKAGE.glob("*.py"))),
            (TEMPLATES / "errors",) if (TEMPLATES / "errors").is_dir() else (),
            tuple(sorted(TEMPLATES.glob("*.html"))),
        )
    ]
    for pkg in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        if pkg.name in ("policy", "crypto", "translations"):
            continue
        tdir = TEMPLATES / pkg.name
        found.append(Area(pkg.name, pkg / "translations", (pkg,), (),
                          (tdir,) if tdir.is_dir() else (), ()))
    return found


def _messages(area: Area) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]:
    for directory in area.python_dirs:
        for filename, lineno, msg, comments, ctx in extract_from_dir(
            directory, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            yield str(directory / filename), lineno, msg, comments, ctx
    for path in area.python_files:
        for lineno, msg, comments, ctx in extract_from_file("python", path, keywords=KEYWORDS):
            yield str(path), lineno, msg, comments, ctx
    for directory in area.template_dirs:
        for filename, lineno, msg, comments, ctx in extract_from_dir(
            directory, method_map=[("**.html", JINJA), ("**.txt", JINJA)],
            keywords=KEYWORDS, options_map={"**.html": JINJA_OPTIONS, "**.txt": JINJA_OPTIONS},
        ):
            yield str(directory / filename), lineno, msg, comments, ctx
    for path in area.template_files:
        for lineno, msg, comments, ctx in extract_from_file(JINJA, path, keywords=KEYWORDS,
                                                            options=JINJA_OPTIONS):
            yield str(path), lineno, msg, comments, ctx


def template_catalog(area: Area) -> Catalog:
    catalog = Catalog(project="casework", charset="utf-8")
    for filename, lineno, msg, comments, ctx in _messages(area):
        rel = str(Path(filename).resolve().relative_to(PROJECT_ROOT))
        catalog.add(msg, None, [(rel, lineno)], auto_comments=comments, context=ctx)
    return catalog


def po_path(area: Area, locale: str) -> Path:
    return area.catalog_dir / locale / "LC_MESSAGES" / "messages.po"


def update(area: Area) -> dict[str, int]:
    """Extract the area's strings and merge them into each locale's .po; returns missing counts."""
    template = template_catalog(area)
    missing: dict[str, int] = {}
    for locale in LOCALES:
        path = po_path(area, locale)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=locale, project="casework", charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
            path.parent.mkdir(parents=True, exist_ok=True)
        if locale == "en":  # English is the source language: msgstr = msgid (both forms of a plural)
            for message in catalog:
                if message.id and not _translated(message):
                    message.string = message.id if isinstance(message.id, str) else tuple(message.id)
        catalog.obsolete.clear()
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, omit_header=False, sort_output=True)
        path.write_bytes(buffer.getvalue())
        missing[locale] = sum(1 for m in catalog if m.id and not _translated(m))
    return missing


def _translated(message: object) -> bool:
    string = message.string  # type: ignore[attr-defined]
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def compile_all() -> list[Path]:
    written = []
    for area in areas():
        for locale in LOCALES:
            path = po_path(area, locale)
            if not path.exists():
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            mo = path.with_suffix(".mo")
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            if not mo.exists() or mo.read_bytes() != buffer.getvalue():
                mo.write_bytes(buffer.getvalue())
                written.append(mo)
    return written


def problems() -> list[str]:
    """Untranslated, fuzzy or un-extracted strings, and stale .mo files, per catalog."""
    found = []
    for area in areas():
        template = template_catalog(area)
        for locale in LOCALES:
            path = po_path(area, locale)
            if not path.exists():
                if len(template):
                    found.append(f"{area.name}/{locale}: no catalog ({len(template)} strings)")
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            for message in template:
                if message.id and message.id not in catalog:
                    found.append(f"{area.name}/{locale}: not in catalog: {message.id!r}")
            for message in catalog:
                if not message.id:
                    continue
                if message.fuzzy:
                    found.append(f"{area.name}/{locale}: fuzzy: {message.id!r}")
                elif not _translated(message):
                    found.append(f"{area.name}/{locale}: untranslated: {message.id!r}")
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            mo = path.with_suffix(".mo")
            if not mo.exists() or mo.read_bytes() != buffer.getvalue():
                found.append(f"{area.name}/{locale}: {mo.name} is stale: run `casework i18n compile`")
    return found


def translation_directories() -> str:
    return ";".join(str(a.catalog_dir) for a in areas() if a.catalog_dir.is_dir())


class TranslatedVocab:
    """``casework.vocab`` as one request's templates see it: each table's labels are turned into
    plain strings once, in the request's language. A lazy string is translated again every time it
    is printed; a caseload or inbox page prints the same few labels on every row."""

    def __init__(self, module: object) -> None:
        self._module = module
        self._tables: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        if name in self._tables:
            return self._tables[name]
        value = getattr(self._module, name)
        if isinstance(value, dict):
            value = {key: _plain(label) for key, label in value.items()}
            self._tables[name] = value
        return value


def _plain(label: object) -> object:
    if isinstance(label, tuple):
        return tuple(_plain(part) for part in label)
    return str(label) if isinstance(label, LazyString) else label
