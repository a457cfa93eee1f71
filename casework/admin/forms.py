from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from casework import vocab
from casework.forms import CaseworkForm

USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"
PHONE_PATTERN = r"^[0-9 +().-]*$"
LANGUAGES = [SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")]


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(code, str(label)) for code, label in vocab.ROLES.items()]


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(code, str(label)) for code, label in vocab.ORGANISATION_KINDS.items()]


class DetailsMixin:
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)],
                               description=_l("Shown to colleagues. Staff only, never a client."))
    work_phone = StringField(
        _l("Work phone"),
        validators=[Optional(), Length(max=32),
                    Regexp(PHONE_PATTERN, message=_l("Use digits, spaces and + ( ) - only."))],
        render_kw={"type": "tel", "inputmode": "tel"},
    )
    locale = SelectField(_l("Language"), choices=LANGUAGES, default="vi")


class AccessMixin:
    role = SelectField(_l("Role"), choices=[])
    organisation_id = SelectField(_l("Organisation (service providers only)"), choices=[])


class NewUserForm(DetailsMixin, AccessMixin, CaseworkForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(min=3, max=64),
                    Regexp(USERNAME_PATTERN, message=_l("Use letters, digits, dot, dash or underscore only."))],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )


class UserDetailsForm(DetailsMixin, CaseworkForm):
    pass


class UserAccessForm(AccessMixin, CaseworkForm):
    pass


def fill_choices(form: CaseworkForm, organisations: list[tuple[str, str]]) -> None:
    """Choices are built per request so labels follow the reader's language."""
    if hasattr(form, "role"):
        form.role.choices = _role_choices()
        form.organisation_id.choices = [SelectChoice("", str(_l("— none —"))),
                                        *(SelectChoice(value, label) for value, label in organisations)]
    if hasattr(form, "kind"):
        form.kind.choices = _kind_choices()
