"""Crawling casework as each role meets it, for the tests that check every page or every form
(tests/test_fuzz_forms.py, tests/test_every_page.py). No tests here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import Browser
from test_referrals_support import make_client, make_referral, make_service

from casework import clock
from casework.approvals.services import propose_caseload_move
from casework.auth.models import User
from casework.clients.models import Client, FollowUp

MAX_PAGES = 80
SKIP_LINKS = re.compile(r"/static/|/export|\.csv|\.xlsx|\.json|\.xml|/logout|/print|/slip\.|download")


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> the values the page offers


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(urlsplit(urljoin(self.page, a.get("action") or self.page)).path)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            name = a["name"]
            if name == "csrf_token" or (a.get("type") == "submit" and not a.get("value")):
                return
            values = self._form.fields.setdefault(name, [])
            if tag == "input" and a.get("value"):
                values.append(a["value"])
            if tag == "select":
                self._select = name
        elif tag == "option" and self._form is not None and self._select:
            self._form.fields[self._select].append(a.get("value", ""))
        elif tag == "button" and self._form is not None and a.get("name"):
            self._form.fields.setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def crawl(browser: Browser, start: str = "/", pages: dict[str, str] | None = None) -> dict[str, Form]:
    """Every POST form reachable by links from ``start`` (one visit per path); ``pages`` collects
    each page's HTML by its URL."""
    seen: set[str] = set()
    queue = [start]
    forms: dict[str, Form] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen:
            continue
        seen.add(path)
        response = browser.get(url, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        if pages is not None:
            pages[url] = browser.last_html
        parser = _FormParser(url)
        parser.feed(browser.last_html)
        for form in parser.forms:
            forms.setdefault(form.action, form)
        for link in parser.links:
            parts = urlsplit(link)
            if not parts.netloc or parts.netloc == "localhost":
                if parts.path.startswith("/") and not SKIP_LINKS.search(parts.path) and parts.path not in seen:
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return forms


@pytest.fixture
def world(database, make_user, make_organisation):
    org = make_organisation()
    place = make_service(database, org)
    owner = make_user("collaborator")
    colleague = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id, with_history=True)
    closed_id, _code = make_client(database, owner.user_id)
    make_client(database, colleague.user_id)
    make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id, status="accepted")
    people = {
        "anonymous": None,
        "collaborator": owner,
        "provider": make_user("provider", organisation_id=org),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
        "second_admin": make_user("admin"),
        "colleague": colleague,
        "former": make_user("collaborator"),
    }
    with database.transaction() as session:
        session.add(FollowUp(client_id=client_id, created_by=owner.user_id, due_on=clock.local_today()))
        session.get(Client, closed_id).status = "closed"
        session.get(User, people["former"].user_id).active = False
        # Changes waiting for a second administrator: one for each admin to decide, or withdraw.
        for by, to in (("second_admin", "collaborator"), ("admin", "colleague")):
            actor = session.get(User, people[by].user_id)
            source = people["colleague" if to == "collaborator" else "collaborator"].user_id
            propose_caseload_move(session, actor, source, people[to].user_id, "long_absence")
    return people


