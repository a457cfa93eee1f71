"""Vietnamese first, English second (docs/DESIGN.md §9): complete catalogs for the core, sign-in and
admin areas, Vietnamese by default, English after switching, role labels as §1 names them."""

from __future__ import annotations

import pytest

from casework import i18n

MY_AREAS = ("core", "auth", "admin")


@pytest.mark.parametrize("area", MY_AREAS)
def test_the_catalog_has_no_untranslated_or_fuzzy_entries(area):
    # Given the strings in the area's code and templates
    found = [p for p in i18n.problems() if p.split("/", 1)[0] == area]
    # Then each one is translated, none is fuzzy, and the compiled catalog is current
    assert found == []


def test_the_sign_in_page_is_vietnamese_by_default_and_english_after_switching(browser):
    # Given a visitor who has chosen nothing
    browser.get("/login")
    # Then the page is in Vietnamese
    assert 'lang="vi"' in browser.last_html
    assert "Đăng nhập" in browser.last_html and "Tên đăng nhập" in browser.last_html
    # When they press "English"
    response = browser.post("/language", {"locale": "en", "next": "/login"}, page="/login")
    assert response.status_code == 302
    browser.get("/login")
    # Then it is in English, and the switch offers Vietnamese back
    assert 'lang="en"' in browser.last_html
    assert "Sign in" in browser.last_html and "Username" in browser.last_html
    assert "Tiếng Việt" in browser.last_html


def test_the_language_switch_refuses_to_redirect_elsewhere(browser):
    response = browser.post("/language", {"locale": "en", "next": "//evil.example/x"}, page="/login")
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_a_signed_in_persons_language_follows_them(signed_in, new_browser):
    # Given a person who chose English once
    browser, account = signed_in("collaborator")
    browser.post("/language", {"locale": "en", "next": "/account"}, page="/account")
    # When they sign in on another device
    other = new_browser()
    other.login(account)
    other.get("/account")
    # Then that device is in English too
    assert 'lang="en"' in other.last_html


def test_role_labels_are_the_ones_in_the_design(app):
    from flask_babel import force_locale

    from casework import vocab

    with app.test_request_context(), force_locale("vi"):
        labels = {code: str(label) for code, label in vocab.ROLES.items()}
    assert labels == {
        "collaborator": "Cộng tác viên công tác xã hội",
        "provider": "Cán bộ tiếp nhận dịch vụ",
        "supervisor": "Lãnh đạo / giám sát",
        "admin": "Quản trị hệ thống",
    }


def test_need_domain_labels_are_the_ones_in_the_design(app):
    from flask_babel import force_locale

    from casework import vocab

    with app.test_request_context(), force_locale("vi"):
        labels = {code: str(label) for code, (label, _group) in vocab.NEED_DOMAINS.items()}
    assert labels == {
        "hiv_sti_testing": "Xét nghiệm HIV và bệnh lây truyền qua đường tình dục",
        "hiv_treatment": "Điều trị HIV (ARV)",
        "prevention": "Dự phòng (PrEP, bao cao su)",
        "reproductive_health": "Sức khỏe sinh sản",
        "drug_dependency": "Điều trị nghiện",
        "mental_health": "Tư vấn tâm lý, sức khỏe tâm thần",
        "gbv": "Phòng, chống bạo lực trên cơ sở giới",
        "child_protection": "Bảo vệ trẻ em",
        "legal_aid": "Trợ giúp pháp lý",
        "vocational_training": "Học nghề",
        "employment": "Giới thiệu việc làm",
        "livelihood": "Sinh kế, vay vốn",
        "social_assistance": "Trợ giúp xã hội (giấy tờ, nhà ở, trợ cấp)",
    }


def test_the_admin_screens_are_vietnamese(signed_in):
    browser, _account = signed_in("admin")
    browser.get("/admin/users/new")
    assert "Tạo người dùng" in browser.last_html
    assert "Quản trị hệ thống" in browser.last_html


def test_labels_are_translated_once_per_request_in_its_language(app):
    from flask_babel import force_locale

    from casework import vocab
    from casework.i18n import TranslatedVocab

    with app.test_request_context("/"):
        with force_locale("vi"):
            once = TranslatedVocab(vocab)
            bands = once.AGE_BANDS
            assert once.AGE_BANDS is bands  # the same table for the rest of the request
            assert all(type(label) is str for label in bands.values())
            assert once.NEED_DOMAINS["legal_aid"] == ("Trợ giúp pháp lý", "reintegration")
        with force_locale("en"):
            assert TranslatedVocab(vocab).NEED_DOMAINS["legal_aid"][0] == "Legal aid"
