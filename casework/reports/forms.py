"""The supervisor's forms: choosing a report (a GET form, nothing to protect) and submitting one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from casework.forms import CaseworkForm

PROFILE_CHOICES = [SelectChoice("official", _l("Official (k = 5, exact N and D)")),
                   SelectChoice("public", _l("Public (k = 10, rounded to 5)"))]


class ReportQueryForm(CaseworkForm):
    """Which period and profile to show. Sent by GET: it only reads, so it carries no CSRF token."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), validators=[InputRequired()])
    profile = SelectField(_l("Profile"), choices=PROFILE_CHOICES, default="official", validators=[InputRequired()])


REASON_MAX = 1000


class SubmitForm(CaseworkForm):
    period = HiddenField(validators=[InputRequired()])
    profile = HiddenField(validators=[InputRequired()])
    # The SHA-256 of the figures the supervisor saw: what is frozen is what was checked.
    figures = HiddenField()
    reason = TextAreaField(_l("Why it is submitted again"), validators=[Optional(), Length(max=REASON_MAX)],
                           description=_l("Needed when this period was submitted before: the earlier "
                                          "version is kept, and the reason is kept with the new one. "
                                          "Do not write anything about a person."))
    confirm = BooleanField(_l("I have checked these figures and submit them as the ward's report for "
                              "this period."), validators=[InputRequired(message=_l("Tick the box to confirm."))])


class RefreshForm(CaseworkForm):
    period = HiddenField(validators=[InputRequired()])
    profile = HiddenField(validators=[InputRequired()])
