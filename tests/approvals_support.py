"""Given-step helpers for access changes that need a second person (no tests here)."""

from __future__ import annotations

import re
from typing import Any

APPROVE_RE = re.compile(r'action="/approvals/([^"/]+)/decide" class="inline">\s*<input[^>]*csrf_token[^>]*>'
                        r'<input type="hidden" name="decision" value="approve">'
                        r'<input type="hidden" name="version" value="(\d+)">')


def approvable(browser: Any) -> list[tuple[str, str]]:
    """(change id, version) of every change the signed-in approver may approve on the queue page."""
    browser.get("/approvals/")
    return APPROVE_RE.findall(browser.last_html)


def approve_all(new_browser: Any, make_user: Any, approver: Any = None) -> int:
    """A supervisor (or ``approver``) signs in and approves everything they may; returns how many."""
    browser = new_browser()
    browser.login(approver or make_user("supervisor"))
    changes = approvable(browser)
    for change_id, version in changes:
        response = browser.post(f"/approvals/{change_id}/decide", {"decision": "approve", "version": version},
                                page="/approvals/")
        assert response.status_code == 302, f"approving {change_id} failed"
    return len(changes)
