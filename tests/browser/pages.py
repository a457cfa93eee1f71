"""Small helpers for driving pages, shared by the browser tests."""

from __future__ import annotations

from typing import Any


def follow(locator: Any) -> None:
    """Click something that loads a new page (a link, a form's button) and wait for that page.

    ``click()`` alone returns before the navigation starts, so a check right after it could
    still read the old page.
    """
    with locator.page.expect_navigation():
        locator.click()
