"""Expected access to the approvals area (format: see tests/test_permission_matrix.py).

The queue is for supervisors and admins (who see names and counts only); withdrawing a proposal is
the admin's; the notices and the held page belong to collaborators. A POST that carries only the
CSRF token is an incomplete form: it is sent back to its page, never applied.
"""

EVERYONE = ("anonymous", "collaborator", "provider", "supervisor", "admin")


def _row(anonymous: str, **allowed: str) -> dict[str, str]:
    row = dict.fromkeys(EVERYONE, "forbidden")
    row["anonymous"] = anonymous
    row.update(allowed)
    return row


EXPECTED = {
    "approvals.index": _row("login", supervisor="ok", admin="ok"),
    "approvals.decide": _row("forbidden", supervisor="redirect", admin="redirect"),
    "approvals.withdraw": _row("forbidden", admin="redirect"),
    "approvals.notice_seen": _row("forbidden", collaborator="redirect"),
    "approvals.held": _row("login", collaborator="redirect"),
}
