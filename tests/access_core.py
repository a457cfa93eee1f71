"""Expected access to the core endpoints (format: see tests/test_permission_matrix.py)."""

EXPECTED = {
    "core.health": {"anonymous": "ok", "collaborator": "ok", "provider": "ok", "supervisor": "ok", "admin": "ok"},
    # The start page forwards each role to its area's home once that area is installed.
    "core.home": {"anonymous": "login", "collaborator": "ok|redirect", "provider": "ok|redirect",
                  "supervisor": "ok|redirect", "admin": "redirect"},
}
