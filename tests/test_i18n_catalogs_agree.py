"""Flask-Babel merges every area's catalog into one: a message translated one way in
one area and another way elsewhere would silently take the last area's wording
everywhere (a referral status once read "date requested" because of this)."""

from babel.messages.pofile import read_po

from casework import i18n


def test_no_message_is_translated_two_ways_across_catalogs():
    # Given every area's Vietnamese catalog
    seen: dict[tuple[str, str | None], tuple[str, str]] = {}
    conflicts = []
    for area in i18n.areas():
        path = i18n.po_path(area, "vi")
        if not path.exists():
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="vi")
        # When the same message id (and context) appears in two areas
        for message in catalog:
            if not message.id:
                continue
            key = (message.id if isinstance(message.id, str) else message.id[0], message.context)
            text = message.string if isinstance(message.string, str) else message.string[0]
            if key in seen and seen[key][1] != text:
                conflicts.append(f"{key[0]!r}: {seen[key][0]} says {seen[key][1]!r}, {area.name} says {text!r}")
            seen.setdefault(key, (area.name, text))
    # Then it is translated the same way in all of them
    assert conflicts == []


def test_the_client_is_called_than_chu_everywhere():
    # Given the Vietnamese catalogs, When any translation names the client
    # Then it uses the social-work term "thân chủ", never "khách hàng" (customer)
    offenders = []
    for area in i18n.areas():
        path = i18n.po_path(area, "vi")
        if path.exists() and "khách hàng" in path.read_text(encoding="utf-8").lower():
            offenders.append(area.name)
    assert offenders == []
