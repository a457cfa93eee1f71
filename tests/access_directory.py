"""Expected access to the directory endpoints (format: see tests/test_permission_matrix.py).

Collaborators browse the directory read-only (they pick services); only admins change it.
Object URLs get random ids, so roles allowed past the role check see "notfound".
"""

_ROLES = ("anonymous", "collaborator", "provider", "supervisor", "admin")


def _row(**outcomes: str) -> dict[str, str]:
    row = {"anonymous": "login", "collaborator": "forbidden", "provider": "forbidden",
           "supervisor": "forbidden", "admin": "forbidden"}
    row.update(outcomes)
    assert set(row) == set(_ROLES)
    return row


EXPECTED = {
    "directory.index": _row(collaborator="ok", admin="ok"),
    "directory.service": _row(collaborator="notfound", admin="notfound"),
    "directory.new_organisation": _row(admin="ok"),
    "directory.edit_organisation": _row(admin="notfound"),
    "directory.new_location": _row(admin="notfound"),
    "directory.edit_location": _row(admin="notfound"),
    "directory.new_service": _row(admin="notfound"),
    "directory.edit_service": _row(admin="notfound"),
    "directory.export": _row(admin="ok"),
    "directory.import_": _row(admin="ok"),
}
