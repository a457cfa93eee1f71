"""The collaborator's worklist toward the year's target: their own clients who count in the
indicator's denominator D but not (yet) in its numerator N — eligible, with an open need, and
no referral completed this period. Getting one of them to a completed service is what moves
the 80%. Like every client-level view it holds only the collaborator's own caseload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework import clock
from casework.audit import record
from casework.clients import services
from casework.clients.models import Client
from casework.clients.views import bp
from casework.policy import allow
from casework.policy.clients import caseload_filter
from casework.referrals.models import Referral
from casework.reports.definitions import Period
from casework.reports.queries import Window, worklist
from casework.runtime import db_session, runtime

PER_PAGE = 25
SCOPES = {"year": _l("This year so far"), "quarter": _l("This quarter"), "month": _l("This month")}


@dataclass
class WorkItem:
    client: Client
    urgent: bool
    needs: list[tuple[str, str, Referral | None]]  # (domain, level, latest referral for that need)


def _period(scope: str, today: date) -> Period:
    if scope == "quarter":
        return Period("quarter", today.year, (today.month - 1) // 3 + 1)
    if scope == "month":
        return Period("month", today.year, today.month)
    return Period("ytd", today.year)


@bp.route("/worklist")
@allow("collaborator")
def worklist_view() -> str:
    scope = request.args.get("scope", "year")
    scope = scope if scope in SCOPES else "year"
    page = max(1, request.args.get("page", 1, type=int) or 1)
    today = clock.local_today()
    period = _period(scope, today)
    db = db_session()
    window = Window(today, (period.start,), ZoneInfo(runtime().settings.timezone))
    mine = select(Client.id).where(caseload_filter(current_user.id))
    waiting = worklist(window, mine).subquery("waiting")
    total = db.scalar(select(func.count()).select_from(waiting)) or 0
    rows = db.execute(select(Client, waiting.c.urgent).join(waiting, waiting.c.client_id == Client.id)
                      .order_by(waiting.c.urgent.desc(), Client.registered_at, Client.id)
                      .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    items = _items(db, rows)
    record(db, "client.worklist_viewed", actor_id=current_user.id, actor_role=current_user.role,
           object_type="user", object_id=current_user.id,
           details={"scope": scope, "page": page, "shown": len(items)})
    db.commit()
    return render_template("clients/worklist.html", items=items, total=total, page=page, scope=scope,
                           scopes=SCOPES, period=period, has_next=page * PER_PAGE < total)


def _items(db: Session, rows: list[tuple[Client, int]]) -> list[WorkItem]:
    ids = [client.id for client, _urgent in rows]
    needs = services.open_needs(db, ids)
    latest: dict[tuple[str, str], Referral] = {}
    for referral in db.scalars(select(Referral).where(Referral.client_id.in_(ids),
                                                      Referral.status != "entered-in-error")
                               .order_by(Referral.created_at)):
        latest[(referral.client_id, referral.need_domain)] = referral  # the newest wins
    return [WorkItem(client, bool(urgent),
                     [(domain, level, latest.get((client.id, domain))) for domain, level in needs.get(client.id, [])])
            for client, urgent in rows]
