"""What a social worker meets on a phone, in a real Chromium at 360 px (and 1280 px for the
screenshots): the second factor survives a reload, "Lock now" works from the recovery codes, a note
typed past the idle limit is kept, and a need shows as met once its referral is completed.
Screenshots of each page go to ``CASEWORK_SCREENSHOTS`` when set."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from test_referrals_support import make_client, make_referral, make_service

from casework.clients.models import Assessment, AssessmentNeed
from casework.db import new_id

from .pages import follow

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}


def _both_widths(page, shots, name: str) -> None:
    """A full-page screenshot at 360 px and at 1280 px, and no sideways scrolling at 360 px."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: {width} px wide at 360 px"
    page.screenshot(path=str(shots / f"{name}-360.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})


def _password_step(page, live_server, account) -> None:
    page.goto(live_server.url_for("auth.login"))
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    follow(page.locator("main form button.primary"))


def test_enrolment_survives_reloads_and_lock_now_works_from_the_recovery_codes(
        page, live_server, make_user, fresh_code, shots, console):
    # Given a new account at its first sign-in, on the second-factor page
    account = make_user("collaborator", second_factor=False)
    _password_step(page, live_server, account)
    scanned = page.locator("code.secret").inner_text().replace(" ", "")
    assert page.locator("#code").get_attribute("inputmode") == "numeric"
    assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
    _both_widths(page, shots, "enrol")
    # When the phone reloads the tab twice while the person is in the authenticator app
    page.reload()
    page.reload()
    # Then the key is the one that was scanned, and its code switches the second factor on
    assert page.locator("code.secret").inner_text().replace(" ", "") == scanned
    page.fill("#code", fresh_code(scanned))
    follow(page.locator("main form button.primary"))
    assert page.locator("ul.codes code").count() == 10
    _both_widths(page, shots, "recovery-codes")
    # When they press "Lock now" on that page, Then they are signed out (no "Lỗi 400")
    follow(page.locator("button.lock"))
    assert page.url.endswith(live_server.url_for("auth.login"))
    assert "400" not in page.title()
    page.goto(live_server.url_for("auth.account"))
    assert page.url.endswith(live_server.url_for("auth.login"))
    assert not console.errors()


def test_the_language_button_works_on_the_recovery_codes_page(page, live_server, make_user, fresh_code):
    account = make_user("collaborator", second_factor=False)
    _password_step(page, live_server, account)
    page.fill("#code", fresh_code(page.locator("code.secret").inner_text().replace(" ", "")))
    follow(page.locator("main form button.primary"))
    with page.expect_navigation():
        page.locator("form.language button").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "400" not in page.title()


def test_a_note_typed_past_the_idle_limit_is_kept_and_sent_after_signing_in(
        page, live_server, make_user, database, sign_in, clock, shots):
    # Given a worker with a client's record open
    account = make_user("collaborator")
    client_id, _code = make_client(database, account.user_id)
    sign_in(page, account)
    page.goto(live_server.url_for("clients.view", client_id=client_id))
    # When they type a note, go quiet for 16 minutes, and press Save
    note = "Đã gặp chị ở quán nước, hẹn tuần sau đi xét nghiệm cùng."
    page.fill("textarea[name=body]", note)
    clock.advance(minutes=16)
    follow(page.locator("form:has(textarea[name=body]) button[type=submit]"))
    # Then they are told their session ended and that what they typed is kept
    assert urlsplit(page.url).path == live_server.url_for("auth.login")
    assert "Phiên đã hết hạn" in page.content() and "được giữ lại" in page.content()
    _both_widths(page, shots, "session-ended")
    # When they sign in again, Then the note is offered back and sent with one press
    sign_in(page, account)
    assert page.url.endswith(live_server.url_for("auth.held_forms"))
    assert note in page.content()
    _both_widths(page, shots, "held-work")
    follow(page.locator("main form button.primary"))
    assert urlsplit(page.url).path == live_server.url_for("clients.view", client_id=client_id)
    assert note in page.content()


def test_a_need_reads_met_once_its_referral_is_completed(page, live_server, make_user, make_organisation,
                                                         database, sign_in, clock, shots):
    # Given an urgent HIV-testing need and an urgent legal-aid need, and a completed referral for the first
    account = make_user("collaborator")
    client_id, _code = make_client(database, account.user_id)
    with database.transaction() as session:
        assessment = Assessment(id=new_id(), client_id=client_id, assessed_on=clock.now.date() - timedelta(days=3),
                                assessed_by=account.user_id, eligible=True)
        session.add(assessment)
        session.flush()
        for domain in ("hiv_sti_testing", "legal_aid"):
            session.add(AssessmentNeed(id=new_id(), assessment_id=assessment.id, domain=domain, level="urgent"))
    place = make_service(database, make_organisation())
    make_referral(database, client_id=client_id, place=place, referred_by=account.user_id, status="completed")
    # When the worker opens the record on their phone
    sign_in(page, account)
    page.goto(live_server.url_for("clients.view", client_id=client_id))
    # Then the tested need reads "met" and no longer "urgent"; the other still asks for a referral
    met = page.locator('li[data-need="hiv_sti_testing"]')
    assert met.get_attribute("data-state") == "met"
    assert "Đã đáp ứng" in met.inner_text() and "Khẩn cấp" not in met.inner_text()
    waiting = page.locator('li[data-need="legal_aid"]')
    assert waiting.get_attribute("data-state") == "open" and "Khẩn cấp" in waiting.inner_text()
    _both_widths(page, shots, "client-needs")
    # And the generic referral page starts with the waiting need's services, the rest folded
    page.goto(live_server.url_for("referrals.new", client_id=client_id))
    _both_widths(page, shots, "new-referral")


HEADER_BUDGET_PX = 110  # was about 265 px at 360 px before the header was compacted


def test_the_header_is_compact_on_a_phone_and_one_line_on_a_desktop(page, live_server, make_user, sign_in):
    sign_in(page, make_user("collaborator"))
    page.goto(live_server.url_for("clients.caseload"))
    height = page.evaluate("document.querySelector('header.topbar').getBoundingClientRect().height")
    assert height <= HEADER_BUDGET_PX, f"the header takes {height} px at 360 px"
    # Every menu entry and header button is a touch target of at least 44 px
    sizes = page.evaluate("""[...document.querySelectorAll('header.topbar a, header.topbar button')]
        .map(e => e.getBoundingClientRect().height)""")
    assert min(sizes) >= 44, sizes
    page.set_viewport_size(DESKTOP)
    tops = page.evaluate("""['.brand', 'button.lock', 'form.language button']
        .map(s => document.querySelector(s).getBoundingClientRect().top)""")
    lock_top, language_top = tops[1], tops[2]
    assert abs(lock_top - language_top) < 8, tops  # the language button stays on the lock's row
    # Buttons and text areas use the text's font
    fonts = page.evaluate("""[getComputedStyle(document.body).fontFamily,
        getComputedStyle(document.querySelector('button.lock')).fontFamily]""")
    assert fonts[0] == fonts[1]


CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; }
    return [255, 255, 255]; };
  return [...document.querySelectorAll('.badge, .muted, .hint, .role')].filter(e => e.offsetParent).map(e => {
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
    return [e.className, e.textContent.trim().slice(0, 40), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });
}"""


def test_badges_and_muted_text_are_readable_on_the_admin_user_list(page, live_server, make_user, sign_in, database):
    from casework.auth.models import User

    for _ in range(2):
        make_user("collaborator", second_factor=False)
    former = make_user("collaborator")
    with database.transaction() as session:
        session.get(User, former.user_id).active = False
    sign_in(page, make_user("admin"))
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(live_server.url_for("admin.users"))
        measured = page.evaluate(CONTRAST_JS)
        assert any("badge" in m[0] for m in measured), "no badge on the page"
        low = [m for m in measured if m[2] < 4.5]
        assert not low, low


def test_the_providers_inbox_is_cards_on_a_phone_with_codes_on_one_line(page, live_server, make_user,
                                                                       make_organisation, database, sign_in, shots):
    station = make_organisation()
    place = make_service(database, station)
    owner = make_user("collaborator")
    for _ in range(3):
        client_id, _code = make_client(database, owner.user_id)
        make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    sign_in(page, make_user("provider", organisation_id=station))
    page.goto(live_server.url_for("referrals.inbox"))
    # Every column is there, each row a card, and no code breaks over two lines
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 3
    assert page.evaluate("getComputedStyle(document.querySelector('table.inbox tbody tr')).display") == "block"
    heights = page.evaluate("""[...document.querySelectorAll('table.inbox .code')]
        .map(e => [e.getBoundingClientRect().height, parseFloat(getComputedStyle(e).lineHeight)])""")
    assert all(h <= line * 1.2 for h, line in heights), heights
    _both_widths(page, shots, "inbox")


def _pdf_pages(pdf: bytes) -> int:
    import re

    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_the_slip_prints_on_one_a6_page_and_has_a_print_button(page, live_server, make_user, make_organisation,
                                                               database, sign_in, shots):
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    # A service with as much to print as a real one: a long name, a full address, two opening times
    place = make_service(database, make_organisation("Trạm Y tế phường Tân Hưng, quận Lê Chân, thành phố Hải Phòng"),
                         name="Tư vấn và xét nghiệm HIV, giang mai, viêm gan B tự nguyện, miễn phí")
    from casework.directory.models import Location, Service

    with database.transaction() as session:
        session.get(Service, place.service_id).opening_hours = ("Thứ Hai – Thứ Sáu 7:30–11:30 và 13:30–17:00; "
                                                                 "Thứ Bảy 7:30–11:30 (trừ ngày lễ)")
        location = session.get(Location, place.location_id)
        location.address_1 = "Số 215 đường Nguyễn Văn Linh, tổ dân phố số 12"
        location.address_2 = "Cổng phụ phía sau chợ, tầng 2"
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    sign_in(page, owner)
    page.goto(live_server.url_for("referrals.slip", referral_id=referral_id))
    assert page.locator("button[data-print]").is_visible()  # the script showed it (CSP: script-src 'self')
    _both_widths(page, shots, "slip")
    # Printed as the stylesheet asks (A6), and forced onto A6 paper: one page each time
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 397, "height": 559})  # A6 at 96 dpi, to look at the printed slip
    page.screenshot(path=str(shots / "slip-print-a6.png"))
    page.set_viewport_size({"width": 360, "height": 740})
    assert _pdf_pages(page.pdf(prefer_css_page_size=True)) == 1
    assert _pdf_pages(page.pdf(format="A6")) == 1
    page.emulate_media(media="screen")
    # And "Back to the referral" opens that referral
    follow(page.get_by_role("link", name="Quay lại trang chuyển gửi"))
    assert page.url.endswith(live_server.url_for("referrals.detail", referral_id=referral_id))


CLIENT_PAGE_BUDGET_PX = 4_000  # a client with 3 referrals, 5 notes and 30 own openings, at 360 px


def test_a_busy_client_page_fits_the_budget_and_saving_returns_to_the_section(
        page, live_server, make_user, make_organisation, database, sign_in, clock, shots):
    from casework.audit import record
    from casework.clients.models import CaseNote

    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id, with_history=True)
    place = make_service(database, make_organisation())
    for status in ("requested", "accepted", "completed"):
        make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id, status=status)
    with database.transaction() as session:
        for n in range(4):
            note = CaseNote(id=new_id(), client_id=client_id, author_id=owner.user_id)
            session.add(note)
            note.body = f"Ghi chép số {n}: gặp chị ở quán, nói chuyện về sức khỏe và việc làm. " * 2
        for _ in range(30):
            record(session, "client.viewed", actor_id=owner.user_id, actor_role="collaborator",
                   object_type="client", object_id=client_id, details={"page": "client"})
    sign_in(page, owner)
    page.goto(live_server.url_for("clients.view", client_id=client_id))
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= CLIENT_PAGE_BUDGET_PX, f"the client page is {height} px tall at 360 px"
    # The actions are near the top: within the first screen and a half
    top = page.evaluate("document.querySelector('.quick-actions').getBoundingClientRect().top")
    assert top < 740 * 1.5, top
    _both_widths(page, shots, "client-busy")
    # When a note is typed, the box says how many characters it still takes (forms.js under the CSP)
    page.fill("textarea[name=body]", "Đã gọi lại, chị khỏe.")
    limit = int(page.locator("textarea[name=body]").get_attribute("data-max"))
    assert page.locator("#body-count").inner_text() == f"Còn {limit - len('Đã gọi lại, chị khỏe.')} ký tự"
    # When a note is saved, Then the page comes back at the notes, with the new note first
    follow(page.locator("form:has(textarea[name=body]) button[type=submit]"))
    assert page.url.endswith("#notes-h")
    assert page.locator("article.note").first.inner_text().find("Đã gọi lại, chị khỏe.") >= 0
    # And a 300-character word does not widen the page
    page.fill("textarea[name=body]", "x" * 300)
    follow(page.locator("form:has(textarea[name=body]) button[type=submit]"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


ASSESSMENT_BUDGET_PX = 2_500  # 13 needs; the form was 4,564 px at 360 px with every note open


def test_the_assessment_is_one_compact_row_per_need(page, live_server, make_user, database, sign_in, shots):
    owner = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id)
    sign_in(page, owner)
    page.goto(live_server.url_for("clients.assess", client_id=client_id))
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= ASSESSMENT_BUDGET_PX, f"the assessment is {height} px tall at 360 px"
    assert page.locator("details.need-note[open]").count() == 0
    # Marking a need urgent opens its note (forms.js)
    page.locator("input[name=level_legal_aid][value=urgent]").check()
    assert page.locator("fieldset:has(input[name=level_legal_aid]) details.need-note").get_attribute("open") is not None
    _both_widths(page, shots, "assessment")


def test_the_uic_is_typed_as_its_parts_and_the_kept_code_is_shown_before_saving(page, live_server, make_user,
                                                                               sign_in, shots):
    sign_in(page, make_user("collaborator"))
    page.goto(live_server.url_for("clients.register"))
    page.fill("input[name=uic_mother]", "Hương")
    page.fill("input[name=uic_father]", "Đức")
    page.fill("input[name=uic_year]", "1994")
    page.select_option("select[name=uic_sex]", "N")
    assert page.locator("[data-uic-preview]").inner_text().strip() == "Mã sẽ được lưu: HUDU1994N"
    _both_widths(page, shots, "register")
