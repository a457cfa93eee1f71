"""Where a slip of the thumb does harm, casework asks first or refuses: withdrawing consent,
deactivating an account and resetting a second factor are confirmed on a page of their own; a
follow-up in the past, an untouched assessment and a birth year that contradicts the age band are
refused with a message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from test_clients_support import assessment, register, registration

from casework import clock
from casework.auth.models import User
from casework.clients.models import Assessment, Consent, FollowUp


def test_withdrawing_consent_is_asked_on_a_page_of_its_own(signed_in, database):
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="HOIA1990N", consent_share="y")
    page = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    with database.transaction() as session:
        consent = session.scalars(select(Consent).where(Consent.client_id == client_id,
                                                        Consent.purpose == "share_with_provider")).one()
    # The client page offers a link to a question, not a button that withdraws at once
    confirm = f"/clients/{client_id}/consents/{consent.id}/withdraw/confirm"
    assert f'href="{confirm}"' in page
    question = browser.get(confirm).get_data(as_text=True)
    assert "Rút lại sự đồng ý" in question and "Mọi chuyển gửi đang mở" in question
    with database.transaction() as session:
        assert session.get(Consent, consent.id).withdrawn_on is None
    # Only the question's own button withdraws
    assert browser.post(f"/clients/{client_id}/consents/{consent.id}/withdraw", {}, page=confirm).status_code == 302
    with database.transaction() as session:
        assert session.get(Consent, consent.id).withdrawn_on is not None


def test_deactivating_and_resetting_a_second_factor_are_asked_first(signed_in, make_user, database):
    admin, _account = signed_in("admin")
    person = make_user("collaborator")
    page = admin.get(f"/admin/users/{person.user_id}").get_data(as_text=True)
    for act, words in (("deactivate", "Vô hiệu hóa tài khoản này?"),
                       ("second_factor", "Đặt lại xác thực hai lớp của người này?")):
        assert f'href="/admin/users/{person.user_id}/confirm/{act}"' in page
        assert words in admin.get(f"/admin/users/{person.user_id}/confirm/{act}").get_data(as_text=True)
    with database.transaction() as session:
        user = session.get(User, person.user_id)
        assert user.active and user.totp_secret
    assert admin.get(f"/admin/users/{person.user_id}/confirm/delete-everything").status_code == 404


def test_a_follow_up_in_the_past_is_refused(signed_in, database):
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="QUAK1990N")
    yesterday = (clock.local_today() - timedelta(days=1)).isoformat()
    response = browser.post(f"/clients/{client_id}/follow-ups", {"due_on": yesterday, "description": "Gọi"},
                            page=f"/clients/{client_id}")
    assert response.status_code == 200 and "Ngày này đã qua" in browser.last_html
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_an_untouched_assessment_is_refused_and_a_true_no_needs_one_is_kept(signed_in, database):
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="TRON1990N")
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment", assessment(eligible=False))
    assert "Chưa đánh dấu gì" in browser.last_html
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 0
    browser.get(f"/clients/{client_id}/assessment")
    assert browser.post(f"/clients/{client_id}/assessment",
                        assessment(eligible=False) | {"no_needs": "y"}).status_code == 302
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_a_birth_year_that_contradicts_the_age_band_is_asked_about(signed_in):
    browser, _account = signed_in("collaborator")
    browser.get("/clients/register")
    year = str(clock.local_today().year - 30)
    response = browser.post("/clients/register", registration(uic="NAMS1995N", birth_year=year, age_band="18-24"))
    assert response.status_code == 200 and "thuộc nhóm tuổi 25–34" in browser.last_html
