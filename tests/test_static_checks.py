"""Static checks run with the suite: bandit over casework's code, and pip-audit over the installed
dependencies where it can reach a vulnerability database (skipped, with the reason, where not)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it is in the test extras (pip install -e '.[test]')")
    return found


def test_bandit_finds_nothing_in_casework():
    """Every accepted finding carries ``# nosec BXXX`` with its reason on the same line."""
    done = subprocess.run([_tool("bandit"), "-q", "-r", str(ROOT / "casework"), "-f", "json"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    found = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert not found, "\n".join(found)


def test_every_bandit_exception_states_its_reason():
    for path in (ROOT / "casework").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# nosec" in line:
                reason = line.split("# nosec")[0].rsplit("#", 1)[-1]
                assert len(reason.split()) >= 3 and "noqa" not in reason, (
                    f"{path.relative_to(ROOT)}:{number}: say why, in a comment just before '# nosec'")


def test_no_installed_dependency_has_a_known_vulnerability():
    try:
        done = subprocess.run([_tool("pip-audit"), "--local", "--skip-editable", "-f", "json",
                               "--progress-spinner", "off", "--timeout", "30"],
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit did not answer within 5 minutes: no vulnerability database reachable")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"pip-audit could not reach its vulnerability database from this machine: {last[:200]}")
    audited = [d for d in report["dependencies"] if "skip_reason" not in d]
    if not audited:
        pytest.skip("pip-audit could not audit any dependency here: the package index this machine uses does "
                    f"not serve vulnerability data ({report['dependencies'][0]['skip_reason'][:120]})")
    vulnerable = [f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
                  for d in audited if d.get("vulns")]
    assert not vulnerable, "\n".join(vulnerable)
