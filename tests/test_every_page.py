"""Every page each role can reach, and every form sent back empty, in Vietnamese: no Python repr
(a template that printed a method or a dict), no ``None`` shown as text, and none of WTForms'
English built-in messages — they all go through the catalog."""

from __future__ import annotations

import re

import pytest
from conftest import Browser
from crawl_support import crawl
from crawl_support import world as world  # the fixture, by its name

PYTHON_REPR = re.compile(r"built-in method|bound method|object at 0x[0-9a-f]+|&lt;function |<function |"
                         r"jinja2\.runtime|Undefined|>\s*None\s*<|\{&#39;|\[&#39;")
ENGLISH_BUILT_IN = re.compile(r"This field is required|Field must be|Field cannot be longer|Not a valid|"
                              r"Invalid (?:value|input|choice|Choice)|Number must be|Date must be|CSRF token|"
                              r"Invalid CSRF")


def _problems(where: str, html: str) -> list[str]:
    found = []
    for pattern, what in ((PYTHON_REPR, "Python repr"), (ENGLISH_BUILT_IN, "English built-in message")):
        match = pattern.search(html)
        if match:
            found.append(f"{where}: {what} {html[max(0, match.start() - 60):match.end() + 20]!r}")
    return found


@pytest.mark.parametrize("role", ["anonymous", "collaborator", "provider", "supervisor", "admin"])
def test_no_page_shows_a_python_repr_or_an_english_built_in_message(role, world, app, clock):
    account = world[role]
    browser = Browser(app.test_client(), clock)
    if account is not None:
        browser.login(account)
    pages: dict[str, str] = {}
    forms = crawl(browser, "/" if account is not None else "/login", pages)
    assert len(pages) >= (1 if account is None else 5), sorted(pages)
    problems = [p for url, html in pages.items() for p in _problems(f"GET {url}", html)]

    # Every form with fields, sent back empty: the messages it shows are the catalog's. (A form that is
    # only a button, such as sign out or reset a password, has no message to show and is left alone.)
    for form in forms.values():
        if not form.fields:
            continue
        token = browser.csrf_token(next(iter(pages)) if account is None else "/account")
        response = browser.client.post(form.action, data={"csrf_token": token})
        html = response.get_data(as_text=True)
        if response.status_code in (301, 302, 303):
            html = browser.client.get(response.headers["Location"]).get_data(as_text=True)
        problems += _problems(f"POST {form.action}", html)
        if account is not None and browser.client.get("/account").status_code != 200:
            browser.login(account)  # a form that ends the session (sign out everywhere, say)
    assert not problems, "\n".join(problems)
