"""The UIC as a form of its parts: two letters of the mother's given name, two of the father's, the
birth year and a sex code. Two workers who write the same person as "Hương Đức 1994 N" and as
"HU DU 1994 N" store, and search for, the same canonical code "HUDU1994N".

The characters are canonicalised by casework.crypto.canonical_uic (accents, đ, case, spaces,
punctuation); this module adds the parts: a UIC typed whole in four words is read part by part,
so that full given names give the same code as their first two letters. A code typed as one word
("HUDU1994N") is taken as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casework.crypto import canonical_uic

# The sex codes casework knows a Vietnamese label for; an installation may use others
# (CASEWORK_UIC_SEX_CODES), which are then shown as the code itself.
SEX_LABELS = {
    "N": _l("N — female (nữ)"),
    "A": _l("A — male (nam)"),
    "K": _l("K — another gender, or the client prefers not to say"),
}
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class UicRules:
    """The parts of this installation's UIC (CASEWORK_UIC_NAME_LETTERS, CASEWORK_UIC_SEX_CODES)."""

    letters: int = 2
    sex_codes: tuple[str, ...] = ("N", "A", "K")

    @classmethod
    def from_settings(cls, settings: object) -> UicRules:
        return cls(letters=getattr(settings, "uic_name_letters", 2),
                   sex_codes=tuple(getattr(settings, "uic_sex_code_list", ("N", "A", "K"))))

    def sex_choices(self) -> list[tuple[str, object]]:
        return [(code, SEX_LABELS.get(code, code)) for code in self.sex_codes]

    def compose(self, mother: str, father: str, year: str, sex: str) -> str:
        """The canonical UIC from its parts ('' if a part is missing or not one of the codes)."""
        parts = (canonical_uic(mother)[:self.letters], canonical_uic(father)[:self.letters],
                 canonical_uic(year), canonical_uic(sex))
        names_ok = len(parts[0]) == self.letters and len(parts[1]) == self.letters
        if not names_ok or not _YEAR.match(parts[2]) or parts[3] not in self.sex_codes:
            return ""
        return "".join(parts)

    def canonical(self, raw: str) -> str:
        """The form a UIC is stored, indexed and compared in, however it was typed."""
        words = raw.split()
        if len(words) >= 4:
            year, sex = canonical_uic(words[-2]), canonical_uic(words[-1])
            if _YEAR.match(year) and sex in self.sex_codes:
                composed = self.compose(words[0], words[-3], year, sex)
                if composed:
                    return composed
        return canonical_uic(raw)


DEFAULT = UicRules()


def rules_of(session: Session) -> UicRules:
    """The rules the session's database was opened with (casework.db.Database ``info``)."""
    return session.info.get("uic_rules", DEFAULT)


def compose(mother: str, father: str, year: str, sex: str) -> str:
    return DEFAULT.compose(mother, father, year, sex)


def canonical(raw: str) -> str:
    return DEFAULT.canonical(raw)
