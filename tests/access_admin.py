"""Expected access to the admin area: administrators only (format: see tests/test_permission_matrix.py).

Object URLs on GET point at a real account / organisation (the admin sees it, nobody
else does); POST actions use random ids, which an admin gets 404 for.
"""

OTHERS = ("collaborator", "provider", "supervisor")


def _admin_only(admin: str, anonymous: str = "login") -> dict[str, str]:
    return {"anonymous": anonymous, "admin": admin, **{role: "forbidden" for role in OTHERS}}


def _someone_else(world, role):
    if "user" not in world.cache:
        world.cache["user"] = world.make_user("collaborator", username="someone.else").user_id
    return world.cache["user"]


EXPECTED = {
    "admin.users": _admin_only("ok"),
    "admin.user_new": _admin_only("ok"),
    "admin.user": _admin_only("ok"),
    "admin.user_details": _admin_only("notfound", "forbidden"),
    "admin.user_access": _admin_only("notfound", "forbidden"),
    "admin.user_deactivate": _admin_only("notfound", "forbidden"),
    "admin.user_confirm": _admin_only("notfound"),  # an unknown account (or change): nothing to confirm
    "admin.user_reactivate": _admin_only("notfound", "forbidden"),
    "admin.user_reset_password": _admin_only("notfound", "forbidden"),
    "admin.user_reset_second_factor": _admin_only("notfound", "forbidden"),
    "admin.user_revoke_sessions": _admin_only("notfound", "forbidden"),
    "admin.organisations": _admin_only("ok"),
    "admin.audit": _admin_only("ok"),
    "admin.keys": _admin_only("ok"),
}

URL_ARGS = {
    "admin.user": {"user_id": _someone_else},
}
