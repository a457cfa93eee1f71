"""README.md stays true to the code: its first two commands, every ``casework`` command it
names, and every ``CASEWORK_*`` setting (and only real ones, with their real defaults)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

from casework.cli import cli
from casework.config import PROJECT_ROOT, Settings

README = PROJECT_ROOT / "README.md"
QUICKSTART = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/casework quickstart"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"

# Named in the README but not Settings fields; each must be read where the README says it is.
OTHER_VARIABLES = {
    "CASEWORK_CONFIG": PROJECT_ROOT / "casework" / "config.py",
    "CASEWORK_TEST_DATABASE_URL": PROJECT_ROOT / "tests" / "conftest.py",
    "CASEWORK_HSDS_SPEC_DIR": PROJECT_ROOT / "tests" / "test_directory_hsds_official.py",
    "CASEWORK_FUZZ_EXAMPLES": PROJECT_ROOT / "tests" / "test_fuzz_forms.py",
    "CASEWORK_SCREENSHOTS": PROJECT_ROOT / "tests" / "browser" / "conftest.py",
}
# Defaults computed at run time: the README describes them in words.
COMPUTED_DEFAULTS = {"instance_path", "database_url", "keys_dir", "audit_checkpoint"}

COMMAND_RE = re.compile(r"(?:^|[\s/`(])casework((?:[ \t]+[a-z][a-z0-9-]*)+)")
VARIABLE_RE = re.compile(r"\bCASEWORK_[A-Z0-9_]*[A-Z0-9]")


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _code_lines(text: str) -> list[str]:
    """Lines of indented and fenced code blocks, and inline code spans, in reading order."""
    found: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or (line.startswith("    ") and line.strip() and not line.lstrip().startswith(("-", "|"))):
            found.append(line.strip())
        else:
            found.extend(re.findall(r"`([^`]+)`", line))
    return found


def _resolve(words: list[str]) -> str | None:
    """Walk click's command tree; None when the words name a command, else what is wrong."""
    node: click.Command = cli
    path = ["casework"]
    for word in words:
        if not isinstance(node, click.Group):
            return None  # the rest are arguments of a command
        sub = node.commands.get(word)
        if sub is None:
            return f"`{' '.join(path)}` has no command {word!r}"
        node = sub
        path.append(word)
    return None


def _mentioned_commands(text: str) -> list[list[str]]:
    mentioned = []
    for snippet in _code_lines(text):
        for match in COMMAND_RE.finditer(snippet):
            mentioned.append(match.group(1).split())
    return mentioned


def _settings_variables() -> dict[str, dataclasses.Field]:
    return {f"CASEWORK_{f.name.upper()}": f for f in dataclasses.fields(Settings)}


def test_readme_starts_with_the_quickstart_and_the_test_command():
    # Given the README as a newcomer reads it
    code = [line for line in _text().splitlines() if line.startswith("    ") and line.strip()]
    # Then its first two commands start casework and run the tests, in that order
    assert [line.strip() for line in code[:2]] == [QUICKSTART, TEST_COMMAND]


def test_every_casework_command_in_the_readme_exists():
    mentioned = _mentioned_commands(_text())
    assert len(mentioned) > 10, "the command reference was not found"
    problems = sorted({p for words in mentioned if (p := _resolve(words))})
    assert problems == []


def test_every_command_of_the_cli_is_in_the_readme():
    mentioned = {" ".join(words) for words in _mentioned_commands(_text())}
    missing = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            full = f"{prefix} {name}".strip()
            if isinstance(command, click.Group):
                walk(command, full)
            elif not any(m == full or m.startswith(full + " ") for m in mentioned):
                missing.append(full)

    walk(cli, "")
    assert missing == []


def test_readme_names_exactly_the_settings_that_exist():
    named = set(VARIABLE_RE.findall(_text()))
    settings = set(_settings_variables())
    assert sorted(settings - named) == [], "settings the README does not explain"
    assert sorted(named - settings - set(OTHER_VARIABLES)) == [], "variables that do not exist"
    for name, reader in OTHER_VARIABLES.items():
        assert name in reader.read_text(encoding="utf-8"), f"{name} is not read by {reader.name}"


@pytest.mark.parametrize("variable", sorted(_settings_variables()))
def test_readme_settings_table_gives_the_real_default(variable):
    field = _settings_variables()[variable]
    rows = [line for line in _text().splitlines() if line.startswith(f"| `{variable}` |")]
    assert len(rows) == 1, f"{variable} needs exactly one row in the settings table"
    if field.name in COMPUTED_DEFAULTS:
        return
    default = field.default
    shown = str(default).lower() if isinstance(default, bool) else str(default)
    assert f"`{shown}`" in rows[0].split("|")[2], f"{variable}: the default is {shown!r}"


def test_readme_links_to_files_that_exist():
    for target in re.findall(r"\]\(([^)#:]+)\)", _text()):
        assert (Path(README.parent) / target).exists(), target
