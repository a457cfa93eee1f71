"""The forms of the approval queue: a decision, or a withdrawal, on one change at a version."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField
from wtforms.validators import AnyOf, InputRequired

from casework.forms import CaseworkForm


class DecisionForm(CaseworkForm):
    decision = HiddenField(validators=[AnyOf(("approve", "refuse"))])
    version = IntegerField(validators=[InputRequired()])


class VersionForm(CaseworkForm):
    """Withdraw a change, or dismiss a notice: the CSRF token and the version seen."""

    version = IntegerField(validators=[InputRequired()])
