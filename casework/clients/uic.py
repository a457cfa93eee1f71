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

from flask_babel import lazy_gettext as _l

from casework.crypto import canonical_uic

LETTERS_PER_NAME = 2
# The sex code of the UIC, with the labels a worker chooses from (the code is what is stored).
SEX_CODES = {
    "N": _l("N — female (nữ)"),
    "A": _l("A — male (nam)"),
    "K": _l("K — another gender, or the client prefers not to say"),
}
_YEAR = re.compile(r"^(19|20)\d\d$")


def compose(mother: str, father: str, year: str, sex: str) -> str:
    """The canonical UIC from its parts ('' if a part is missing)."""
    parts = (canonical_uic(mother)[:LETTERS_PER_NAME], canonical_uic(father)[:LETTERS_PER_NAME],
             canonical_uic(year), canonical_uic(sex))
    names_ok = len(parts[0]) == LETTERS_PER_NAME and len(parts[1]) == LETTERS_PER_NAME
    if not names_ok or not _YEAR.match(parts[2]) or not parts[3]:
        return ""
    return "".join(parts)


def canonical(raw: str) -> str:
    """The form a UIC is stored, indexed and compared in, however it was typed."""
    words = raw.split()
    if len(words) >= 4:
        year, sex = canonical_uic(words[-2]), canonical_uic(words[-1])
        if _YEAR.match(year) and sex.isalpha() and len(sex) <= 2:
            composed = compose(words[0], words[-3], year, sex)
            if composed:
                return composed
    return canonical_uic(raw)
