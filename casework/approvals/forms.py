"""The forms of the approval queue: a decision, or a withdrawal, on one change at a version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import AnyOf, InputRequired


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[AnyOf(("approve", "refuse"))])
    version = IntegerField(validators=[InputRequired()])


class VersionForm(FlaskForm):
    """Withdraw a change, or dismiss a notice: the CSRF token and the version seen."""

    version = IntegerField(validators=[InputRequired()])
