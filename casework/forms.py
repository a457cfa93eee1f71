"""The base of every form: WTForms' own messages ("This field is required.", "Not a valid
choice."…) come from casework's catalogs, in the person's language. WTForms ships no Vietnamese,
so its messages are listed below for the catalog and translated there like any other string."""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _n
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField


class _Catalog:
    """The translations object WTForms asks for: casework's merged catalogs (Flask-Babel). WTForms
    fills in the placeholders itself, so the strings are looked up only, never interpolated."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


CATALOG = _Catalog()


CONTROL_CHARACTERS = _l("Remove invisible or control characters (for example text pasted from another app) and "
                        "type the text again.")
_LINE_CONTROLS = frozenset("\t\n\r")


class CaseworkForm(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> _Catalog:
            return CATALOG

    def validate(self, extra_validators: Any = None) -> bool:
        """Every text field of every form refuses control characters (NUL above all: PostgreSQL cannot
        store it), whatever the form's own checks; a text area keeps its line breaks and tabs."""
        valid = super().validate(extra_validators)
        for field in self:
            if not isinstance(field, StringField) or not isinstance(field.data, str):
                continue
            allowed = _LINE_CONTROLS if isinstance(field, TextAreaField) else frozenset()
            if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in field.data):
                if CONTROL_CHARACTERS not in field.errors:
                    field.errors = [*field.errors, CONTROL_CHARACTERS]
                valid = False
        return valid


# WTForms' built-in messages (wtforms/locale/wtforms.pot), so that extraction puts them in the
# core catalog. Never used directly.
WTFORMS_MESSAGES = (
    _l("Invalid field name '%s'."),
    _l("Field must be equal to %(other_name)s."),
    _n("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1),
    _n("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1),
    _n("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 1),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Date must be at least %(min)s."),
    _l("Date must be at most %(max)s."),
    _l("Date must be between %(min)s and %(max)s."),
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Invalid IP address."),
    _l("Invalid Mac address."),
    _l("Invalid URL."),
    _l("Invalid UUID."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("Invalid value, can't be any of: %(values)s."),
    _l("This field cannot be edited."),
    _l("This field is disabled and cannot have a value."),
    _l("Invalid CSRF Token."),
    _l("CSRF token missing."),
    _l("CSRF failed."),
    _l("CSRF token expired."),
    _l("Invalid Choice: could not coerce."),
    _l("Choices cannot be None."),
    _l("Not a valid choice."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _n("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field.", 1),
    _l("Not a valid datetime value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid week value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
)


def _new_form_token() -> str:
    return secrets.token_urlsafe(18)


class OnceForm(CaseworkForm):
    """A form whose submission must take effect once: it carries a random token, and the view saves
    only if the token was never used (casework.submissions). Pressing Back and sending it again, or
    a double tap, changes nothing the second time."""

    form_token = HiddenField(default=_new_form_token)
