"""Forms of the clients area. Every message is ours, so it is translated (WTForms has no Vietnamese)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, DateField, Field, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from casework import clock, vocab
from casework.clients import uic as uic_rules
from casework.clients.services import age_band_for
from casework.forms import CaseworkForm, OnceForm
from casework.runtime import settings as runtime_settings

ALIAS_MAX = 80
PHONE_MAX = 20
RESIDENCE_MAX = 200
UIC_MAX = 40
UIC_CANONICAL = (4, 24)
NOTE_MAX = 4000
NEED_NOTE_MAX = 1000
FOLLOW_UP_MAX = 500
OLDEST_AGE, YOUNGEST_AGE = 100, 10

# Control characters, zero-width characters and bidirectional overrides: they hide or
# reorder text on screen, so a stored value could read differently from what was typed.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]"
)
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
_PHONE = re.compile(r"^\+?[0-9 ().-]{6,20}$")

REQUIRED = _l("This field is required.")
NOT_A_CHOICE = _l("Choose one of the options shown.")
CHOOSE_ONE = _l("Choose an answer: there is no preset one.")


def tidy(value: Any) -> Any:
    """NFC and trimmed; empty text becomes None."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value).strip()
    return value or None


class Text:
    """Length and character checks for free text, with Vietnamese messages."""

    def __init__(self, max_length: int, *, multiline: bool = False) -> None:
        self.max_length = max_length
        self.multiline = multiline

    def __call__(self, form: CaseworkForm, field: Field) -> None:
        value = field.data or ""
        if _HIDDEN.search(value) or (not self.multiline and _LINE_BREAKS.search(value)):
            raise ValidationError(_l("Remove invisible or control characters (for example text "
                                     "pasted from another app) and type the text again."))
        if any(0xD800 <= ord(ch) <= 0xDFFF or unicodedata.category(ch) in ("Cn", "Co") for ch in value):
            raise ValidationError(_l("This text contains characters that cannot be stored."))
        if len(value) > self.max_length:
            raise ValidationError(_l("Too long: at most %(n)d characters (you typed %(m)d).",
                                     n=self.max_length, m=len(value)))


class Required:
    def __call__(self, form: CaseworkForm, field: Field) -> None:
        if field.data in (None, "", False):
            raise ValidationError(REQUIRED)


def _values(choices: Any) -> set[Any]:
    """The values a choice field accepts (SelectChoice, or a legacy tuple set by a caller)."""
    return {SelectChoice.from_input(choice).value for choice in choices or ()}


class Choice(SelectField):
    def pre_validate(self, form: CaseworkForm) -> None:
        if not self.data and "" in _values(self.choices):
            raise ValidationError(CHOOSE_ONE)  # the "— choose —" line: nothing chosen yet
        if self.data not in _values(self.choices):
            raise ValidationError(NOT_A_CHOICE)


class RadioChoice(RadioField):
    def pre_validate(self, form: CaseworkForm) -> None:
        if self.data not in _values(self.choices):
            raise ValidationError(NOT_A_CHOICE)


class Day(DateField):
    """A date (dd/mm/yyyy shown by the browser's date picker) with our own message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not valuelist[0]:
            self.data = None
            return
        try:
            self.data = datetime.strptime(valuelist[0].strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a real date.")) from None


class NotInFuture:
    def __call__(self, form: CaseworkForm, field: Field) -> None:
        if field.data and field.data > clock.local_today():
            raise ValidationError(_l("This date cannot be in the future."))


class NotTooOld:
    def __call__(self, form: CaseworkForm, field: Field) -> None:
        if field.data and field.data < date(2000, 1, 1):
            raise ValidationError(_l("Enter a real date."))


def _choices(mapping: dict[str, Any]) -> list[SelectChoice]:
    """Options from a vocabulary; labels stay lazy so they follow the reader's language."""
    return [SelectChoice(value, label) for value, label in mapping.items()]


def check_birth_year(value: str | None) -> str | None:
    """A problem message for a birth year, or None if it is plausible (or blank)."""
    if not value:
        return None
    this_year = clock.local_today().year
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        return str(_l("Enter the birth year as four digits, for example 1998."))
    if not this_year - OLDEST_AGE <= int(value) <= this_year - YOUNGEST_AGE:
        return str(_l("This birth year is not possible for a client (between %(a)d and %(b)d).",
                      a=this_year - OLDEST_AGE, b=this_year - YOUNGEST_AGE))
    return None


def _uic_rules() -> uic_rules.UicRules:
    """This installation's UIC parts (settings), or the default outside an application."""
    return uic_rules.UicRules.from_settings(runtime_settings()) if has_app_context() else uic_rules.DEFAULT


class ClientDetailsMixin:
    """Fields shared by registration and correction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = _uic_rules()
        self.uic_sex.choices = [SelectChoice("", _l("— choose —")),
                                *[SelectChoice(code, label) for code, label in rules.sex_choices()]]
        self.uic_mother.label.text = ngettext("Mother's given name (its first letter is used)",
                                              "Mother's given name (its first %(num)d letters are used)", rules.letters)
        self.uic_father.label.text = ngettext("Father's given name (its first letter is used)",
                                              "Father's given name (its first %(num)d letters are used)", rules.letters)

    def validate_uic(self, field: Field) -> None:
        parts = [getattr(self, f"uic_{part}").data or "" for part in ("mother", "father", "year", "sex")]
        if any(part.strip() for part in parts):  # typed as its parts: those make the code
            composed = _uic_rules().compose(*parts)
            if not composed:
                raise ValidationError(_l("Fill in the four parts of the UIC: the mother's given name, the "
                                         "father's given name, a 4-digit year and the sex code."))
            field.data = composed
        if getattr(self, "uic_declined", None) is not None and self.uic_declined.data:
            if field.data:
                raise ValidationError(_l("Either enter the UIC or tick “declined”, not both."))
            return
        if not field.data:
            raise ValidationError(_l("Enter the UIC, or tick “the client declined to give a UIC”."))
        length = len(_uic_rules().canonical(field.data))
        if not UIC_CANONICAL[0] <= length <= UIC_CANONICAL[1]:
            raise ValidationError(_l("A UIC has between %(a)d and %(b)d letters and digits.",
                                     a=UIC_CANONICAL[0], b=UIC_CANONICAL[1]))

    def validate_birth_year(self, field: Field) -> None:
        problem = check_birth_year(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_age_band(self, field: Field) -> None:
        year = getattr(self, "birth_year", None)
        if year is None or not year.data or not str(year.data).isdigit() or field.data in (None, "", "unknown"):
            return
        implied = age_band_for(int(year.data), clock.local_today())
        if implied != field.data:
            raise ValidationError(_l("The birth year %(year)s gives the age band %(band)s, not the one chosen: "
                                     "choose “unknown” here, or correct the birth year.",
                                     year=year.data, band=vocab.AGE_BANDS.get(implied, implied)))

    def validate_phone(self, field: Field) -> None:
        if field.data and not _PHONE.match(field.data):
            raise ValidationError(_l("Enter a phone number with digits only, for example 0912 345 678."))


_UIC_PART = {"autocomplete": "off", "spellcheck": "false", "data-uic-part": "1"}



def _details_fields() -> dict[str, Field]:
    return {
        "uic": StringField(_l("The whole UIC, if you have it written down"), filters=[tidy],
                           validators=[Text(UIC_MAX)],
                           render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        "uic_mother": StringField(_l("Mother's given name"), filters=[tidy], validators=[Text(40)],
                                  render_kw=_UIC_PART),
        "uic_father": StringField(_l("Father's given name"), filters=[tidy], validators=[Text(40)],
                                  render_kw=_UIC_PART),
        "uic_year": StringField(_l("Birth year (4 digits)"), filters=[tidy], validators=[Text(4)],
                                render_kw={**_UIC_PART, "inputmode": "numeric", "maxlength": "4"}),
        "uic_sex": SelectField(_l("Sex code"), validate_choice=False, choices=[]),  # from the settings
        "uic_declined": BooleanField(_l("The client declined to give a UIC")),
        "sex_gender": Choice(_l("Sex / gender"), choices=_choices(vocab.SEX_GENDER), default="undisclosed"),
        "birth_year": StringField(_l("Birth year (optional)"), filters=[tidy], validators=[Text(4)],
                                  render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": "4"}),
        "age_band": Choice(_l("Age band, if the birth year is not known"),
                           choices=_choices(vocab.AGE_BANDS), default="unknown"),
        # No preset: a preset answer that nobody changes would be counted as true in the reports.
        "outreach_source": Choice(_l("Where the client was reached"),
                                  choices=[SelectChoice("", _l("— choose —")), *_choices(vocab.OUTREACH_SOURCES)],
                                  default=""),
        "contact_preference": Choice(_l("How the client wants to be contacted"),
                                     choices=_choices(vocab.CONTACT_PREFERENCES), default="do_not_contact"),
        "alias": StringField(_l("Name the client goes by (optional)"), filters=[tidy], validators=[Text(ALIAS_MAX)],
                             render_kw={"autocomplete": "off"}),
        "phone": StringField(_l("Phone (optional)"), filters=[tidy], validators=[Text(PHONE_MAX)],
                             render_kw={"autocomplete": "off", "inputmode": "tel", "type": "tel"}),
        "residence": StringField(_l("Where the client lives (optional, e.g. residential group)"), filters=[tidy],
                                 validators=[Text(RESIDENCE_MAX)], render_kw={"autocomplete": "off"}),
    }


class RegisterForm(ClientDetailsMixin, OnceForm):
    consent_given = BooleanField(_l("The client agreed to be registered, after hearing what is kept and why"))
    consent_method = RadioChoice(_l("How consent was given"), choices=_choices(vocab.CONSENT_METHODS),
                                 default="verbal")
    consent_date = Day(_l("Date of consent"), validators=[Required(), NotInFuture(), NotTooOld()],
                       default=clock.local_today)
    consent_share = BooleanField(_l("The client also agreed that referrals may share the minimum needed "
                                    "with service providers"))
    consent_contact = BooleanField(_l("The client also agreed to be contacted in the way chosen below"))
    confirm_different = BooleanField(_l("I checked with the client: this is a different person, register them"))

    def validate_consent_given(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_l("Without the client's consent to registration nothing can be stored."))


class CorrectForm(ClientDetailsMixin, CaseworkForm):
    confirm_different = BooleanField(_l("I checked with the client: the other record is a different person, "
                                        "save the correction"))


for _name, _field in _details_fields().items():
    setattr(RegisterForm, _name, _field)
for _name, _field in _details_fields().items():
    setattr(CorrectForm, _name, _field)


class FindForm(CaseworkForm):
    query = StringField(_l("Display code or UIC"), filters=[tidy], validators=[Required(), Text(UIC_MAX)],
                        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class CoassignRequestForm(CaseworkForm):
    uic = HiddenField(filters=[tidy], validators=[Required(), Text(UIC_MAX)])


class ConsentForm(CaseworkForm):
    purpose = Choice(_l("Purpose"), choices=_choices(vocab.CONSENT_PURPOSES))
    method = RadioChoice(_l("How consent was given"), choices=_choices(vocab.CONSENT_METHODS), default="verbal")
    given_on = Day(_l("Date of consent"), validators=[Required(), NotInFuture(), NotTooOld()],
                   default=clock.local_today)


class NoteForm(OnceForm):
    body = TextAreaField(_l("Case note"), filters=[tidy], validators=[Required(), Text(NOTE_MAX, multiline=True)],
                         render_kw={"rows": "4"})


class NotInPast:
    def __call__(self, form: CaseworkForm, field: Field) -> None:
        if field.data and field.data < clock.local_today():
            raise ValidationError(_l("This date has passed: choose today or a later day."))


class FollowUpForm(OnceForm):
    due_on = Day(_l("Due date"), validators=[Required(), NotTooOld(), NotInPast()])
    description = StringField(_l("What to follow up (optional)"), filters=[tidy], validators=[Text(FOLLOW_UP_MAX)],
                              render_kw={"autocomplete": "off"})


class CloseForm(CaseworkForm):
    reason = RadioChoice(_l("Reason for closing"), choices=_choices(vocab.CLOSE_REASONS))


class EraseForm(CaseworkForm):
    display_code = StringField(_l("Type the client's display code to confirm"), filters=[tidy],
                               validators=[Required(), Text(20)],
                               render_kw={"autocomplete": "off", "autocapitalize": "characters"})


class ActionForm(CaseworkForm):
    """Only the CSRF token, for buttons that POST."""


def assessment_form(data: dict[str, Any] | None = None) -> CaseworkForm:
    """A form with one level and one note per need domain, plus date and eligibility."""

    class AssessmentForm(OnceForm):
        assessed_on = Day(_l("Date of assessment"), validators=[Required(), NotInFuture(), NotTooOld()],
                          default=clock.local_today)
        eligible = BooleanField(_l("I attest that the client meets the programme's eligibility criteria"))
        no_needs = BooleanField(_l("I asked about every area: the client has none of these needs now"))

        def validate(self, extra_validators: Any = None) -> bool:
            valid = super().validate(extra_validators)
            asked = any(self[f"level_{code}"].data != "none" or self[f"note_{code}"].data
                        for code in vocab.NEED_DOMAINS)
            if valid and not asked and not self.no_needs.data:
                # An assessment saved without touching anything is more likely a slip than a finding.
                self.form_errors.append(_l("Nothing was marked. Mark the client's needs, or tick that you asked "
                                           "about every area and there are none."))
                return False
            return valid

    for code, (label, _group) in vocab.NEED_DOMAINS.items():
        setattr(AssessmentForm, f"level_{code}", RadioChoice(label, choices=_choices(vocab.NEED_LEVELS),
                                                             default="none"))
        setattr(AssessmentForm, f"note_{code}", TextAreaField(
            _l("Note (optional)"), filters=[tidy], validators=[Optional(), Text(NEED_NOTE_MAX, multiline=True)],
            render_kw={"rows": "2"}))
    return AssessmentForm(data=data)


def need_notes_form(domains: list[str], data: dict[str, Any] | None = None) -> CaseworkForm:
    """The notes of one assessment's needs, for correction (the same checks as when assessing)."""

    class NeedNotesForm(CaseworkForm):
        pass

    for code in domains:
        label = vocab.NEED_DOMAINS[code][0] if code in vocab.NEED_DOMAINS else code
        setattr(NeedNotesForm, f"note_{code}", TextAreaField(
            label, filters=[tidy], validators=[Optional(), Text(NEED_NOTE_MAX, multiline=True)],
            render_kw={"rows": "2"}))
    return NeedNotesForm(data=data)


def _reasons() -> list[SelectChoice]:
    from casework.approvals import labels

    return [SelectChoice("", _l("— choose —")),
            *[SelectChoice(code, labels.REASONS[code]) for code in labels.PROPOSABLE_REASONS]]


class ReassignCaseloadForm(CaseworkForm):
    from_user = Choice(_l("Move every client of"), choices=[])
    to_user = Choice(_l("To"), choices=[])
    reason = Choice(_l("Why"), choices=_reasons, validators=[Required()])


class ReassignClientForm(CaseworkForm):
    display_code = StringField(_l("Client display code"), filters=[tidy], validators=[Required(), Text(20)],
                               render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    client_to = Choice(_l("To"), choices=[])
    client_reason = Choice(_l("Why"), choices=_reasons, validators=[Required()])


def is_post() -> bool:
    from flask import request

    return request.method == "POST"
