"""Administration: accounts, organisations and the audit log. Never client contents."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from casework.admin.views import bp

    app.register_blueprint(bp)
