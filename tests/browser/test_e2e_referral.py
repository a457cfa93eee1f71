"""The closed loop, on two phones: a collaborator registers a client with consent, assesses
a need, refers the client to the ward health station and shows the slip; the health station's
staff member finds the referral by the code on the slip, accepts and completes it; the
collaborator sees the outcome. On every page: nothing wider than the phone, nothing blocked by
the CSP, and nothing identifying the client reaches the provider or the slip."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from casework.db import new_id
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation

from .pages import follow

pytestmark = pytest.mark.browser

ENDPOINTS = ("clients.register", "clients.view", "clients.assess", "referrals.new", "referrals.slip",
             "referrals.inbox", "referrals.find", "referrals.received", "referrals.detail", "referrals.sent")
NEED = "hiv_sti_testing"
ALIAS = "Chị Mai Hoa"
PHONE = "0912 345 678"
UIC = "Hoa Minh 1998 N"
NOTE_TO_RECEIVER = "Prefers a morning appointment."
PRIVATE_NOTE = "Private assessment note, never shared."
OUTCOME = "Rapid test done; result explained."
FEEDBACK = "The client came on Monday morning."
FORBIDDEN_WORDS = ("mại dâm", "bán dâm", "sex work")


@dataclass
class HealthStation:
    organisation_id: str
    service_name: str


@pytest.fixture
def health_station(database) -> HealthStation:
    """The ward health station and its testing service, as the administrator set them up."""
    with database.transaction() as session:
        organisation = Organisation(id=new_id(), name="Trạm Y tế phường Tân Hưng", kind="health_station",
                                    phone="0225 383 0000")
        service = Service(id=new_id(), organisation_id=organisation.id, name="Xét nghiệm HIV miễn phí",
                          need_domain=NEED, opening_hours="Thứ 2–Thứ 6, 7:30–11:30", phone="0225 383 0001",
                          is_free=True, no_id_needed=True, confidential=True, status="active")
        location = Location(id=new_id(), organisation_id=organisation.id, name="Trạm Y tế",
                            address_1="Số 1 đường Tân Hưng", address_locality="phường Tân Hưng")
        session.add_all([organisation, service, location])
        session.flush()
        session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))
        return HealthStation(organisation.id, service.name)


def _submit(page, form_selector: str, button: str = "button[type=submit]") -> None:
    follow(page.locator(form_selector).locator(button))


def _check_page(page, console, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{where} is {width}px wide on a 360px phone"
    assert console.errors() == [], f"browser errors on {where}"
    assert page.locator(".flash-error").count() == 0, page.locator(".flash-error").all_inner_texts()
    assert page.locator("p.error").count() == 0, page.locator("p.error").all_inner_texts()


def _status_action(page, to: str):
    """The form that moves the referral to ``to``, opened from its <details> disclosure."""
    action = page.locator("details.action", has=page.locator(f"input[name=to][value='{to}']"))
    assert action.count() == 1, f"no action to {to!r} offered"
    action.locator("summary").click()
    return action


def test_collaborator_refers_a_client_and_the_health_station_closes_the_loop(
    live_server, page, new_page, console, make_user, sign_in, health_station
):
    if not live_server.has(*ENDPOINTS):
        pytest.skip("the client and referral pages are not all there yet")

    # Given a collaborator, and a provider at the ward health station
    collaborator = make_user("collaborator")
    provider = make_user("provider", organisation_id=health_station.organisation_id)

    # When the collaborator registers a client who consented to registration
    sign_in(page, collaborator)
    page.goto(live_server.url_for("clients.register"))
    _check_page(page, console, "registration form")
    page.check("input[name=consent_given]")
    page.check("input[name=consent_method][value=verbal]")
    mother, father, year, sex = UIC.split()  # the UIC typed as its four parts
    page.fill("input[name=uic_mother]", mother)
    page.fill("input[name=uic_father]", father)
    page.fill("input[name=uic_year]", year)
    page.select_option("select[name=uic_sex]", sex)
    page.select_option("select[name=sex_gender]", "female")
    page.fill("input[name=birth_year]", "1998")
    page.select_option("select[name=outreach_source]", "venue")
    page.select_option("select[name=contact_preference]", "call")
    page.fill("input[name=alias]", ALIAS)
    page.fill("input[name=phone]", PHONE)
    _submit(page, f"main form[action='{live_server.url_for('clients.register')}']",
            "button[type=submit].primary")

    # Then the client's page opens, under a random display code
    _check_page(page, console, "client page")
    display_code = page.locator("dl.facts dd").first.inner_text().strip()
    assert display_code.startswith("KH-") and len(display_code) == 12
    endpoint, args = live_server.app.url_map.bind("127.0.0.1").match(page.url.removeprefix(live_server.url))
    assert endpoint == "clients.view"
    assert UIC.replace(" ", "") not in page.url and "Mai" not in page.url

    # When the client also agrees to their details being shared with service providers
    consent_form = "form[action*='/consents#']"
    page.locator("details:has(form[action*='/consents#']) > summary").click()  # the form is folded away
    page.locator(consent_form).locator("select[name=purpose]").select_option("share_with_provider")
    page.locator(consent_form).locator("input[name=method][value=verbal]").check()
    _submit(page, consent_form)
    _check_page(page, console, "client page after consent")

    # And the collaborator records an urgent need for HIV and STI testing, and attests eligibility
    page.goto(live_server.url_for("clients.assess", client_id=args["client_id"]))
    _check_page(page, console, "assessment form")
    page.check(f"input[name=level_{NEED}][value=urgent]")
    page.fill(f"textarea[name=note_{NEED}]", PRIVATE_NOTE)
    page.check("input[name=eligible]")
    _submit(page, "main form", "button[type=submit].primary")
    _check_page(page, console, "client page after assessment")
    need = page.locator(f"li[data-need={NEED}]")
    assert need.get_attribute("data-level") == "urgent"

    # And refers the client for that need
    follow(need.locator("form[action*='/referrals/new'] button"))
    _check_page(page, console, "new referral form")
    page.check("input[name=service_id]")
    page.fill("textarea[name=note_to_receiver]", NOTE_TO_RECEIVER)
    follow(page.locator("button[name=action][value=preview]"))
    _check_page(page, console, "referral preview")
    preview = page.locator("main dl.facts").last.inner_text()
    # the service will know the client by its own code, not the case worker's display code
    station_code = re.search(r"DV-[0-9A-Z]{4}-[0-9A-Z]{4}", preview).group(0)
    assert display_code not in preview and NOTE_TO_RECEIVER in preview
    assert ALIAS not in preview and PHONE not in preview and PRIVATE_NOTE not in preview
    page.check("input[name=consent]")
    follow(page.locator("button[name=action][value=send]"))

    # Then the slip shows the referral code, as text and QR, and nothing about the person
    _check_page(page, console, "referral slip")
    slip = page.locator(".slip")
    code = slip.locator(".code").inner_text().strip()
    assert code.startswith("RF-") and len(code) == 12
    assert slip.locator(".qr svg").count() == 1
    slip_text = slip.inner_text()
    assert health_station.service_name in slip_text
    for private in (display_code, ALIAS, PHONE, UIC, *FORBIDDEN_WORDS):
        assert private.lower() not in slip_text.lower()

    # When the health station's staff member signs in on their own phone
    desk = new_page()
    sign_in(desk, provider)
    assert desk.url.endswith(live_server.url_for("referrals.inbox"))
    _check_page(desk, console, "provider inbox")
    # and types the code from the slip, the way people type (small letters, spaces)
    find_form = f"form[action='{live_server.url_for('referrals.find')}']"
    desk.locator(find_form).locator("input[name=code]").fill(code.lower().replace("-", " "))
    _submit(desk, find_form)

    # Then they see the referral, received, with the minimal dataset only
    _check_page(desk, console, "received referral")
    assert code in desk.locator("main h1").inner_text()
    shown = desk.locator("main").inner_text()
    assert station_code in shown and display_code not in shown and NOTE_TO_RECEIVER in shown
    for private in (ALIAS, PHONE, UIC, PRIVATE_NOTE, *FORBIDDEN_WORDS):
        assert private.lower() not in shown.lower()

    # When they accept it
    accept = _status_action(desk, "accepted")
    _submit(desk, "details.action:has(input[name=to][value='accepted']) form")
    _check_page(desk, console, "accepted referral")
    assert accept.count() == 0

    # And record it as completed: test done, result given, with feedback for the collaborator
    complete = _status_action(desk, "completed")
    options = complete.locator("select[name=business_status] option").evaluate_all(
        "options => options.map(o => o.value)")
    complete.locator("select[name=business_status]").select_option(
        "test-done-result-given" if "test-done-result-given" in options else options[1])
    complete.locator("textarea[name=outcome]").fill(OUTCOME)
    complete.locator("textarea[name=feedback]").fill(FEEDBACK)
    _submit(desk, "details.action:has(input[name=to][value='completed']) form")
    _check_page(desk, console, "completed referral")
    assert desk.locator("details.action").count() == 0  # nothing left to do: completed is final

    # Then the collaborator sees the outcome in their sent referrals
    page.goto(live_server.url_for("referrals.sent"))
    _check_page(page, console, "sent referrals")
    follow(page.locator(f"a:has-text('{code}')").first)
    _check_page(page, console, "referral detail")
    assert page.locator(".status.status-completed").count() >= 1
    detail = page.locator("main").inner_text()
    assert OUTCOME in detail and FEEDBACK in detail

    # And on the client's record the need now reads "met", and no longer "urgent"
    page.goto(live_server.url_for("clients.view", client_id=args["client_id"]))
    need = page.locator(f"li[data-need={NEED}]")
    assert need.get_attribute("data-state") == "met" and "Khẩn cấp" not in need.inner_text()

    # And the sheet the client takes away reads as a document: words, no codes or JSON, a print button
    page.goto(live_server.url_for("clients.record_sheet", client_id=args["client_id"]))
    _check_page(page, console, "access sheet")
    sheet = page.locator("main").inner_text()
    assert FEEDBACK in sheet and '{"v"' not in sheet and "test-done-result-given" not in sheet
    assert page.locator("button[data-print]").is_visible()
