"""Clients: registration with consent, needs assessments, notes, follow-ups, the caseload,
client rights (access sheet, correction, erasure) and caseload moves by an admin."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from casework.clients import admin_views, worklist  # noqa: F401  (add their routes to the blueprint)
    from casework.clients.uic import UicRules
    from casework.clients.views import bp

    app.register_blueprint(bp)
    rules = UicRules.from_settings(app.extensions["casework"].settings)
    app.jinja_env.globals["canonical_uic"] = rules.canonical  # the code a typed UIC is kept as, shown before saving
