from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework import vocab

NOTE_MAX = 1000


def _options(mapping: dict[str, object]) -> list[SelectChoice]:
    """Options from a vocabulary; labels stay lazy so they follow the reader's language."""
    return [SelectChoice(code, label) for code, label in mapping.items()]


class NewReferralForm(FlaskForm):
    service_id = RadioField(_l("Service"), validators=[InputRequired(message=_l("Choose a service."))],
                            choices=[])
    urgency = RadioField(_l("Urgency"), choices=_options(vocab.URGENCIES), default="routine",
                         validators=[InputRequired()])
    share_phone = BooleanField(_l("Share the client's phone number with this service"))
    note_to_receiver = TextAreaField(
        _l("Note to the receiving service"),
        validators=[Optional(), Length(max=NOTE_MAX)],
    )
    consent = BooleanField(_l("The client agreed today that the details shown above are shared with this "
                              "service for this referral"))
    previous_referral_id = HiddenField()


class TransitionForm(FlaskForm):
    """One status change; the lifecycle module decides whether it is allowed."""

    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])
    reason_code = SelectField(_l("Reason"), choices=[], validate_choice=False, validators=[Optional()])
    reason_text = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])
    business_status = SelectField(_l("What was delivered"), choices=[], validate_choice=False,
                                  validators=[Optional()])
    outcome = TextAreaField(_l("Outcome (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])
    feedback = TextAreaField(_l("Feedback to the referring collaborator (optional)"),
                             validators=[Optional(), Length(max=NOTE_MAX)])


class FindByCodeForm(FlaskForm):
    code = StringField(_l("Referral code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})
