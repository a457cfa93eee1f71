"""Clients: registration with consent, needs assessments, notes, follow-ups, the caseload,
client rights (access sheet, correction, erasure) and caseload moves by an admin."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from casework.clients import admin_views, worklist  # noqa: F401  (add their routes to the blueprint)
    from casework.clients.uic import canonical
    from casework.clients.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals["canonical_uic"] = canonical  # the code a typed UIC is kept as, shown before saving
