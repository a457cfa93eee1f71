"""Fictional demo clients for the demo collaborator ``ctv.lan`` (development and demo mode only)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import clock, vocab
from casework.auth.models import User
from casework.clients import services

DEMO_OWNER = "ctv.lan"

# Everything below is invented: no real person, place or story.
DEMO_CLIENTS = (
    {
        "uic": "HOMI1998N", "birth_year": "1998", "sex_gender": "female", "outreach_source": "venue",
        "contact_preference": "sms", "alias": "Chị Mơ (demo)", "phone": "0900 000 001",
        "residence": "Tổ dân phố 1 (demo)", "share": True, "eligible": True,
        "needs": {"hiv_sti_testing": ("urgent", "Chưa xét nghiệm năm nay (demo)"),
                  "vocational_training": ("some", "Muốn học nghề may (demo)")},
        "note": "Gặp lần đầu tại quán; hẹn đi xét nghiệm cùng (demo).", "follow_up_in_days": 3,
    },
    {
        "uic": "LATU2010N", "birth_year": str(clock.local_today().year - 16), "sex_gender": "female",
        "outreach_source": "online", "contact_preference": "in_person", "alias": "Bé Na (demo)", "phone": None,
        "residence": None, "share": False, "eligible": True,
        "needs": {"child_protection": ("urgent", "Cần chuyển gửi bảo vệ trẻ em (demo)")},
        "note": "Trẻ dưới 18 tuổi: đã báo giám sát trong ngày (demo).", "follow_up_in_days": -2,
    },
    {
        "uic": None, "birth_year": None, "sex_gender": "trans_woman", "outreach_source": "peer",
        "contact_preference": "call", "alias": None, "phone": "0900 000 003", "residence": None,
        "share": True, "eligible": True,
        "needs": {"legal_aid": ("some", "Hỏi về giấy tờ tùy thân (demo)"), "employment": ("some", None)},
        "note": "Thân chủ từ chối cung cấp mã UIC (demo).", "follow_up_in_days": 10,
    },
)


def load_clients(session: Session) -> None:
    """Add the demo clients once; does nothing if the demo collaborator is missing."""
    owner = session.scalars(select(User).where(User.username == DEMO_OWNER)).first()
    if owner is None:
        return
    today = clock.local_today()
    for item in DEMO_CLIENTS:
        client = services.register_client(session, owner, services.Registration(
            consent_method="verbal", consent_date=today - timedelta(days=14), uic=item["uic"],
            sex_gender=item["sex_gender"], birth_year=item["birth_year"], age_band="unknown",
            outreach_source=item["outreach_source"], contact_preference=item["contact_preference"],
            alias=item["alias"], phone=item["phone"], residence=item["residence"],
        ))
        if item["share"]:
            services.record_consent(session, owner, client, purpose="share_with_provider", method="verbal",
                                    given_on=today - timedelta(days=14))
        services.record_consent(session, owner, client, purpose="contact", method="verbal",
                                given_on=today - timedelta(days=14))
        needs = {code: item["needs"].get(code, ("none", None)) for code in vocab.NEED_DOMAINS}
        services.add_assessment(session, owner, client, assessed_on=today - timedelta(days=7),
                                eligible=item["eligible"], needs=needs)
        services.add_note(session, owner, client, item["note"])
        due = today + timedelta(days=item["follow_up_in_days"])
        services.add_follow_up(session, owner, client, due_on=due, description="Gọi lại hỏi thăm (demo)")
