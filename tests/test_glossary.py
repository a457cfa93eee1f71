"""The Vietnamese catalogs follow docs/GLOSSARY.md: one term for one thing, plain words, the modern
tone placement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = sorted(ROOT.glob("casework/**/translations/vi/LC_MESSAGES/messages.po"))
GLOSSARY = (ROOT / "docs" / "GLOSSARY.md").read_text(encoding="utf-8")
TERMS = {
    "Client code": "Mã thân chủ", "Display code": "Mã thân chủ", "UIC": "Mã nhận diện (UIC)",
    "Received": "Đơn vị đã xem", "Accepted": "Đã chấp nhận", "Cancelled": "Đã hủy",
    "Failed": "Không thực hiện được", "Record as not successful": "Báo là không thực hiện được",
    "Lock now": "Khóa ngay", "Keys": "Khóa mã hóa", "Key:": "Mã bí mật:", "On": "Đã bật", "Off": "Chưa bật",
    "Audit log": "Nhật ký kiểm tra", "Second factor": "Xác thực hai lớp",
}
NOT = ("Mã hiển thị", "Đã tiếp nhận", "Ghi nhận không thành công", "chỉ mục mù", "khử định danh", "huỷ")
OLD_TONES = re.compile(r"(?i)o[áàảãạ](?![\wđ])|(?<![qQ])u[ýỳỷỹỵ](?![\wđ])")


def _messages():
    for path in CATALOGS:
        for message in read_po(path.open("rb")):
            if message.id:
                text = message.string if isinstance(message.string, str) else " ".join(message.string)
                yield path.parts[-5] if path.parts[-5] != "casework" else "core", message.id, text


def test_the_glossary_lists_every_checked_term():
    for vietnamese in TERMS.values():
        assert vietnamese.rstrip(":") in GLOSSARY, vietnamese


@pytest.mark.parametrize("english", sorted(TERMS))
def test_a_glossary_label_is_translated_as_the_glossary_says(english):
    found = [(area, text) for area, msgid, text in _messages() if msgid == english]
    assert found, f"{english!r} is in no catalog"
    assert all(text == TERMS[english] for _area, text in found), found


def test_no_catalog_uses_a_term_the_glossary_rules_out():
    bad = [(area, msgid, word) for area, msgid, text in _messages() for word in NOT if word in text.lower()
           or word in text]
    assert not bad, bad


def test_the_modern_tone_placement_is_used():
    old = [(area, text[:60]) for area, _msgid, text in _messages() if OLD_TONES.search(text)]
    assert not old, old
