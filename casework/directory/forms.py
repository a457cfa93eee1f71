from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from casework import vocab
from casework.forms import CaseworkForm

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("This is not an email address."))
SERVICE_STATUSES = {"active": _l("Active"), "inactive": _l("Inactive"), "defunct": _l("No longer offered")}


def _options(mapping: dict[str, object]) -> list[SelectChoice]:
    """Options from a vocabulary; labels stay lazy so they follow the reader's language."""
    return [SelectChoice(code, label) for code, label in mapping.items()]


class OrganisationForm(CaseworkForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    alternate_name = StringField(_l("Other name"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind of organisation"), choices=_options(vocab.ORGANISATION_KINDS))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("Email"), validators=[Optional(), EMAIL, Length(max=200)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    active = BooleanField(_l("Active (collaborators can refer to it)"), default=True)


class LocationForm(CaseworkForm):
    name = StringField(_l("Name of the place"), validators=[DataRequired(), Length(max=200)])
    address_1 = StringField(_l("Street address"), validators=[Optional(), Length(max=300)])
    address_locality = StringField(_l("Ward / commune"), validators=[Optional(), Length(max=120)])
    address_region = StringField(_l("City / province"), validators=[Optional(), Length(max=120)])
    description = TextAreaField(_l("How to find it"), validators=[Optional(), Length(max=2000)])


class ServiceForm(CaseworkForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    need_domain = SelectField(_l("Need it answers"),
                              choices=[SelectChoice(k, label) for k, (label, _group) in vocab.NEED_DOMAINS.items()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    eligibility_description = TextAreaField(_l("Who can use it"), validators=[Optional(), Length(max=2000)])
    opening_hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=300)])
    location_id = SelectField(_l("Where"), choices=[], validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("Email"), validators=[Optional(), EMAIL, Length(max=200)])
    is_free = BooleanField(_l("Free of charge"))
    no_id_needed = BooleanField(_l("No identity document needed"))
    confidential = BooleanField(_l("Confidential"))
    accept_within_days = IntegerField(_l("Days to accept a referral"), default=3,
                                      validators=[DataRequired(), NumberRange(min=1, max=60)])
    complete_within_days = IntegerField(_l("Days to complete a referral"), default=30,
                                        validators=[DataRequired(), NumberRange(min=1, max=365)])
    status = SelectField(_l("Status"), choices=_options(SERVICE_STATUSES))


class ImportForm(CaseworkForm):
    file = FileField(_l("HSDS 3.0 JSON file"), validators=[FileRequired(message=_l("Choose a file."))])
    need_domain = SelectField(
        _l("Need of new services the file gives none for"),
        choices=[SelectChoice("", _l("— not set —")),
                 *[SelectChoice(k, label) for k, (label, _group) in vocab.NEED_DOMAINS.items()]],
        validators=[Optional()],
        description=_l("Files from other HSDS systems do not say which of casework's needs a service answers. "
                       "Such new services are imported as inactive with this need, for you to check. "
                       "If it is not set, a file with such services is not imported."))
