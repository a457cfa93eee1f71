"""Pages of a list: every list a person sees is shown a page at a time, and none drops a row.

Offset paging over a total order: every query paged here ends its ORDER BY with a unique column
(the row id), so rows that tie on the visible sort keys still come in one fixed order and no row
is shown twice or skipped between pages. One row more than the page is read, to know whether
there is a next page without counting the whole list.
"""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import Select
from sqlalchemy.orm import Session

MAX_PAGE = 100_000


def page_arg(name: str = "page") -> int:
    """The page number asked for in the query string; 1 for anything that is not one."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_PAGE else 1


def page_of(session: Session, query: Select[Any], *, page: int, per_page: int, scalars: bool = True
            ) -> tuple[list[Any], bool]:
    """Rows of ``page`` (1-based) of ``query`` and whether another page follows."""
    paged = query.limit(per_page + 1).offset((page - 1) * per_page)
    rows = list(session.scalars(paged)) if scalars else [tuple(row) for row in session.execute(paged)]
    return rows[:per_page], len(rows) > per_page
