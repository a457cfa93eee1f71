from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from casework.auth import passwords
from casework.forms import CaseworkForm

PASSWORD_PROBLEMS = {
    "too_short": _l("The password must have at least %(n)d characters.", n=passwords.MIN_PASSWORD_LENGTH),
    "too_common": _l("This password is too common or too easy to guess. Choose another."),
}


class LoginForm(CaseworkForm):
    # Spaces and tabs around a username are dropped here, as sign-in ignores them (one lockout per account).
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           filters=[lambda value: value.strip() if isinstance(value, str) else value],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=512)],
                             render_kw={"autocomplete": "current-password"})


class SecondFactorForm(CaseworkForm):
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class NewPasswordMixin:
    def validate_new_password(self, field: PasswordField) -> None:
        username = getattr(self, "_username", "")
        problem = passwords.password_problem(field.data or "", username=username)
        if problem:
            raise ValidationError(str(PASSWORD_PROBLEMS[problem]))


class ChangePasswordForm(NewPasswordMixin, CaseworkForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=512)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmCodeForm(CaseworkForm):
    code = StringField(_l("Six-digit code shown by the app"), validators=[DataRequired(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    # Asked only when a second factor is already active, so an unlocked screen is not enough
    # to swap it (which would also sign the owner out everywhere).
    current_password = PasswordField(_l("Current password"), validators=[Optional(), Length(max=512)],
                                     render_kw={"autocomplete": "current-password"})


class LanguageForm(CaseworkForm):
    locale = SelectField(_l("Language"), choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")])
    next = HiddenField()


class ActionForm(CaseworkForm):
    """A form with nothing but the CSRF token, for buttons that POST."""


class ReauthenticateForm(CaseworkForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=512)],
                                     render_kw={"autocomplete": "current-password"})
