"""One audit vocabulary: every action casework writes has a label (casework/audit/actions.py), and
every label belongs to an action that is written somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from casework import vocab
from casework.audit.actions import LABELS

ROOT = Path(__file__).resolve().parent.parent / "casework"
CALL = re.compile(r'(?:record|_audit|audit_user|_audited|audit|_audit_read)\([^()"]*"([a-z_]+\.[a-z_]+)"')
LITERAL = re.compile(r'"((?:auth|admin|access|client|referral|directory|report|integrity|keys|retention|system)'
                     r'\.[a-z_]+)"')


def _written(app) -> set[str]:
    endpoints = set(app.view_functions)
    found = set()
    for path in ROOT.rglob("*.py"):
        if path.name == "actions.py":
            continue
        source = path.read_text(encoding="utf-8")
        found |= {m for m in LITERAL.findall(source) if m not in endpoints}  # e.g. "client.viewed" if … else …
        found |= set(CALL.findall(source))  # the first argument of an audit call, even if an endpoint is so named
    # lifecycle.apply writes "referral.<status>" for every status a referral can move to
    found |= {f"referral.{status}" for status in vocab.REFERRAL_STATUSES if status != "requested"}
    return found


def test_every_action_written_has_a_label_and_every_label_is_written(app):
    written = _written(app)
    assert written - set(LABELS) == set(), "written but not declared in casework/audit/actions.py"
    assert set(LABELS) - written == set(), "declared in casework/audit/actions.py but never written"


def test_every_label_is_translated(app):
    from flask_babel import force_locale

    with app.test_request_context("/"):
        for locale in ("vi", "en"):
            with force_locale(locale):
                untranslated = [a for a, label in LABELS.items() if locale == "vi" and str(label) == label._args[0]]
                assert not untranslated, untranslated
