"""Finding a client by UIC through the blind index (docs/DESIGN.md §2, §3).

A UIC is compared in canonical form (NFC, no Vietnamese diacritics, đ/Đ → D,
upper case, no spaces or punctuation). The index is a truncated keyed hash, so
it collides on purpose; the candidates are decrypted and compared, and only
true matches come back.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from casework.clients.models import Client
from casework.clients.storage import find_ids_by_uic, new_client, uic_index
from casework.crypto import BlindIndexer, Keyring, canonical_uic
from casework.crypto.blind_index import bits_bounds
from casework.db import Database
from casework.errors import FieldIntegrityError

# An oracle written independently of the code under test: each Vietnamese letter and its base.
VIETNAMESE_BASES = {
    "A": "AÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", "E": "EÈÉẺẼẸÊỀẾỂỄỆ", "I": "IÌÍỈĨỊ",
    "O": "OÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", "U": "UÙÚỦŨỤƯỪỨỬỮỰ", "Y": "YỲÝỶỸỴ", "D": "DĐÐ",
}
TO_BASE = {ch: base for base, letters in VIETNAMESE_BASES.items() for ch in letters}
TO_BASE |= {ch.lower(): base for ch, base in TO_BASE.items()}
VIETNAMESE_LETTERS = "".join(TO_BASE) + "BCGHKLMNPQRSTVXbcghklmnpqrstvx"
SEPARATORS = " -._/,'\t"


def oracle_canonical(raw: str) -> str:
    """What a person means by the UIC: letters without marks, upper case, digits; nothing else."""
    out = []
    for ch in unicodedata.normalize("NFC", raw):
        if ch in TO_BASE:
            out.append(TO_BASE[ch])
        elif ch.isascii() and ch.isalnum():
            out.append(ch.upper())
    return "".join(out)


@pytest.fixture
def owner_id(make_user) -> str:
    return make_user("collaborator", second_factor=False).user_id


@pytest.fixture
def narrow_database(app, database_url) -> Iterator[Database]:
    """The same database and keys, but a 1-bit blind index: half of all clients collide."""
    runtime = app.extensions["casework"]
    narrow = Database(database_url, runtime.database.cipher, BlindIndexer(runtime.keyring, 1))
    yield narrow
    narrow.dispose()


def _store(database, owner_id: str, uic: str | None) -> str:
    with database.transaction() as session:
        return new_client(session, owner_id=owner_id, uic=uic, alias="Khách").id


def _find(database, raw: str) -> list[str]:
    with database.transaction() as session:
        return find_ids_by_uic(session, raw)


# --- canonical form ---------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "canonical"), [
    ("Nguyễn", "NGUYEN"), ("NGUYEN", "NGUYEN"), ("nguyen ", "NGUYEN"), ("Ng-uy.en", "NGUYEN"),
    (unicodedata.normalize("NFD", "Nguyễn"), "NGUYEN"), ("Đỗ", "DO"), ("đỗ", "DO"), ("ĐÀO", "DAO"),
    ("ÐÀO", "DAO"),  # U+00D0, the look-alike of Đ that legacy Vietnamese encodings produce
    ("Hương Thủy 1994 F", "HUONGTHUY1994F"), ("Ư Ơ ư ơ", "UOUO"), ("  ", ""), ("--", ""),
])
def test_canonical_form_of_typed_uics(typed, canonical):
    assert canonical_uic(typed) == canonical


vietnamese_text = st.text(alphabet=VIETNAMESE_LETTERS + "0123456789" + SEPARATORS, max_size=24)


@given(vietnamese_text)
def test_canonical_form_is_idempotent(raw):
    assert canonical_uic(canonical_uic(raw)) == canonical_uic(raw)


@given(vietnamese_text)
def test_canonical_form_ignores_case_diacritics_spacing_and_normalisation(raw):
    expected = oracle_canonical(raw)
    assert canonical_uic(raw) == expected
    assert canonical_uic(raw.upper()) == expected
    assert canonical_uic(raw.lower()) == expected
    assert canonical_uic(unicodedata.normalize("NFD", raw)) == expected
    assert canonical_uic(" ".join(raw)) == expected
    assert canonical_uic(oracle_canonical(raw).lower()) == expected


@given(st.text(max_size=30))
def test_canonical_form_of_any_text_is_plain_upper_case_ascii(raw):
    out = canonical_uic(raw)
    assert out == canonical_uic(out)
    assert all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for ch in out)


# --- lookups ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Nguyễn", "NGUYEN", "nguyen ", "Ng-uy.en", "NGUYỄN",
                                   unicodedata.normalize("NFD", "nguyễn")])
def test_any_spelling_of_a_uic_finds_the_client(database, owner_id, typed):
    # Given a client registered with the UIC "Nguyễn" and one with another UIC
    client = _store(database, owner_id, "Nguyễn")
    _store(database, owner_id, "Nguyệt")
    # When a collaborator types it another way, Then exactly that client is found
    assert _find(database, typed) == [client]


@pytest.mark.parametrize("typed", ["Đỗ Đào", "đỗ đào", "DO DAO", "dodao", "Do-Dao", "ÐỖ ÐÀO"])
def test_d_with_stroke_matches_plain_d(database, owner_id, typed):
    client = _store(database, owner_id, "ĐỖ ĐÀO")
    assert _find(database, typed) == [client]


def test_same_uic_for_two_clients_returns_both_for_a_human_to_confirm(database, owner_id):
    # Given two clients whose UICs are equal after canonicalisation (UICs are not unique)
    first = _store(database, owner_id, "LAHU1990F")
    second = _store(database, owner_id, "la hu 1990 f")
    # Then a lookup returns both, never one chosen silently
    assert sorted(_find(database, "LAHU1990F")) == sorted([first, second])


def test_declined_or_empty_uic_matches_nobody(database, owner_id):
    _store(database, owner_id, None)
    _store(database, owner_id, " - ")
    assert _find(database, "") == []
    assert _find(database, " . ") == []


def test_colliding_index_values_never_produce_a_false_match(narrow_database, owner_id):
    # Given 30 clients with different UICs and a 1-bit blind index, so that most share a bucket
    stored = {f"MA{n:02d}PA1990F": _store(narrow_database, owner_id, f"MA{n:02d}PA1990F") for n in range(30)}
    with narrow_database.transaction() as session:
        buckets = [uic_index(session, uic) for uic in stored]
    assert len(set(buckets)) < len(stored)  # collisions really happen

    # When each UIC is looked up, Then only its own client comes back
    for uic, client in stored.items():
        assert _find(narrow_database, uic.lower()) == [client]
    # And a UIC nobody has finds nothing, although its bucket is full of candidates
    assert _find(narrow_database, "XAXA2000M") == []


def test_tampered_candidate_is_an_integrity_error_not_a_silent_miss(narrow_database, owner_id):
    # Given two clients in the same bucket; an attacker swaps their UIC ciphertexts
    with narrow_database.transaction() as session:
        bucket = uic_index(session, "AAAA")
        other = next(f"B{n}" for n in range(100) if uic_index(session, f"B{n}") == bucket)
    first, second = _store(narrow_database, owner_id, "AAAA"), _store(narrow_database, owner_id, other)
    with narrow_database.transaction() as session:
        token = session.scalar(select(Client.uic_enc).where(Client.id == first))
        session.execute(text("UPDATE clients SET uic_enc = :t WHERE id = :i"), {"t": token, "i": second})

    # When the first UIC is searched, Then the lookup refuses instead of returning a guess
    with pytest.raises(FieldIntegrityError):
        _find(narrow_database, "AAAA")


def test_index_values_depend_on_the_secret_key(app, tmp_path):
    # Given the app's index key and a stranger's
    Keyring.create(tmp_path / "stranger")
    ours = BlindIndexer(app.extensions["casework"].keyring, 32)
    theirs = BlindIndexer(Keyring.load(tmp_path / "stranger", allow_example=False), 32)
    uics = [f"NGTR{1970 + n}F" for n in range(20)]

    def indexes(indexer: BlindIndexer, column: str = "uic_enc") -> list[int]:
        return [indexer.index(u, table="clients", column=column, name="uic") for u in uics]

    # Then an attacker can neither precompute the index without the key nor link two columns
    assert indexes(ours) != indexes(theirs)
    assert indexes(ours) != indexes(ours, column="other_enc")
    unkeyed = [int.from_bytes(hashlib.sha256(u.encode()).digest()[:4], "big") for u in uics]
    assert indexes(ours) != unkeyed


# --- properties over the stored table -------------------------------------------------------

mother = st.text(alphabet=VIETNAMESE_LETTERS, min_size=2, max_size=2)
year = st.integers(min_value=1950, max_value=2010).map(str)
sex = st.sampled_from("FMT")
uic_parts = st.tuples(mother, mother, year, sex)


def _respell(parts: tuple[str, ...], data: st.DataObject) -> str:
    """The same UIC as a person might type it again: other case, spacing, marks or normalisation."""
    text_form = data.draw(st.sampled_from(["", " ", "-", ". "])).join(parts)
    text_form = data.draw(st.sampled_from([str.upper, str.lower, str.title, str]))(text_form)
    if data.draw(st.booleans()):
        text_form = oracle_canonical(text_form)  # marks dropped, as typed on a phone without them
    form = data.draw(st.sampled_from(["NFC", "NFD"]))
    return unicodedata.normalize(form, text_form) + data.draw(st.sampled_from(["", " ", "  "]))


def test_stored_uics_are_found_by_any_respelling_and_never_confused(database, app, database_url, owner_id):
    # Given a 4-bit index (many collisions) over a growing set of randomly generated UICs
    runtime = app.extensions["casework"]
    narrow = Database(database_url, runtime.database.cipher, BlindIndexer(runtime.keyring, 4))
    by_canonical: dict[str, set[str]] = {}

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(parts=uic_parts, data=st.data())
    def check(parts: tuple[str, ...], data: st.DataObject) -> None:
        raw = "".join(parts)
        assume(oracle_canonical(raw))
        client = _store(narrow, owner_id, raw)
        by_canonical.setdefault(oracle_canonical(raw), set()).add(client)
        # When it is looked up by any re-spelling, Then exactly the clients with that canonical UIC return
        assert set(_find(narrow, _respell(parts, data))) == by_canonical[oracle_canonical(raw)]
        # And a different canonical UIC returns none of them
        for canonical, ids in list(by_canonical.items())[:5]:
            if canonical != oracle_canonical(raw):
                assert not set(_find(narrow, canonical)) & by_canonical[oracle_canonical(raw)]
                assert set(_find(narrow, canonical)) == ids

    try:
        check()
    finally:
        narrow.dispose()
    assert len(by_canonical) > 10


# --- index width ------------------------------------------------------------------------------


def _within_rule(rows: int, bits: int) -> bool:
    """CipherSweet's rule 2 <= R/2^L < sqrt(R), in exact integer arithmetic."""
    return rows >= 2 * 2**bits and rows < 4**bits


def test_bits_bounds_are_exactly_the_widths_the_rule_allows():
    for rows in [*range(8, 5_000), 99_999, 100_000, 1_000_000, 10**12, 4**20, 4**20 - 1, 2**41, 2**49 - 1]:
        allowed = [bits for bits in range(1, 64) if _within_rule(rows, bits)]
        assert bits_bounds(rows) == (allowed[0], allowed[-1]), rows


@given(st.integers(min_value=8, max_value=10**18))
def test_bits_bounds_hold_for_any_row_count(rows):
    low, high = bits_bounds(rows)
    assert low <= high
    assert _within_rule(rows, low) and _within_rule(rows, high)
    assert not _within_rule(rows, low - 1) and not _within_rule(rows, high + 1)


def test_default_width_suits_two_thousand_to_a_million_clients():
    # docs/DESIGN.md §3: L = 10 satisfies the rule from about 2,000 to 1,000,000 clients
    assert all(bits_bounds(rows)[0] <= 10 <= bits_bounds(rows)[1] for rows in (2_048, 10_000, 100_000, 1_000_000))
    assert bits_bounds(100_000) == (9, 15)
    assert not _within_rule(2_000, 10) and not _within_rule(1_100_000, 10)
    assert math.isclose(100_000 / 2**15, 3.05, abs_tol=0.01)
