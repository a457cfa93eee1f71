"""The application starts, serves the sign-in page, and a user signs in with both factors."""


def test_sign_in_page_is_served_in_vietnamese_by_default(browser):
    response = browser.get("/login")
    assert response.status_code == 200
    assert 'lang="vi"' in browser.last_html


def test_collaborator_signs_in_with_password_and_code(signed_in):
    browser, account = signed_in("collaborator")
    response = browser.get("/account")
    assert response.status_code == 200
    assert account.display_name in browser.last_html
