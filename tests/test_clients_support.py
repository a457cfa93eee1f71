"""Helpers shared by the clients tests (no tests here): filling the real forms as a worker would."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from casework import clock, vocab

CLIENT_URL = re.compile(r"/clients/([0-9a-f-]{36})$")


def registration(**overrides: Any) -> dict[str, Any]:
    """A complete registration form, consent given today."""
    data: dict[str, Any] = {
        "consent_given": "y",
        "consent_method": "verbal",
        "consent_date": clock.local_today().isoformat(),
        "uic": "HOMI1998N",
        "sex_gender": "female",
        "birth_year": "1998",
        "age_band": "unknown",
        "outreach_source": "venue",
        "contact_preference": "sms",
        "alias": "",
        "phone": "",
        "residence": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def register(browser: Any, **overrides: Any) -> str:
    """Register through the form; returns the new client's id (asserts it worked)."""
    browser.get("/clients/register")
    response = browser.post("/clients/register", registration(**overrides))
    assert response.status_code == 302, _errors(browser.last_html)
    match = CLIENT_URL.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def assessment(levels: dict[str, str] | None = None, notes: dict[str, str] | None = None,
               eligible: bool = True, on: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"assessed_on": on or clock.local_today().isoformat()}
    if eligible:
        data["eligible"] = "y"
    for code in vocab.NEED_DOMAINS:
        data[f"level_{code}"] = (levels or {}).get(code, "none")
        data[f"note_{code}"] = (notes or {}).get(code, "")
    return data


def _errors(html: str) -> str:
    return "; ".join(re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)) or html[-2000:]


def errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)


def count_rows(database: Any, model: Any) -> int:
    from sqlalchemy import func

    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))
