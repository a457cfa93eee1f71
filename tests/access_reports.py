"""Expected access to the reports area (format: see tests/test_permission_matrix.py).

Aggregate reports are for supervisors only; no other role reaches them, not even the
administrator (who manages accounts and keys, not the programme's figures). A submitted
report id that does not exist answers "notfound".
"""

NOT_SUPERVISORS = ("collaborator", "provider", "admin")


def _row(supervisor: str, anonymous: str = "login") -> dict[str, str]:
    return {"anonymous": anonymous, "supervisor": supervisor, **dict.fromkeys(NOT_SUPERVISORS, "forbidden")}


EXPECTED = {
    "reports.index": _row("ok"),
    "reports.export": _row("ok"),
    "reports.print_report": _row("ok"),
    "reports.submit": _row("ok"),
    "reports.submitted": _row("ok"),
    "reports.submitted_one": _row("notfound"),
    "reports.submitted_export": _row("notfound"),
    "reports.submitted_print": _row("notfound"),
    # A POST without its period answers 400 before anything is counted.
    "reports.refresh": {"anonymous": "forbidden", "supervisor": "badrequest",
                        **dict.fromkeys(NOT_SUPERVISORS, "forbidden")},
}

URL_ARGS = {
    "reports.export": {"fmt": "csv"},
    "reports.submitted_export": {"fmt": "csv"},
}
