"""The service directory (Open Referral HSDS 3.0 shape): browse, manage, import and export."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from casework.directory.views import bp

    app.register_blueprint(bp)
