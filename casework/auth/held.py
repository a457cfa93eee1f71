"""Forms kept across an idle timeout (the worker typed a note for twenty minutes, pressed Save, and
the session had ended): held encrypted for ``HOLD_FOR``, offered back after signing in, sent again
only when the person presses the button. Nothing of the form is logged or audited, only ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casework import clock
from casework.audit import record
from casework.auth.models import HeldForm

HOLD_FOR = timedelta(minutes=20)
# A held form is offered only for a session that ran out of idle time this recently.
ENDED_WITHIN = timedelta(hours=2)
MAX_HELD = 5
NOT_KEPT = {"csrf_token"}  # the form's once-only token is kept: the resent form still counts once


@dataclass(frozen=True)
class Held:
    id: str
    path: str
    held_at: object
    fields: list[tuple[str, str]]

    def texts(self) -> list[tuple[str, str]]:
        """The fields worth showing: what was typed, not hidden codes or empty boxes."""
        return [(name, value) for name, value in self.fields if value.strip() and len(value) > 3]


def hold(session: Session, user_id: str, path: str, fields: list[tuple[str, str]]) -> str:
    """Keep the posted ``fields`` for ``user_id``; the oldest beyond ``MAX_HELD`` are dropped."""
    purge_expired(session)
    now = clock.utcnow()
    kept = [(name, value) for name, value in fields if name not in NOT_KEPT]
    held = HeldForm(user_id=user_id, path=path[:300], held_at=now, expires_at=now + HOLD_FOR)
    session.add(held)
    held.fields = json.dumps(kept, ensure_ascii=False)
    session.flush()
    older = list(session.scalars(select(HeldForm.id).where(HeldForm.user_id == user_id)
                                 .order_by(HeldForm.held_at.desc(), HeldForm.id).offset(MAX_HELD)))
    if older:
        session.execute(delete(HeldForm).where(HeldForm.id.in_(older)))
    record(session, "auth.form_held", actor_id=user_id, object_type="user", object_id=user_id,
           details={"held": held.id})
    return held.id


def held_for(session: Session, user_id: str) -> list[Held]:
    rows = session.scalars(select(HeldForm).where(HeldForm.user_id == user_id,
                                                  HeldForm.expires_at > clock.utcnow())
                           .order_by(HeldForm.held_at.desc(), HeldForm.id))
    return [Held(row.id, row.path, row.held_at, [tuple(pair) for pair in json.loads(row.fields or "[]")])
            for row in rows]


def forget(session: Session, user_id: str, held_id: str) -> bool:
    """Delete one held form of ``user_id`` (sent again, or discarded)."""
    return session.execute(delete(HeldForm).where(HeldForm.id == held_id, HeldForm.user_id == user_id)).rowcount == 1


def purge_expired(session: Session) -> int:
    return session.execute(delete(HeldForm).where(HeldForm.expires_at <= clock.utcnow())).rowcount
