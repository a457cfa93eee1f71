"""A demo directory for phường Tân Hưng, after the organisations named in the ward plan
(section IV). Every phone number and address is fictional ("địa chỉ minh hoạ")."""

from __future__ import annotations

from sqlalchemy.orm import Session

from casework.db import new_id
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation

REGION = "Hải Phòng"
WARD = "Phường Tân Hưng"

# kind, name, phone, address, services: (name, need, hours, eligibility, free, no ID, confidential, accept, complete)
DIRECTORY = (
    ("health_station", "Trạm Y tế phường Tân Hưng", "0225 000 0101",
     "Số 1 đường Minh Hoạ, tổ dân phố 1 (địa chỉ minh hoạ)", (
         ("Xét nghiệm HIV và các bệnh lây truyền qua đường tình dục", "hiv_sti_testing",
          "Thứ Hai – Thứ Sáu, 7:30–11:30 và 13:30–16:30", "Mọi người có nhu cầu; tư vấn trước và sau xét nghiệm.",
          True, True, True, 3, 14),
         ("Tư vấn và kết nối điều trị HIV (ARV)", "hiv_treatment",
          "Thứ Hai – Thứ Sáu, 7:30–11:30", "Người có kết quả xét nghiệm HIV dương tính.", True, False, True, 3, 30),
         ("Tư vấn dự phòng: PrEP, bao cao su, chất bôi trơn", "prevention",
          "Thứ Hai – Thứ Sáu, 7:30–16:30", "Mọi người từ 16 tuổi.", True, True, True, 3, 14),
         ("Khám và tư vấn sức khỏe sinh sản", "reproductive_health",
          "Thứ Ba và Thứ Năm, 7:30–11:30", "Mọi người có nhu cầu.", False, True, True, 3, 30),
         ("Tư vấn, kết nối điều trị nghiện (methadone)", "drug_dependency",
          "Thứ Hai – Thứ Sáu, 13:30–16:30", "Người sử dụng ma túy có nhu cầu điều trị.", True, False, True, 5, 60),
         ("Tư vấn tâm lý ban đầu", "mental_health",
          "Thứ Tư, 13:30–16:30", "Mọi người có nhu cầu.", True, True, True, 3, 30),
     )),
    ("social_assistance", "Trung tâm Dịch vụ sự nghiệp công phường Tân Hưng", "0225 000 0201",
     "Số 5 đường Minh Hoạ, tổ dân phố 2 (địa chỉ minh hoạ)", (
         ("Trợ giúp xã hội: giấy tờ tùy thân, trợ cấp, nơi ở tạm", "social_assistance",
          "Thứ Hai – Thứ Sáu, 7:30–11:30 và 13:30–17:00", "Người có hoàn cảnh khó khăn cư trú trên địa bàn phường.",
          True, True, True, 5, 45),
         ("Điểm tư vấn, hỗ trợ phòng, chống bạo lực trên cơ sở giới", "gbv",
          "Hằng ngày, 7:30–21:00", "Người bị bạo lực hoặc có nguy cơ bị bạo lực.", True, True, True, 1, 14),
         ("Hỗ trợ bảo vệ trẻ em", "child_protection",
          "Hằng ngày, 7:30–21:00", "Trẻ em dưới 18 tuổi và gia đình.", True, True, True, 1, 14),
     )),
    ("vocational_training", "Trường Trung cấp nghề Tân Hưng (minh hoạ)", "0225 000 0301",
     "Số 12 đường Minh Hoạ, tổ dân phố 4 (địa chỉ minh hoạ)", (
         ("Khóa học nghề ngắn hạn (may, nấu ăn, làm đẹp, tin học)", "vocational_training",
          "Thứ Hai – Thứ Bảy, 8:00–17:00", "Người từ 16 tuổi; được miễn học phí theo chính sách hỗ trợ.",
          True, False, False, 5, 90),
     )),
    ("employment_service", "Trung tâm Dịch vụ việc làm (điểm giao dịch minh hoạ)", "0225 000 0401",
     "Số 20 đường Minh Hoạ, tổ dân phố 5 (địa chỉ minh hoạ)", (
         ("Tư vấn, giới thiệu việc làm", "employment",
          "Thứ Hai – Thứ Sáu, 8:00–16:30", "Người trong độ tuổi lao động có nhu cầu tìm việc.",
          True, False, False, 5, 60),
         ("Tư vấn khởi sự kinh doanh và vay vốn", "livelihood",
          "Thứ Ba và Thứ Sáu, 8:00–11:30", "Người có hoàn cảnh khó khăn, có phương án sinh kế.",
          True, False, False, 5, 60),
     )),
    ("legal_aid", "Trợ giúp pháp lý nhà nước (điểm tiếp nhận minh hoạ)", "0225 000 0501",
     "Số 8 đường Minh Hoạ, tổ dân phố 3 (địa chỉ minh hoạ)", (
         ("Tư vấn và trợ giúp pháp lý miễn phí", "legal_aid",
          "Thứ Hai – Thứ Sáu, 8:00–11:30", "Người thuộc diện được trợ giúp pháp lý theo quy định.",
          True, True, True, 3, 30),
     )),
    ("peer_group", "Nhóm tự lực Bạn giúp bạn (minh hoạ)", "0225 000 0601",
     "Nhà văn hoá tổ dân phố 6, đường Minh Hoạ (địa chỉ minh hoạ)", (
         ("Sinh hoạt nhóm đồng đẳng, hỗ trợ tinh thần", "mental_health",
          "Chiều Chủ nhật, 14:00–17:00", "Mọi người có nhu cầu.", True, True, True, 3, 30),
         ("Cấp phát bao cao su và tư vấn tại cộng đồng", "prevention",
          "Tối Thứ Hai – Thứ Sáu, 19:00–21:00", "Mọi người có nhu cầu.", True, True, True, 2, 7),
     )),
)


def load_directory(session: Session) -> dict[str, str]:
    """Add the demo organisations, places and services; returns organisation ids by kind."""
    ids: dict[str, str] = {}
    for kind, name, phone, address, offered in DIRECTORY:
        org = Organisation(id=new_id(), name=name, kind=kind, phone=phone, active=True,
                           description="Dữ liệu minh hoạ cho môi trường thử nghiệm.")
        place = Location(id=new_id(), organisation_id=org.id, name=name, address_1=address,
                         address_locality=WARD, address_region=REGION, address_country="VN")
        session.add_all([org, place])
        session.flush()
        for (service_name, need, hours, eligibility, free, no_id, confidential, accept, complete) in offered:
            service = Service(id=new_id(), organisation_id=org.id, name=service_name, need_domain=need,
                              opening_hours=hours, eligibility_description=eligibility, phone=phone,
                              is_free=free, no_id_needed=no_id, confidential=confidential,
                              accept_within_days=accept, complete_within_days=complete, status="active")
            session.add(service)
            session.flush()
            session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=place.id))
        ids.setdefault(kind, org.id)
    session.flush()
    return ids
