"""Expected access to sign-in and account endpoints (format: see tests/test_permission_matrix.py)."""

STAFF = ("collaborator", "provider", "supervisor", "admin")


def _row(anonymous: str, staff: str) -> dict[str, str]:
    return {"anonymous": anonymous, **{role: staff for role in STAFF}}


EXPECTED = {
    "auth.login": _row("ok", "redirect"),  # already signed in: to the start page
    "auth.login_second_factor": _row("login", "login"),  # no password step pending: back to sign-in
    "auth.logout": _row("forbidden", "login"),  # POST only; signs out and shows the sign-in page
    "auth.logout_everywhere": _row("forbidden", "login"),
    "auth.account": _row("login", "ok"),
    "auth.change_password": _row("login", "ok"),
    "auth.enrol_second_factor": _row("login", "ok"),
    "auth.new_enrolment_key": _row("forbidden", "redirect"),  # POST only; back to the enrolment page
    "auth.new_recovery_codes": _row("login", "ok"),
    "auth.held_forms": _row("login", "ok"),
    "auth.keepalive": _row("login", "ok"),
    "auth.discard_held_form": _row("forbidden", "redirect"),
    "auth.set_language": _row("redirect", "redirect"),
}
