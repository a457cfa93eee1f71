from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework import vocab
from casework.clients.forms import Text, tidy  # the same free-text checks and message as the clients forms
from casework.forms import CaseworkForm, OnceForm

NOTE_MAX = 1000


def _options(mapping: dict[str, object]) -> list[SelectChoice]:
    """Options from a vocabulary; labels stay lazy so they follow the reader's language."""
    return [SelectChoice(code, label) for code, label in mapping.items()]


class NewReferralForm(OnceForm):
    service_id = RadioField(_l("Service"), validators=[InputRequired(message=_l("Choose a service."))],
                            choices=[])
    urgency = RadioField(_l("Urgency"), choices=_options(vocab.URGENCIES), default="routine",
                         validators=[InputRequired()])
    share_phone = BooleanField(_l("Share the client's phone number with this service"))
    note_to_receiver = TextAreaField(
        _l("Note to the receiving service"),
        filters=[tidy], validators=[Text(NOTE_MAX, multiline=True)],
    )
    consent = BooleanField(_l("The client agreed today that the details shown above are shared with this "
                              "service for this referral"))
    previous_referral_id = HiddenField()
    need = HiddenField()  # which kind of service to offer: carried here, never in the URL


NO_RESULTS = _l("Write what was done, never a test result or a diagnosis: those stay in the service's own "
                "records, not here.")


class TransitionForm(CaseworkForm):
    """One status change; the lifecycle module decides whether it is allowed."""

    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])
    reason_code = SelectField(_l("Reason"), choices=[], validate_choice=False, validators=[Optional()])
    reason_text = TextAreaField(_l("Details (optional)"), filters=[tidy], validators=[Text(NOTE_MAX, multiline=True)])
    business_status = SelectField(_l("What was delivered"), choices=[], validate_choice=False,
                                  validators=[Optional()])
    outcome = TextAreaField(_l("Outcome (optional)"), filters=[tidy], validators=[Text(NOTE_MAX, multiline=True)],
                            description=NO_RESULTS)
    feedback = TextAreaField(_l("Feedback to the referring collaborator (optional)"),
                             filters=[tidy], validators=[Text(NOTE_MAX, multiline=True)])


class FindByCodeForm(CaseworkForm):
    code = StringField(_l("Referral code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})


class FeedbackForm(CaseworkForm):
    """A note from the receiving service to the referrer, without a change of status."""

    version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("Feedback to the referring collaborator"), filters=[tidy],
                         validators=[DataRequired(message=_l("Write the feedback first.")),
                                     Text(NOTE_MAX, multiline=True)])
