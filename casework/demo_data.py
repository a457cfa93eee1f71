"""Fictional demo data at city scale: ``casework demo-data --clients N --seed S``.

For development and demo databases only (refused in production mode). It writes what the
screens would have written over the last 18 months: clients, consents, assessments, case
notes, follow-ups and referrals walking the lifecycle table, with an audit row for every
action and for the page each action returns to. The rows are the ones the service layer
writes — same columns, versions, timestamps, audit actions and details — but written in
bulk: Core ``executemany`` inserts committed per chunk of clients, values encrypted through
the session's FieldCipher (its derived keys are cached, nothing is derived per value) with
the ORM path's associated data, and the audit rows appended to the hash chain at the end,
in time order, in batches that each hold the chain's lock.

Categorical data, dates and which client gets what follow ``random.Random`` seeded from
``--seed``, one stream per client, so a client does not depend on the chunking; nonces,
row ids, display and referral codes stay random, as in real use.

An interrupted run leaves rows without their audit entries: throw such a database away.
The audit rows follow whatever the chain already holds, so a database that was in use
before (quickstart, say) has its own, newer, rows ahead of the simulated history.

The heavy casework modules (models, lifecycle, audit chain) are imported when the
command runs, not when ``casework`` starts, as everywhere in ``casework.cli``; the
``_World`` carries the parts of them the stories call.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import click

from casework import clock, codes, vocab
from casework.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from casework.db import Database

HISTORY_DAYS = 548  # about 18 months: the current and the previous calendar year both hold data
CLIENTS_PER_COLLABORATOR = 500
# With this many collaborators or more, one (demo.ctv001) covers a hotspot: about 4.4 times the
# usual caseload, like the load test's one collaborator with 2,000 clients among caseloads of 450.
HEAVY_CASELOAD_FROM, HEAVY_CASELOAD = 5, 4.4
CHUNK_CLIENTS = 1_000  # clients simulated and committed together: memory stays flat
INSERT_BATCH = 5_000  # rows per executemany
AUDIT_BATCH = 10_000  # audit rows per chain transaction
SQLITE_CACHE_KIB, SQLITE_WAL_PAGES = 64 * 1024, 100_000  # see _bulk_sqlite
SQLITE_DEFAULTS = (2000, 1000)  # SQLite's own: 2,000 KiB of cache, a checkpoint every 1,000 pages
# Local minutes after midnight: outreach runs into the evening, services keep office hours.
DAY_START, DAY_END = 7 * 60 + 30, 20 * 60 + 30
OFFICE_OPEN, OFFICE_CLOSE = 7 * 60 + 30, 17 * 60
EXPIRY_JOB, RETENTION_JOB = 60 + 15, 60 + 30  # the cron lines in README.md (01:15 and 01:30)
# Referrals made per client (right) for a mean number of planned referral slots (left), measured
# over 4,000 clients: slots fall away when a client has no sharing consent or no open need left,
# is closed, or the history ends. Re-measure when the distributions below change.
SLOTS_FOR_REFERRALS = ((0.0, 0.0), (0.5, 0.391), (1.0, 0.745), (1.5, 1.085), (2.0, 1.413), (3.0, 2.01),
                       (4.0, 2.497), (5.0, 2.927), (6.0, 3.311), (8.0, 3.859), (11.0, 4.325), (15.0, 4.63))
MAX_REFERRALS_PER_CLIENT = 4.5
TABLES = ("clients", "consents", "assessments", "assessment_needs", "case_notes", "follow_ups",
          "referrals", "referral_events", "referral_reads")  # in foreign-key order


def _ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


class _Dist:
    """A fixed categorical distribution, drawn millions of times: cumulative weights made once."""

    def __init__(self, weights: dict[Any, float]) -> None:
        self.keys = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random) -> Any:
        return rng.choices(self.keys, cum_weights=self.cumulative)[0]


# --- who the clients are ------------------------------------------------------------------

SEX_GENDER = _Dist({"female": 52, "male": 33, "trans_woman": 8, "trans_man": 1, "other": 1, "undisclosed": 5})
AGE_BAND = _Dist({"lt18": 3, "18-24": 22, "25-34": 37, "35-49": 28, "50+": 7, "unknown": 3})
AGE_YEARS = {"lt18": (14, 17), "18-24": (18, 24), "25-34": (25, 34), "35-49": (35, 49), "50+": (50, 68),
             "unknown": (20, 45)}
OUTREACH = _Dist({"street": 30, "venue": 24, "peer": 20, "online": 12, "hotline": 5, "walk_in": 7, "other": 2})
CONTACT = _Dist({"call": 35, "sms": 25, "in_person": 25, "do_not_contact": 15})
PHONE_GIVEN = {"call": 0.9, "sms": 0.9, "in_person": 0.4, "do_not_contact": 0.15}
CONSENT_METHOD = _Dist({"verbal": 70, "written": 30})
SEX_CODE = {"female": "F", "male": "M", "trans_woman": "T", "trans_man": "T", "other": "X", "undisclosed": "X"}
UIC_DECLINED, UIC_COLLISION = 0.10, 0.01
BIRTH_YEAR_GIVEN, ALIAS_GIVEN, RESIDENCE_GIVEN = 0.85, 0.75, 0.55


def _zipf(names: Iterable[str]) -> _Dist:
    """A few given names are far more common than the rest, which is what makes UICs collide."""
    return _Dist({name: 1 / (rank + 1) ** 0.8 for rank, name in enumerate(names)})


MOTHERS = _zipf(("Lan", "Hoa", "Hương", "Mai", "Linh", "Thảo", "Trang", "Hà", "Ngọc", "Phương", "Thu", "Hằng",
                 "Nga", "Yến", "Dung", "Loan", "Hạnh", "Huệ", "Liên", "Nhung", "Oanh", "Thủy", "Vân", "Xuân",
                 "Bích", "Cúc", "Đào", "Hồng", "Kim", "Lệ", "My", "Nhàn", "Quyên", "Tâm", "Tuyết", "Uyên",
                 "Vy", "Ánh", "Diệp", "Giang"))
FATHERS = _zipf(("Minh", "Hùng", "Dũng", "Tuấn", "Nam", "Hải", "Sơn", "Long", "Thắng", "Quang", "Đức", "Bình",
                 "Cường", "Hiếu", "Hòa", "Khánh", "Lâm", "Nghĩa", "Phúc", "Quân", "Tài", "Thành", "Trung",
                 "Việt", "Vinh", "An", "Bảo", "Chiến", "Định", "Hậu", "Khoa", "Lộc", "Mạnh", "Phong", "Tùng",
                 "Thịnh", "Toàn", "Văn", "Hưng", "Kiên"))
ALIAS_TITLE = {"female": "Chị", "trans_woman": "Chị", "male": "Anh", "trans_man": "Anh"}

# --- what happens to them -------------------------------------------------------------------

SHARE_AT_REGISTRATION, SHARE_LATER = 0.85, 0.5
CONTACT_AT_REGISTRATION, CONTACT_LATER = 0.75, 0.3
WITHDRAWAL = _Dist({None: 96.5, "registration": 2.5, "share_with_provider": 0.5, "contact": 0.5})
CLOSED, CLOSED_AFTER_WITHDRAWAL = 0.095, 0.5
CLOSE_REASON = _Dist({"reintegrated": 30, "moved": 20, "lost_to_follow_up": 35, "deceased": 2, "other": 8,
                      "withdrew_consent": 5})
ASSESSMENTS = _Dist({1: 60, 2: 28, 3: 12})
ELIGIBLE, URGENT, NEED_NOTE = 0.92, 0.25, 0.15
NOTES = _Dist({0: 15, 1: 30, 2: 25, 3: 15, 4: 8, 5: 4, 6: 3})
FOLLOW_UPS = _Dist({0: 35, 1: 35, 2: 20, 3: 10})
FOLLOW_UP_DONE = 0.75
# Chance that a domain is a need (some or urgent) at the first assessment, then factors by group.
NEED_CHANCE = {"hiv_sti_testing": 0.62, "hiv_treatment": 0.05, "prevention": 0.45, "reproductive_health": 0.18,
               "drug_dependency": 0.16, "mental_health": 0.30, "gbv": 0.09, "child_protection": 0.0,
               "legal_aid": 0.18, "vocational_training": 0.28, "employment": 0.30, "livelihood": 0.16,
               "social_assistance": 0.22}
NEED_FACTORS = {
    "female": {"reproductive_health": 1.6, "gbv": 1.5},
    "trans_woman": {"gbv": 1.6, "hiv_sti_testing": 1.2, "prevention": 1.2},
    "male": {"drug_dependency": 1.8, "reproductive_health": 0.3, "gbv": 0.3},
    "lt18": {"employment": 0.2, "livelihood": 0.1, "drug_dependency": 0.5, "vocational_training": 0.6},
    "50+": {"vocational_training": 0.5, "prevention": 0.6},
}

# --- referrals ----------------------------------------------------------------------------------

NEXT_STATUS = {
    "requested": _Dist({"received": 94, "cancelled": 2, None: 4}),  # None: nobody acts, it expires
    "received": _Dist({"accepted": 86, "rejected": 9, "cancelled": 2, None: 3}),
    "accepted": _Dist({"in-progress": 63, "completed": 22, "failed": 6, "on-hold": 5, "cancelled": 4}),
    "in-progress": _Dist({"completed": 81, "failed": 10, "on-hold": 6, "cancelled": 3}),
    "on-hold": _Dist({"in-progress": 70, "failed": 15, "completed": 5, "cancelled": 10}),
}
REASONS = {
    "rejected": _Dist({"not-eligible": 20, "no-capacity": 15, "service-not-offered": 5, "outside-service-area": 8,
                       "missing-documents": 15, "duplicate-referral": 5, "client-declined": 12,
                       "unable-to-contact-client": 15, "other": 5}),
    "failed": _Dist({"client-refused-services": 15, "lack-of-capacity": 10, "services-no-longer-needed": 15,
                     "unable-to-contact-client": 25, "no-show": 30, "other": 5}),
    "cancelled": _Dist({"withdrawn-by-referrer": 70, "other": 30}),
    "on-hold": _Dist({"waiting-for-client": 40, "waiting-for-documents": 30, "capacity": 20, "other": 10}),
    "entered-in-error": _Dist({"wrong-client": 30, "wrong-service": 25, "duplicate-record": 25, "test-record": 10,
                               "other": 10}),
}
BUSINESS = {
    "hiv_sti_testing": {"test-done-result-given": 1}, "hiv_treatment": {"treatment-started": 1},
    "prevention": {"prep-initiated": 4, "counselling-given": 6},
    "reproductive_health": {"counselling-given": 5, "support-provided": 5},
    "drug_dependency": {"treatment-started": 7, "counselling-given": 3}, "mental_health": {"counselling-given": 1},
    "gbv": {"support-provided": 6, "counselling-given": 4}, "child_protection": {"support-provided": 1},
    "legal_aid": {"legal-advice-given": 7, "papers-obtained": 3}, "vocational_training": {"enrolled-in-course": 1},
    "employment": {"job-placed": 5, "counselling-given": 5}, "livelihood": {"support-provided": 6,
                                                                           "counselling-given": 4},
    "social_assistance": {"papers-obtained": 5, "support-provided": 5},
}
BUSINESS_DISTS = {domain: _Dist(weights) for domain, weights in BUSINESS.items()}
ENTERED_IN_ERROR, FOLLOW_ON = 0.015, 0.5
FEEDBACK = {"accepted": 0.15, "in-progress": 0.05, "on-hold": 0.35, "completed": 0.35, "failed": 0.45,
            "rejected": 0.45}
FEEDBACK_ONLY, FEEDBACK_READ = 0.12, 0.8
REASON_TEXT, NOTE_TO_RECEIVER, SHARE_PHONE = 0.2, 0.4, 0.45
OUTCOME_TEXT = {"completed": 0.3, "failed": 0.2}
ACTOR_KINDS = {"provider": frozenset({"provider"}), "referrer": frozenset({"referrer"}),
               "admin": frozenset({"admin"}), "system": frozenset({"system"})}

# --- fictional text: every value says "(demo)" ------------------------------------------------------

CASE_NOTES = (
    "Gặp tại điểm hẹn, thân chủ khỏe, hẹn gặp lại tuần sau (demo).",
    "Gọi điện hỏi thăm; thân chủ đã đi xét nghiệm (demo).",
    "Thân chủ cần hỗ trợ giấy tờ tùy thân; đã giải thích thủ tục (demo).",
    "Đi cùng thân chủ đến trạm y tế (demo).",
    "Thân chủ chuyển chỗ ở, đã cập nhật cách liên lạc (demo).",
    "Tư vấn về dự phòng; phát bao cao su (demo).",
    "Thân chủ muốn học nghề, đã giới thiệu các khóa ngắn hạn (demo).",
    "Không liên lạc được qua điện thoại; sẽ thử lại (demo).",
    "Thân chủ chia sẻ khó khăn về tinh thần; đã lắng nghe và hẹn tư vấn (demo).",
    "Trao đổi với thân chủ về kết quả chuyển gửi (demo).",
)
FOLLOW_UP_TEXTS = ("Gọi lại hỏi thăm (demo)", "Hẹn đi cùng đến trạm y tế (demo)", "Nhắc lịch xét nghiệm (demo)",
                   "Hỏi kết quả chuyển gửi (demo)", "Gặp lại tại điểm hẹn (demo)", "Hỗ trợ chuẩn bị giấy tờ (demo)")
NEED_NOTES = {
    "hiv_sti_testing": "Chưa xét nghiệm trong 6 tháng qua (demo)", "hiv_treatment": "Cần kết nối lại điều trị (demo)",
    "prevention": "Quan tâm đến PrEP (demo)", "reproductive_health": "Muốn khám sức khỏe sinh sản (demo)",
    "drug_dependency": "Hỏi về điều trị methadone (demo)", "mental_health": "Hay mất ngủ, lo âu (demo)",
    "gbv": "Có nguy cơ bị bạo lực, cần nơi an toàn (demo)",
    "child_protection": "Trẻ dưới 18 tuổi: đã báo giám sát (demo)",
    "legal_aid": "Hỏi về giấy tờ tùy thân và quyền lợi (demo)",
    "vocational_training": "Muốn học nghề may hoặc nấu ăn (demo)", "employment": "Đang tìm việc làm ổn định (demo)",
    "livelihood": "Muốn vay vốn buôn bán nhỏ (demo)", "social_assistance": "Cần hỗ trợ nơi ở tạm (demo)",
}
RECEIVER_NOTES = ("Thân chủ muốn được gọi trước khi đến (demo).", "Xin gặp cán bộ nữ nếu có thể (demo).",
                  "Thân chủ chỉ rảnh buổi chiều (demo).", "Thân chủ lần đầu dùng dịch vụ, xin hướng dẫn kỹ (demo).")
FEEDBACK_TEXTS = {
    "accepted": "Đã tiếp nhận, hẹn thân chủ đến trong tuần này (demo).",
    "in-progress": "Thân chủ đã đến buổi đầu tiên (demo).",
    "on-hold": "Đang chờ thân chủ bổ sung giấy tờ (demo).",
    "completed": "Đã cung cấp dịch vụ; thân chủ hài lòng (demo).",
    "failed": "Thân chủ không đến theo lịch hẹn (demo).",
    "rejected": "Chưa thể tiếp nhận lúc này; đề nghị chuyển gửi nơi khác (demo).",
    None: "Đã gọi thân chủ để nhắc lịch hẹn (demo).",
}
OUTCOME_TEXTS = {"completed": "Đã hoàn thành dịch vụ, hẹn tái khám (demo).",
                 "failed": "Đã liên hệ ba lần không được (demo)."}
REASON_DETAIL = "Chi tiết do cán bộ ghi thêm (demo)."
PROVIDER_SLUGS = {"health_station": "tramyte", "social_assistance": "trogiup", "vocational_training": "daynghe",
                  "employment_service": "vieclam", "legal_aid": "phaply", "peer_group": "dongdang",
                  "ngo": "tochuc", "other": "donvi"}


# --- what a run produces --------------------------------------------------------------------------


@dataclass
class Summary:
    """What was written. ``facts`` counts categorical data as (category, value) → clients or referrals."""

    seed: int
    clients: int
    rows: Counter[str] = field(default_factory=Counter)
    facts: Counter[tuple[str, Any]] = field(default_factory=Counter)
    created: list[tuple[str, str]] = field(default_factory=list)  # (username, role) of new accounts
    reused: list[tuple[str, str]] = field(default_factory=list)
    caseloads: dict[str, int] = field(default_factory=dict)  # collaborator username → clients owned
    password: str | None = None  # the one password of every account created by this run
    directory_loaded: bool = False
    elapsed: float = 0.0

    def tally(self, category: str) -> dict[Any, int]:
        return {value: n for (kind, value), n in sorted(self.facts.items(), key=str) if kind == category}


@dataclass
class _Service:
    id: str
    organisation_id: str
    need_domain: str
    accept_days: int
    complete_days: int


@dataclass
class _World:
    """Fixed facts of one run, and the casework functions the stories call."""

    seed: int
    now: datetime
    latest: datetime  # actions end by here; the audit rows of the last ones follow within seconds
    offset: timedelta  # local time minus UTC (Asia/Ho_Chi_Minh has no daylight saving)
    start_day: date
    total: int
    referral_rate: float
    expire_days: int
    owners: list[str]
    owner_names: list[str]
    owner_cumulative: list[float]
    providers: dict[str, str]  # organisation id → provider account
    admin_id: str
    services: dict[str, list[_Service]]
    display_codes: set[str]
    referral_codes: set[str]
    uics: dict[str, list[tuple[str, str]]]  # canonical UIC → (client id, owner id), in registration order
    cipher: Any
    uic_bucket: Callable[[str], int]
    canonical_uic: Callable[[str], str]
    band_for: Callable[[int, date], str]
    new_id: Callable[[], str]
    need_flags: Callable[[dict[str, str]], dict[str, bool]]
    details_json: Callable[[Any], str]
    lifecycle: ModuleType
    known_details: dict[tuple[Any, ...], str] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.local_day(self.now)

    def local_day(self, at: datetime) -> date:
        return (at + self.offset).date()

    def at(self, day: date, minutes: float) -> datetime:
        """The UTC moment ``minutes`` after local midnight of ``day``."""
        return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes) - self.offset

    def registration_time(self, index: int, jitter: float) -> datetime:
        """Client ``index`` registers no earlier than client ``index - 1``; more of them lately
        (outreach grows over the period: density rising from 0.6 to 1.4 of the mean)."""
        share = (index + jitter) / self.total
        ramp = 0.4
        position = (-(1 - ramp) + math.sqrt((1 - ramp) ** 2 + 4 * ramp * share)) / (2 * ramp) * HISTORY_DAYS
        day = self.start_day + timedelta(days=int(position))
        return self.at(day, DAY_START + (position % 1) * (DAY_END - DAY_START))

    def owner(self, rng: random.Random) -> tuple[str, str]:
        """A collaborator (id, username), drawn by caseload weight."""
        slot = min(bisect.bisect(self.owner_cumulative, rng.random() * self.owner_cumulative[-1]),
                   len(self.owners) - 1)
        return self.owners[slot], self.owner_names[slot]

    def details(self, values: dict[str, Any]) -> str:
        """Audit details as casework.audit.chain.record stores them (canonical JSON). Details without
        an id (pages, statuses, reasons) repeat millions of times, so each of those is made once."""
        if any(isinstance(v, list) or (isinstance(v, str) and len(v) == 36) for v in values.values()):
            return self.details_json(values)
        key = tuple((name, type(value), value) for name, value in values.items())  # True is not 1 here
        known = self.known_details.get(key)
        if known is None:
            known = self.known_details[key] = self.details_json(values)
        return known

    def seal(self, table: str, column: str, row_id: str, value: str | None) -> str | None:
        """The stored form of one value, bound to its table, column and row as the ORM path binds it."""
        if value is None:
            return None
        return self.cipher.encrypt(value, table=table, column=column, row_id=row_id)


@dataclass
class _Chunk:
    """Rows of a chunk of clients, their audit entries (written later, in time order) and tallies."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in TABLES})
    events: list[tuple[Any, ...]] = field(default_factory=list)
    facts: Counter[tuple[str, Any]] = field(default_factory=Counter)


def _stamp(at: datetime) -> str:
    """``occurred_at`` exactly as casework.audit.chain.record formats it (%Y-%m-%dT%H:%M:%S.%fZ)."""
    return at.isoformat(timespec="microseconds") + "Z"


def _unique(make: Callable[[], str], taken: set[str]) -> str:
    while True:
        code = make()
        if code not in taken:
            taken.add(code)
            return code


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact, and quick for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# --- a client's profile (a pure function of seed and index: deliberate UIC collisions read it) -------


@dataclass
class _Profile:
    registered_at: datetime
    sex_gender: str
    age_band: str  # at registration
    year: int  # the true birth year (the UIC holds it even when the form's field is left blank)
    birth_year: int | None  # as recorded on the form
    uic: tuple[str, str, int, str] | None  # mother's and father's initials, birth year, sex code; None: declined


def _profile(world: _World, index: int) -> _Profile:
    rng = random.Random(f"{world.seed}/profile/{index}")  # noqa: S311  # fictional demo data, not a secret  # nosec B311
    registered = world.registration_time(index, rng.random())
    sex, band = SEX_GENDER.draw(rng), AGE_BAND.draw(rng)
    low, high = AGE_YEARS[band]
    year = world.local_day(registered).year - rng.randint(low, high)
    given = band != "unknown" and rng.random() < (0.95 if band == "lt18" else BIRTH_YEAR_GIVEN)
    declined = rng.random() < UIC_DECLINED
    uic = None if declined else (MOTHERS.draw(rng)[:2], FATHERS.draw(rng)[:2], year, SEX_CODE[sex])
    return _Profile(registered, sex, band, year, year if given else None, uic)


def _collide(world: _World, profile: _Profile, index: int, rng: random.Random) -> _Profile:
    """About 1%: the same UIC facts as an earlier client (the same person met again, or two people
    whose parents share initials): sex, birth year and the UIC are copied, the rest is this client's."""
    if profile.uic is None or index == 0 or rng.random() >= UIC_COLLISION:
        return profile
    earlier = _profile(world, rng.randrange(index))
    if earlier.uic is None:
        return profile
    band = world.band_for(earlier.year, world.local_day(profile.registered_at))
    given = earlier.year if profile.birth_year is not None or band == "lt18" else None
    return _Profile(profile.registered_at, earlier.sex_gender, band, earlier.year, given, earlier.uic)


# --- referrals in the making ------------------------------------------------------------------------


@dataclass
class _Step:
    """One change a person (or the expiry job) makes; ``to`` None: a feedback note without a change."""

    at: datetime
    to: str | None
    kind: str  # provider, referrer, admin, system
    reason: str | None = None  # the reason code, or the business status of a completion
    reason_text: str | None = None
    outcome: str | None = None
    feedback: str | None = None
    read: bool = True  # the screen shows the referral again afterwards (referral.viewed)


@dataclass
class _Ref:
    id: str
    code: str
    service: _Service
    created: datetime
    urgency: str
    share_phone: bool
    note: str | None
    previous_id: str | None
    day: date
    steps: list[_Step] = field(default_factory=list)
    followed: bool = False

    def status_at(self, moment: datetime) -> str:
        status = "requested"
        for step in self.steps:
            if step.at > moment:
                break
            status = step.to or status
        return status

    @property
    def final(self) -> str:
        return next((s.to for s in reversed(self.steps) if s.to), "requested")

    def completed_by(self, moment: datetime) -> bool:
        return any(s.to == "completed" and s.at <= moment for s in self.steps)

    def truncate(self, moment: datetime) -> None:
        self.steps = [s for s in self.steps if s.at <= moment]


class _Story:
    """One fictional client's history, written as the screens would have written it."""

    def __init__(self, world: _World, out: _Chunk, index: int) -> None:
        self.w, self.out = world, out
        self.rng = random.Random(f"{world.seed}/story/{index}")  # noqa: S311  # fictional demo data, not a secret  # nosec B311
        self.p = _collide(world, _profile(world, index), index, self.rng)
        self.id, (self.owner, self.owner_name) = world.new_id(), world.owner(self.rng)
        self.actor = (self.owner, "collaborator")
        self.t0, self.reg_day = self.p.registered_at, world.local_day(self.p.registered_at)
        self.band, self.version, self.updated_at = self.p.age_band, 2, self.t0 + _ms(4)
        self.status, self.close_reason, self.closed_at = "open", None, None
        self.consents: dict[str, dict[str, Any]] = {}
        self.needs: dict[str, str] = {}
        self.refs: list[_Ref] = []
        self.share_since: datetime | None = None
        self.share_until: datetime | None = None
        self.eligible, self.eligible_with_need = self.rng.random() < ELIGIBLE, False
        self._draw_details()

    def _draw_details(self) -> None:
        rng, p = self.rng, self.p
        self.outreach, self.contact = OUTREACH.draw(rng), CONTACT.draw(rng)
        name = (MOTHERS if p.sex_gender in ("female", "trans_woman") else FATHERS).draw(rng)
        title = "Bé" if p.age_band == "lt18" else ALIAS_TITLE.get(p.sex_gender, "Bạn")
        self.alias = f"{title} {name} (demo)" if rng.random() < ALIAS_GIVEN else None
        phone = f"0900 0{rng.randrange(100):02d} {rng.randrange(1000):03d}"
        self.phone = phone if rng.random() < PHONE_GIVEN[self.contact] else None
        self.residence = f"Tổ dân phố {rng.randint(1, 12)} (demo)" if rng.random() < RESIDENCE_GIVEN else None
        self.uic = self.w.canonical_uic("".join(map(str, p.uic))) if p.uic else None
        self.method = CONSENT_METHOD.draw(rng)

    def run(self) -> None:
        self._register()
        plan = self._plan()
        for at, _order, action, arg in sorted(plan, key=lambda item: (item[0], item[1])):
            action(at, arg)
        for ref in self.refs:
            self._record_referral(ref)
        self._age_band_updates()
        self._finish()

    # audit helpers

    def _audit(self, at: datetime, action: str, actor: tuple[str | None, str], object_type: str,
               object_id: str, **details: Any) -> None:
        self.out.events.append((_stamp(at), actor[0], actor[1], action, object_type, object_id,
                                self.w.details(details)))

    def _client_event(self, at: datetime, action: str, **details: Any) -> None:
        self._audit(at, action, self.actor, "client", self.id, **details)

    def _view(self, at: datetime) -> None:
        """Every client action returns to the client page, and opening it is audited."""
        self._client_event(at, "client.viewed", page="client")

    # time helpers

    def _daytime(self, day: date) -> datetime:
        return self.w.at(day, self.rng.uniform(DAY_START, DAY_END))

    def _after(self, at: datetime, low: int, high: int) -> datetime:
        """A moment ``low``–``high`` days after ``at``, in working hours (0 days: later the same visit)."""
        days = self.rng.randint(low, high)
        if days == 0:
            return at + timedelta(minutes=self.rng.uniform(5, 90))
        return self._daytime(self.w.local_day(at) + timedelta(days=days))

    def _between(self, start: datetime, end: datetime) -> datetime | None:
        if end <= start:
            return None
        moment = start + (end - start) * self.rng.random()
        shifted = self._daytime(self.w.local_day(moment))
        return shifted if start < shifted < end else moment

    def _office(self, at: datetime, opens: int = OFFICE_OPEN, closes: int = OFFICE_CLOSE) -> datetime:
        """Services act in office hours (collaborators in working hours): a moment outside them
        moves to the next opening."""
        local = at + self.w.offset
        minutes = local.hour * 60 + local.minute
        if opens <= minutes < closes:
            return at
        day = local.date() + timedelta(days=1 if minutes >= closes else 0)
        return self.w.at(day, opens + self.rng.uniform(0, 120))

    # registration

    def _register(self) -> None:
        t = self.t0
        overrode = self._probe_matches(t)
        purposes = ["registration"]
        if self.rng.random() < SHARE_AT_REGISTRATION:
            purposes.append("share_with_provider")
            self.share_since = t
        if self.rng.random() < (CONTACT_AT_REGISTRATION if self.contact != "do_not_contact" else 0.05):
            purposes.append("contact")
        for n, purpose in enumerate(purposes):
            self._consent_row(purpose, self.reg_day, t + _ms(5 + n))
        self._client_event(t + _ms(8), "client.registered", consent_method=self.method, consents=purposes,
                           uic_declined=self.uic is None, uic_match_overridden=overrode)
        self._view(t + _ms(400))
        if self.uic:
            self.w.uics.setdefault(self.uic, []).append((self.id, self.owner))

    def _probe_matches(self, t: datetime) -> bool:
        """The registration screen looked the UIC up first; a match outside the caseload is
        logged against that record, then the collaborator confirmed a different person."""
        matches = self.w.uics.get(self.uic, []) if self.uic else []
        for n, (other_id, other_owner) in enumerate(matches):
            if other_owner != self.owner:
                self._audit(t - timedelta(seconds=90) + _ms(n), "client.uic_matched", self.actor, "client",
                            other_id, page="registration")
        self.out.facts["uic", "matched at registration" if matches else "unique"] += 1
        return bool(matches)

    def _consent_row(self, purpose: str, given_on: date, created: datetime) -> None:
        row = {"id": self.w.new_id(), "client_id": self.id, "purpose": purpose, "method": self.method,
               "given_on": given_on, "recorded_by": self.owner, "withdrawn_on": None, "withdrawn_by": None,
               "created_at": created}
        self.consents[purpose] = row
        self.out.rows["consents"].append(row)

    # planning: what happens when, cut off where the case ends

    def _plan(self) -> list[tuple[datetime, int, Callable[[datetime, Any], None], Any]]:
        plan: list[tuple[datetime, int, Callable[[datetime, Any], None], Any]] = []
        self.end = self._plan_endings(plan)
        self._plan_consents(plan)
        assessments = self._plan_assessments(plan)
        for _ in range(NOTES.draw(self.rng)):
            plan.append((self._between(self.t0, self.end), 4, self._note, None))
        for _ in range(FOLLOW_UPS.draw(self.rng)):
            plan.append((self._between(self.t0, self.end), 5, self._follow_up, None))
        if assessments and self.eligible:
            for at in self._plan_slots(assessments[0]):
                plan.append((at, 6, self._refer, None))
        return [item for item in plan if item[0] is not None and (item[0] < self.end or item[1] < 2)]

    def _plan_endings(self, plan: list[Any]) -> datetime:
        """Withdrawal (order 0) and closing (order 1); returns when client-side work ends."""
        latest, end = self.w.latest, self.w.latest
        purpose = WITHDRAWAL.draw(self.rng)
        withdrawn_at = self._between(self.t0 + timedelta(days=7), latest) if purpose else None
        if withdrawn_at:
            plan.append((withdrawn_at, 0, self._withdraw, purpose))
            end = withdrawn_at if purpose == "registration" else end
        if purpose == "registration" and withdrawn_at and self.rng.random() < CLOSED_AFTER_WITHDRAWAL:
            closed_at = min(withdrawn_at + timedelta(minutes=self.rng.uniform(2, 30)), latest)
            plan.append((closed_at, 1, self._close, "withdrew_consent"))
        elif self.rng.random() < CLOSED:
            closed_at = self._between(min(self.t0 + timedelta(days=21), end), end)
            if closed_at:
                plan.append((closed_at, 1, self._close, CLOSE_REASON.draw(self.rng)))
                end = min(end, closed_at)
        return end

    def _plan_consents(self, plan: list[Any]) -> None:
        if "share_with_provider" not in self.consents and self.rng.random() < SHARE_LATER:
            plan.append((self._after(self.t0, 1, 30), 2, self._consent, "share_with_provider"))
        if ("contact" not in self.consents and self.contact != "do_not_contact"
                and self.rng.random() < CONTACT_LATER):
            plan.append((self._after(self.t0, 1, 45), 2, self._consent, "contact"))

    def _plan_assessments(self, plan: list[Any]) -> list[datetime]:
        first = (self.t0 + timedelta(minutes=self.rng.uniform(10, 40)) if self.rng.random() < 0.6
                 else self._after(self.t0, 1, 14))
        times = [first]
        for _ in range(ASSESSMENTS.draw(self.rng) - 1):
            times.append(self._after(times[-1], 30, 150))
        times = [t for t in times if t < self.end]
        plan.extend((at, 3, self._assess, n) for n, at in enumerate(times))
        return times

    def _plan_slots(self, first_assessment: datetime) -> list[datetime]:
        at = (first_assessment + timedelta(minutes=self.rng.uniform(5, 40)) if self.rng.random() < 0.4
              else self._after(first_assessment, 1, 10))
        slots = []
        for _ in range(_poisson(self.rng, self.w.referral_rate)):
            if at >= self.end:
                break
            slots.append(at)
            at = self._after(at, 7, 75)
        return slots

    # client-side actions

    def _consent(self, at: datetime, purpose: str) -> None:
        self._consent_row(purpose, self.w.local_day(at), at)
        if purpose == "share_with_provider":
            self.share_since = at
        self._client_event(at + _ms(3), "client.consent_recorded", purpose=purpose, method=self.method)
        self._view(at + _ms(400))

    def _assess(self, at: datetime, nth: int) -> None:
        assessment_id, day = self.w.new_id(), self.w.local_day(at)
        if self.rng.random() < 0.1:  # written up a few days after the visit
            day = max(day - timedelta(days=self.rng.randint(1, 3)), self.reg_day)
        self.needs = self._first_needs() if nth == 0 else self._reassessed_needs(at)
        self.out.rows["assessments"].append({"id": assessment_id, "client_id": self.id, "assessed_on": day,
                                             "assessed_by": self.owner, "eligible": self.eligible,
                                             "created_at": at, **self.w.need_flags(self.needs)})
        for domain, level in self.needs.items():
            need_id = self.w.new_id()
            note = NEED_NOTES[domain] if level != "none" and self.rng.random() < NEED_NOTE else None
            self.out.rows["assessment_needs"].append({
                "id": need_id, "assessment_id": assessment_id, "domain": domain, "level": level,
                "note_enc": self.w.seal("assessment_needs", "note_enc", need_id, note)})
        self.eligible_with_need |= self.eligible and any(level != "none" for level in self.needs.values())
        self._client_event(at + _ms(9), "client.assessed", assessment_id=assessment_id)
        self._view(at + _ms(400))

    def _first_needs(self) -> dict[str, str]:
        factors = NEED_FACTORS.get(self.p.sex_gender, {}), NEED_FACTORS.get(self.band, {})
        needs = {}
        for domain in vocab.NEED_DOMAINS:
            chance = NEED_CHANCE.get(domain, 0.1) * factors[0].get(domain, 1) * factors[1].get(domain, 1)
            chance *= 1 if self.eligible else 0.3
            if domain == "child_protection":
                chance = 1.0 if self.band == "lt18" else 0.0
            urgent = 0.5 if domain == "child_protection" else URGENT
            needs[domain] = ("urgent" if self.rng.random() < urgent else "some") if self.rng.random() < chance \
                else "none"
        return needs

    def _reassessed_needs(self, at: datetime) -> dict[str, str]:
        """Needs met by a completed referral mostly go; others mostly stay; a few new ones appear."""
        done = {ref.service.need_domain for ref in self.refs if ref.completed_by(at)}
        needs = {}
        for domain, level in self.needs.items():
            roll = self.rng.random()
            if level == "none":
                needs[domain] = "some" if roll < 0.05 and domain != "child_protection" else "none"
            elif domain in done:
                needs[domain] = "none" if roll < 0.7 else "some"
            else:
                swapped = "some" if level == "urgent" else "urgent"
                needs[domain] = level if roll < 0.65 else swapped if roll < 0.85 else "none"
        return needs

    def _note(self, at: datetime, _arg: Any) -> None:
        note_id = self.w.new_id()
        self.out.rows["case_notes"].append({
            "id": note_id, "client_id": self.id, "author_id": self.owner, "created_at": at,
            "body_enc": self.w.seal("case_notes", "body_enc", note_id, self.rng.choice(CASE_NOTES))})
        self._client_event(at + _ms(3), "client.note_added", note_id=note_id)
        self._view(at + _ms(400))

    def _follow_up(self, at: datetime, _arg: Any) -> None:
        follow_up_id, due = self.w.new_id(), self.w.local_day(at) + timedelta(days=self.rng.randint(2, 21))
        text = self.rng.choice(FOLLOW_UP_TEXTS) if self.rng.random() < 0.9 else None
        done_at = None
        if self.rng.random() < FOLLOW_UP_DONE:  # the rest stay open: overdue once their day has passed
            done_at = self._between(at + timedelta(hours=2), min(self.w.at(due, DAY_END) + timedelta(days=5),
                                                                 self.end))
        self.out.rows["follow_ups"].append({
            "id": follow_up_id, "client_id": self.id, "created_by": self.owner, "due_on": due,
            "description_enc": self.w.seal("follow_ups", "description_enc", follow_up_id, text),
            "done_at": done_at, "done_by": self.owner if done_at else None, "created_at": at})
        self._client_event(at + _ms(3), "client.follow_up_added", follow_up_id=follow_up_id)
        self._view(at + _ms(400))
        if done_at:
            self._client_event(done_at, "client.follow_up_done", follow_up_id=follow_up_id)
            self._view(done_at + _ms(400))

    def _close(self, at: datetime, reason: str) -> None:
        self.status, self.close_reason, self.closed_at = "closed", reason, at
        self._changed(at + _ms(2))
        self._client_event(at + _ms(1), "client.closed")
        self._view(at + _ms(400))

    def _changed(self, at: datetime) -> None:
        """An UPDATE of the client row: the ORM bumps the version and sets updated_at."""
        self.version += 1
        self.updated_at = max(self.updated_at, at)

    def _withdraw(self, at: datetime, purpose: str) -> None:
        """As casework.clients.services.withdraw_consent, with cancel_after_consent_withdrawn."""
        active = [row for row in self.consents.values() if row["withdrawn_on"] is None]
        rows = active if purpose == "registration" else [r for r in active if r["purpose"] == purpose]
        if not rows:
            return
        for row in rows:
            row["withdrawn_on"], row["withdrawn_by"] = self.w.local_day(at), self.owner
        purposes = sorted(row["purpose"] for row in rows)
        self._client_event(at, "client.consent_withdrawn", purposes=purposes)
        if {"registration", "share_with_provider"} & set(purposes):
            self.share_until = at
            for n, ref in enumerate(self.refs):
                self._cancel_on_withdrawal(ref, at, at + _ms(5 + n))
        self._view(at + _ms(600))
        self.out.facts["withdrawn", purpose] += 1

    def _cancel_on_withdrawal(self, ref: _Ref, withdrawn_at: datetime, at: datetime) -> None:
        ref.truncate(withdrawn_at)
        if ref.final not in vocab.TERMINAL_STATUSES:
            # Part of the withdrawal request, which returns to the client page, not the referral.
            ref.steps.append(_Step(at, "cancelled", "referrer", reason="client-withdrew-consent", read=False))

    # referrals: choosing and walking

    def _refer(self, at: datetime, _arg: Any) -> None:
        sharing = self.share_since is not None and self.share_since <= at
        if not sharing or (self.share_until is not None and self.share_until <= at):
            return
        previous = self._previous_to_follow(at)
        domain = previous.service.need_domain if previous else self._choose_domain(at)
        if domain is None:
            return
        options = self.w.services[domain]
        if previous and len(options) > 1:  # "refer elsewhere": not the place that did not work out
            options = [s for s in options if s.id != previous.service.id]
        self.refs.append(self._new_referral(at, self.rng.choice(options), previous))

    def _previous_to_follow(self, at: datetime) -> _Ref | None:
        for ref in reversed(self.refs):
            if not ref.followed and ref.status_at(at) in ("rejected", "failed", "cancelled"):
                if self.rng.random() < FOLLOW_ON and ref.service.need_domain in self.w.services:
                    ref.followed = True
                    return ref
                return None
        return None

    def _choose_domain(self, at: datetime) -> str | None:
        weights: dict[str, float] = {}
        for domain, level in self.needs.items():
            if level == "none" or domain not in self.w.services:
                continue
            earlier = [ref for ref in self.refs if ref.service.need_domain == domain]
            if any(ref.status_at(at) not in vocab.TERMINAL_STATUSES for ref in earlier):
                continue  # one referral at a time per need
            weight = 3.0 if level == "urgent" else 1.0
            if not earlier:
                weight *= 2.0
            elif any(ref.completed_by(at) for ref in earlier):
                weight *= 0.4  # met once already (a repeat test, a second course)
            weights[domain] = weight
        if not weights:
            return None
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _new_referral(self, at: datetime, service: _Service, previous: _Ref | None) -> _Ref:
        level = self.needs.get(service.need_domain, "some")
        urgent = self.rng.random() < (0.8 if level == "urgent" else 0.05)
        share_phone = self.phone is not None and self.rng.random() < SHARE_PHONE
        note = self.rng.choice(RECEIVER_NOTES) if self.rng.random() < NOTE_TO_RECEIVER else None
        ref = _Ref(self.w.new_id(), _unique(codes.referral_code, self.w.referral_codes), service, at,
                   "urgent" if urgent else "routine", share_phone, note, previous.id if previous else None,
                   self.w.local_day(at))
        self._walk(ref)
        return ref

    def _walk(self, ref: _Ref) -> None:
        """Who does what next, until a terminal status or the end of the history."""
        status, at = "requested", ref.created
        expiry = self.w.at(ref.day + timedelta(days=self.w.expire_days + 1), EXPIRY_JOB)
        while status not in vocab.TERMINAL_STATUSES:
            step = self._next_step(status, at, ref.service)
            if status in self.w.lifecycle.OPEN_EARLY and (step is None or step.at > expiry):
                step = _Step(expiry, "cancelled", "system", reason="expired", read=False)
            if status in self.w.lifecycle.UNDER_WAY:
                self._maybe_feedback_only(ref, at, min(step.at, self.w.latest))
            if step.at > self.w.latest:
                break
            ref.steps.append(step)
            status, at = step.to, step.at
        self._maybe_entered_in_error(ref)

    def _next_step(self, status: str, at: datetime, service: _Service) -> _Step | None:
        to = NEXT_STATUS[status].draw(self.rng)
        if to is None:
            return None
        early = status in self.w.lifecycle.OPEN_EARLY
        kind = "provider" if to != "cancelled" else "referrer" if early or self.rng.random() < 0.5 else "provider"
        moment = at + timedelta(days=self._delay_days(status, to, service))
        moment = self._office(moment) if kind == "provider" else self._office(moment, DAY_START, DAY_END)
        reasons = BUSINESS_DISTS[service.need_domain] if to == "completed" else REASONS.get(to)
        step = _Step(moment, to, kind, reason=reasons.draw(self.rng) if reasons else None)
        if to in REASONS and self.rng.random() < REASON_TEXT:
            step.reason_text = REASON_DETAIL
        if to in OUTCOME_TEXT and self.rng.random() < OUTCOME_TEXT[to]:
            step.outcome = OUTCOME_TEXTS[to]
        if kind == "provider" and self.rng.random() < FEEDBACK.get(to, 0):
            step.feedback = FEEDBACK_TEXTS[to]
        return step

    def _delay_days(self, start: str, to: str, service: _Service) -> float:
        uniform = self.rng.uniform
        if to == "received":  # most inboxes are opened within a day; some wait for a week or more
            return min(self.rng.lognormvariate(math.log(0.75), 0.9), 20)
        if to == "accepted":
            return uniform(0.05, service.accept_days * 1.3)
        if to == "rejected":
            return uniform(0.05, service.accept_days)
        if to == "in-progress":
            return uniform(0.1, 4) if start == "accepted" else uniform(3, 20)
        if to == "on-hold":
            return uniform(1, 10)
        if to == "completed":
            return uniform(0.2, service.complete_days * (0.6 if start == "accepted" else 1.1))
        if to == "failed":
            return uniform(2, service.complete_days)
        return uniform(1, 6 if start in self.w.lifecycle.OPEN_EARLY else 15)

    def _maybe_feedback_only(self, ref: _Ref, since: datetime, before: datetime) -> None:
        if self.rng.random() < FEEDBACK_ONLY:
            at = self._office(since + timedelta(days=self.rng.uniform(0.5, 4)))
            if at < before:
                ref.steps.append(_Step(at, None, "provider", feedback=FEEDBACK_TEXTS[None]))

    def _maybe_entered_in_error(self, ref: _Ref) -> None:
        if self.rng.random() >= ENTERED_IN_ERROR:
            return
        at = self._office(ref.created + timedelta(days=self.rng.uniform(1, 10)))
        if at <= self.w.latest:
            ref.truncate(at)
            ref.steps.append(_Step(at, "entered-in-error", "admin",
                                   reason=REASONS["entered-in-error"].draw(self.rng), read=False))

    # referrals: the rows, events and audit entries their history leaves

    def _actor(self, step: _Step, ref: _Ref) -> tuple[str | None, str]:
        if step.kind == "provider":
            return self.w.providers[ref.service.organisation_id], "provider"
        if step.kind == "referrer":
            return self.actor
        return (self.w.admin_id, "admin") if step.kind == "admin" else (None, "system")

    def _record_referral(self, ref: _Ref) -> None:
        row = self._referral_row(ref)
        plain: dict[str, Any] = {"reason": None, "outcome": None, "notes": [], "views": {}}
        self._referral_event(ref, ref.created, self.actor[0], None, "requested", None)
        self._audit(ref.created + _ms(3), "referral.created", self.actor, "referral", ref.id,
                    share_phone=ref.share_phone, previous_referral_id=ref.previous_id)
        self._audit(ref.created + _ms(500), "referral.slip_viewed", self.actor, "referral", ref.id)
        for step in ref.steps:
            self._record_step(ref, row, plain, step)
        self._read_marks(ref, row, plain)
        self._seal_referral(row, plain, ref.note)
        self.out.rows["referrals"].append(row)
        self.out.facts["referral_status", row["status"]] += 1
        if row["status"] == "cancelled":
            self.out.facts["cancel_reason", row["reason_code"]] += 1

    def _referral_row(self, ref: _Ref) -> dict[str, Any]:
        service, day = ref.service, ref.day
        return {
            "id": ref.id, "code": ref.code, "client_id": self.id, "service_id": service.id,
            "organisation_id": service.organisation_id, "need_domain": service.need_domain,
            "referred_by": self.owner, "previous_referral_id": ref.previous_id, "status": "requested",
            "business_status": None, "urgency": ref.urgency, "reason_code": None, "reason_enc": None,
            "outcome_enc": None, "note_to_receiver_enc": None, "feedback_enc": None, "feedback_count": 0,
            "share_phone": ref.share_phone, "consent_confirmed_at": ref.created,
            "outcome_recorded_by_referrer": False, "created_at": ref.created,
            "accept_due_on": day + timedelta(days=service.accept_days),
            "complete_due_on": day + timedelta(days=service.complete_days),
            "expires_on": day + timedelta(days=self.w.expire_days), "received_at": None, "accepted_at": None,
            "completed_at": None, "closed_at": None, "updated_at": ref.created, "version": 1,
        }

    def _referral_event(self, ref: _Ref, at: datetime, actor_id: str | None, start: str | None, to: str,
                        code: str | None) -> None:
        self.out.rows["referral_events"].append({"id": self.w.new_id(), "referral_id": ref.id, "at": at,
                                                 "actor_id": actor_id, "from_status": start, "to_status": to,
                                                 "reason_code": code})

    def _record_step(self, ref: _Ref, row: dict[str, Any], plain: dict[str, Any], step: _Step) -> None:
        actor = self._actor(step, ref)
        if step.to is None:  # lifecycle.add_feedback: a note, no change of status
            self._feedback(ref, row, plain, step, actor)
            return
        kinds = ACTOR_KINDS[step.kind]
        completing = step.to == "completed"
        change = self.w.lifecycle.Change(to=step.to, reason_code=None if completing else step.reason,
                                         business_status=step.reason if completing else None)
        current = SimpleNamespace(status=row["status"], need_domain=row["need_domain"])
        rule = self.w.lifecycle.check(current, change, kinds)
        start = row["status"]
        _set_status(row, plain, step, rule, recorded_by_referrer="provider" not in kinds)
        code = step.reason if rule.needs_outcome or rule.reasons is not None else None
        self._referral_event(ref, step.at, actor[0], start, step.to, code)
        self._audit(step.at + _ms(2), f"referral.{step.to}", actor, "referral", ref.id,
                    **{"from": start, "to": step.to})
        if step.feedback:
            self._feedback(ref, row, plain, step, actor, with_change=True)
        elif step.read and step.kind in ("provider", "referrer"):
            self._viewed(ref, plain, step.at + _ms(300), actor)

    def _feedback(self, ref: _Ref, row: dict[str, Any], plain: dict[str, Any], step: _Step,
                  actor: tuple[str | None, str], *, with_change: bool = False) -> None:
        plain["notes"].append((step.at, actor[0], step.feedback))
        if not with_change:  # its own UPDATE; with a change it rides on the change's
            row["updated_at"], row["version"] = step.at, row["version"] + 1
        self._audit(step.at + _ms(3), self.w.lifecycle.FEEDBACK_ACTION, actor, "referral", ref.id,
                    status=row["status"])
        self._viewed(ref, plain, step.at + _ms(300), actor)
        if self.rng.random() < FEEDBACK_READ:  # the referrer opens the referral and reads it later
            read_at = step.at + timedelta(hours=self.rng.uniform(2, 72))
            if read_at <= self.w.latest:
                self._viewed(ref, plain, read_at, self.actor)

    def _viewed(self, ref: _Ref, plain: dict[str, Any], at: datetime, actor: tuple[str | None, str]) -> None:
        self._audit(at, "referral.viewed", actor, "referral", ref.id)
        if actor[0] is not None and actor[1] != "provider":  # the inbox page keeps no mark
            plain["views"][actor[0]] = max(at, plain["views"].get(actor[0], at))

    def _read_marks(self, ref: _Ref, row: dict[str, Any], plain: dict[str, Any]) -> None:
        """Each reader's mark, as the screens keep it (casework.referrals.services.mark_feedback_read):
        how many feedback notes had been written when they last opened the referral."""
        written = [at + _ms(3) for at, _by, _text in plain["notes"]]
        row["feedback_count"] = len(written)
        for user_id, seen_at in plain["views"].items():
            self.out.rows["referral_reads"].append({
                "referral_id": ref.id, "user_id": user_id, "read_at": seen_at,
                "feedback_seen": sum(1 for at in written if at < seen_at)})

    def _seal_referral(self, row: dict[str, Any], plain: dict[str, Any], note: str | None) -> None:
        """Each field encrypted once, with its final value (the ORM path re-encrypts on every change)."""
        seal, rid = self.w.seal, row["id"]
        row["note_to_receiver_enc"] = seal("referrals", "note_to_receiver_enc", rid, note)
        row["reason_enc"] = seal("referrals", "reason_enc", rid, plain["reason"])
        row["outcome_enc"] = seal("referrals", "outcome_enc", rid, plain["outcome"])
        row["feedback_enc"] = seal("referrals", "feedback_enc", rid, _feedback_json(plain["notes"]))

    # the client row, last: its version and updated_at sum up everything above

    def _age_band_updates(self) -> None:
        """The daily retention run moves a band when a birth year crosses into the next one (1 January)."""
        if self.p.birth_year is None:
            return
        for year in range(self.reg_day.year + 1, self.w.today.year + 1):
            moment = self.w.at(date(year, 1, 1), RETENTION_JOB + self.rng.uniform(0, 1))
            band = self.w.band_for(self.p.birth_year, date(year, 1, 1))
            if moment <= self.w.latest and band != self.band:
                self.band = band
                self._changed(moment + _ms(1))
                self._audit(moment, "client.age_band_updated", (None, "system"), "client", self.id)

    def _finish(self) -> None:
        seal = self.w.seal
        birth_year = str(self.p.birth_year) if self.p.birth_year is not None else None
        self.out.rows["clients"].append({
            "id": self.id, "display_code": _unique(codes.display_code, self.w.display_codes),
            "uic_enc": seal("clients", "uic_enc", self.id, self.uic),
            "uic_bidx": self.w.uic_bucket(self.uic) if self.uic else None, "uic_declined": self.uic is None,
            "alias_enc": seal("clients", "alias_enc", self.id, self.alias),
            "phone_enc": seal("clients", "phone_enc", self.id, self.phone),
            "birth_year_enc": seal("clients", "birth_year_enc", self.id, birth_year),
            "residence_enc": seal("clients", "residence_enc", self.id, self.residence),
            "sex_gender": self.p.sex_gender, "age_band": self.band, "outreach_source": self.outreach,
            "contact_preference": self.contact, "is_minor": self.band == "lt18", "status": self.status,
            "close_reason": self.close_reason, "closed_at": self.closed_at, "registered_at": self.t0,
            "owner_id": self.owner, "created_at": self.t0 + _ms(2), "updated_at": self.updated_at,
            "version": self.version,
        })
        self._tally()

    def _tally(self) -> None:
        facts = self.out.facts
        for category, value in (("age_band", self.band), ("sex_gender", self.p.sex_gender),
                                ("outreach_source", self.outreach), ("client_status", self.status),
                                ("owner", self.owner_name)):
            facts[category, value] += 1
        if self.close_reason:
            facts["close_reason", self.close_reason] += 1
        counted = [ref for ref in self.refs if ref.final != "entered-in-error"]
        facts["indicator", "reached"] += 1
        facts["indicator", "eligible_with_need"] += self.eligible_with_need
        facts["indicator", "referred"] += self.eligible_with_need and bool(counted)
        facts["indicator", "completed"] += self.eligible_with_need and any(r.final == "completed" for r in counted)


def _set_status(row: dict[str, Any], plain: dict[str, Any], step: _Step, rule: Any, *,
                recorded_by_referrer: bool) -> None:
    """What casework.referrals.lifecycle._set_status writes, on a row that is not an ORM object
    (``plain`` holds the values to encrypt once the history is complete)."""
    row["status"], row["updated_at"] = step.to, step.at
    row["reason_code"] = step.reason if rule.reasons is not None else None
    plain["reason"] = (step.reason_text or None) if rule.reasons is not None else None
    if step.to == "received":
        row["received_at"] = step.at
    elif step.to == "accepted":
        row["accepted_at"] = step.at
    elif step.to == "completed":
        row["completed_at"], row["business_status"] = step.at, step.reason
    if step.to in ("completed", "failed"):
        plain["outcome"] = step.outcome or None
        row["outcome_recorded_by_referrer"] = recorded_by_referrer
    if step.to in vocab.TERMINAL_STATUSES:
        row["closed_at"] = step.at
    row["version"] += 1  # the ORM's version_id_col, bumped by every UPDATE


def _feedback_json(notes: list[tuple[datetime, str | None, str]]) -> str | None:
    """The JSON list casework.referrals.lifecycle._append_feedback keeps in the one encrypted field."""
    if not notes:
        return None
    return json.dumps({"v": 1, "notes": [{"at": at.isoformat(), "by": by, "text": text} for at, by, text in notes]},
                      ensure_ascii=False)


# --- setting the stage: directory, accounts, what the database already holds ---------------------


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    """Let accounts and the directory appear made just before the simulated history begins.

    create_account stamps its row and its audit entry through casework.clock, the one clock
    casework reads (the tests move it the same way); without this the appended chain would
    start with accounts made today, followed by 18 months of older history.
    """
    original, ticks = clock.utcnow, itertools.count()
    clock.utcnow = lambda: moment + _ms(next(ticks))
    try:
        yield
    finally:
        clock.utcnow = original


@dataclass
class _Accounts:
    collaborators: list[tuple[str, str]] = field(default_factory=list)  # (user id, username)
    providers: dict[str, str] = field(default_factory=dict)  # organisation id → user id
    admin_id: str = ""
    created: list[tuple[str, str]] = field(default_factory=list)
    reused: list[tuple[str, str]] = field(default_factory=list)


class _AccountMaker:
    """Creates demo accounts through casework.admin.services.create_account (argon2, the production
    parameters), or reuses one an earlier run made; no second factor, no forced password change."""

    def __init__(self, session: Session, password: str) -> None:
        from sqlalchemy import select

        from casework.auth.models import User

        self.session, self.password = session, password
        self.users = {user.username: user for user in session.scalars(select(User))}
        self.result = _Accounts()

    def get(self, username: str, role: str, name: str, organisation_id: str | None = None,
            phone: str | None = None) -> str:
        from casework.admin.services import create_account

        user = self.users.get(username)
        if user is not None:
            if user.role != role or not user.active or (organisation_id and user.organisation_id != organisation_id):
                raise ConfigError(f"account {username} exists but is not an active {role} of this kind: "
                                  "rename or remove it, or use a fresh database")
            self.result.reused.append((username, role))
            return user.id
        user = create_account(self.session, None, username=username, display_name=name[:120], role=role,
                              password=self.password, organisation_id=organisation_id, work_phone=phone)
        user.must_change_password = False  # demo only, as casework.demo does: real accounts always change it
        self.users[username] = user
        self.result.created.append((username, role))
        return user.id


def _make_accounts(session: Session, collaborators: int, password: str) -> _Accounts:
    from casework.directory.models import Organisation, Service

    maker = _AccountMaker(session, password)
    for n in range(1, collaborators + 1):
        username = f"demo.ctv{n:03d}"
        maker.result.collaborators.append((maker.get(username, "collaborator", f"Cộng tác viên demo {n:03d}",
                                                     phone=f"0225 000 {1000 + n % 9000:04d}"), username))
    serving = session.scalars(_serving_organisations(Organisation, Service)).all()
    for organisation in serving:
        maker.result.providers[organisation.id] = _provider_for(maker, organisation)
    admins = sorted((u for u in maker.users.values() if u.role == "admin" and u.active), key=lambda u: u.username)
    maker.result.admin_id = admins[0].id if admins else maker.get("demo.quantri", "admin", "Quản trị demo")
    if not any(u.role == "supervisor" for u in maker.users.values()):
        maker.get("demo.giamsat", "supervisor", "Giám sát demo", phone="0225 000 0900")
    return maker.result


def _serving_organisations(organisation: Any, service: Any) -> Any:
    """Active organisations with at least one active service, in name order."""
    from sqlalchemy import select

    has_service = select(service.id).where(service.organisation_id == organisation.id, service.status == "active")
    return select(organisation).where(organisation.active.is_(True), has_service.exists()).order_by(
        organisation.name, organisation.id)


def _provider_for(maker: _AccountMaker, organisation: Any) -> str:
    """The organisation's demo provider: one made by an earlier run, else demo.<kind>[n]."""
    mine = sorted(u.username for u in maker.users.values()
                  if u.role == "provider" and u.organisation_id == organisation.id and u.username.startswith("demo."))
    username = mine[0] if mine else None
    if username is None:
        slug = f"demo.{PROVIDER_SLUGS.get(organisation.kind, 'donvi')}"
        username = next(name for name in (slug if n == 1 else f"{slug}{n}" for n in itertools.count(1))
                        if name not in maker.users)
    return maker.get(username, "provider", f"Cán bộ tiếp nhận demo – {organisation.name}", organisation.id,
                     organisation.phone or "0225 000 0000")


def _services(session: Session) -> dict[str, list[_Service]]:
    """Active services of active organisations by need domain, in a stable order (ids are random)."""
    from sqlalchemy import select

    from casework.directory.models import Organisation, Service

    rows = session.execute(
        select(Service.id, Service.organisation_id, Service.need_domain, Service.accept_within_days,
               Service.complete_within_days)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(Service.status == "active", Organisation.active.is_(True))
        .order_by(Service.need_domain, Service.name, Organisation.name)
    ).all()
    found: dict[str, list[_Service]] = {}
    for row in rows:
        if row.need_domain in vocab.NEED_DOMAINS:
            found.setdefault(row.need_domain, []).append(_Service(*row))
    return found


def _already_there(session: Session) -> tuple[set[str], set[str], dict[str, list[tuple[str, str]]]]:
    """Codes in use, and the UICs of clients already registered (a new registration is checked
    against them as the screen checks it)."""
    from sqlalchemy import select

    from casework.clients.models import Client
    from casework.referrals.models import Referral

    cipher = session.info["cipher"]
    display = set(session.scalars(select(Client.display_code)))
    referral = set(session.scalars(select(Referral.code)))
    uics: dict[str, list[tuple[str, str]]] = {}
    for client_id, owner_id, token in session.execute(
            select(Client.id, Client.owner_id, Client.uic_enc).where(Client.uic_enc.is_not(None))):
        uic = cipher.decrypt(token, table="clients", column="uic_enc", row_id=client_id)
        uics.setdefault(uic, []).append((client_id, owner_id))
    return display, referral, uics


def _slot_rate(per_client: float) -> float:
    """The mean number of referral slots to plan for ``per_client`` referrals per client."""
    for (slots_low, made_low), (slots_high, made_high) in itertools.pairwise(SLOTS_FOR_REFERRALS):
        if per_client <= made_high:
            return slots_low + (per_client - made_low) / (made_high - made_low) * (slots_high - slots_low)
    return SLOTS_FOR_REFERRALS[-1][0]


def _caseload_weights(count: int, seed: int) -> list[float]:
    """Uneven caseloads: each within ±20% of the usual one, and with enough collaborators one of
    them carries a hotspot's (HEAVY_CASELOAD)."""
    rng = random.Random(f"{seed}/caseloads")  # noqa: S311  # fictional demo data, not a secret  # nosec B311
    weights = [rng.uniform(0.8, 1.2) for _ in range(count)]
    if count >= HEAVY_CASELOAD_FROM:
        weights[0] = HEAVY_CASELOAD
    return list(itertools.accumulate(weights))


@dataclass
class _Options:
    clients: int
    seed: int
    collaborators: int
    referrals_per_client: float
    now: datetime
    expire_after_days: int


def _prepare(database: Database, info: Session, options: _Options, summary: Summary) -> _World:
    """The directory and the accounts (one committed transaction, dated before the history), then
    everything the stories need to know."""
    offset = clock.LOCAL_ZONE.utcoffset(options.now)
    start_day = (options.now + offset).date() - timedelta(days=HISTORY_DAYS)
    summary.password = "demo-" + _one_time_password()
    setup_day = start_day - timedelta(days=7)  # a week before the first registration, at 09:00 local
    with _clock_at(datetime(setup_day.year, setup_day.month, setup_day.day, 9) - offset), \
            database.transaction() as session:
        summary.directory_loaded = _ensure_directory(session)
        accounts = _make_accounts(session, options.collaborators, summary.password)
        services = _services(session)
        display, referral, uics = _already_there(session)
    _note_accounts(summary, accounts)
    return _world(info, options, accounts, services, (display, referral, uics), offset, start_day)


def _one_time_password() -> str:
    from casework.admin.services import one_time_password

    return one_time_password()


def _ensure_directory(session: Session) -> bool:
    from sqlalchemy import func, select

    from casework.directory.models import Service

    if session.scalar(select(func.count()).select_from(Service)):
        return False
    from casework.directory.demo import load_directory

    load_directory(session)
    return True


def _note_accounts(summary: Summary, accounts: _Accounts) -> None:
    summary.created, summary.reused = accounts.created, accounts.reused
    summary.rows["users"] += len(accounts.created)
    summary.rows["audit_events"] += len(accounts.created)  # admin.user_created, one each
    if not accounts.created:
        summary.password = None


def _world(info: Session, options: _Options, accounts: _Accounts, services: dict[str, list[_Service]],
           taken: tuple[set[str], set[str], dict[str, list[tuple[str, str]]]], offset: timedelta,
           start_day: date) -> _World:
    from casework.audit.chain import canonical_json
    from casework.clients.models import need_flags
    from casework.clients.services import age_band_for
    from casework.clients.storage import uic_index
    from casework.crypto import canonical_uic
    from casework.db import new_id
    from casework.referrals import lifecycle

    return _World(
        seed=options.seed, now=options.now, latest=options.now - timedelta(minutes=1), offset=offset,
        start_day=start_day, total=options.clients,
        referral_rate=_slot_rate(options.referrals_per_client), expire_days=options.expire_after_days,
        owners=[user_id for user_id, _name in accounts.collaborators],
        owner_names=[name for _user_id, name in accounts.collaborators],
        owner_cumulative=_caseload_weights(len(accounts.collaborators), options.seed),
        providers=accounts.providers, admin_id=accounts.admin_id, services=services,
        display_codes=taken[0], referral_codes=taken[1], uics=taken[2], cipher=info.info["cipher"],
        uic_bucket=lambda canonical: uic_index(info, canonical), canonical_uic=canonical_uic,
        band_for=age_band_for, new_id=new_id, details_json=canonical_json, lifecycle=lifecycle,
        need_flags=need_flags,  # what add_assessment keeps with an assessment for the reports
    )


# --- writing ---------------------------------------------------------------------------------------------


def _write_chunk(database: Database, chunk: _Chunk) -> None:
    """One transaction per chunk of clients; each table in executemany batches."""
    from sqlalchemy import insert

    from casework.db import Base, seal_values
    from casework.keyops import sealed_models

    sealed = {model.__tablename__: model for model in sealed_models()}
    with database.transaction() as session:
        _bulk_sqlite(session)
        for name in TABLES:
            rows, table = chunk.rows[name], Base.metadata.tables[name]
            if name in sealed:  # as the ORM would seal them (casework.db)
                rows = [seal_values(database.sealer, sealed[name], row) for row in rows]
            for start in range(0, len(rows), INSERT_BATCH):
                session.execute(insert(table), rows[start:start + INSERT_BATCH])


def _bulk_sqlite(session: Session, *, bulk: bool = True) -> None:
    """Connection settings for bulk inserts on SQLite, and back to SQLite's defaults afterwards.

    Millions of inserts into indexes on random ids (client, referral and audit object ids) touch
    pages all over the file: a bigger page cache keeps them, and checkpointing the write-ahead
    log every 400 MB instead of every 4 MB writes each page once instead of again and again
    (measured: a third faster at 100,000 clients). Both are per connection and fixed in size.
    """
    from sqlalchemy import text

    if session.get_bind().dialect.name == "sqlite":
        cache, wal = (SQLITE_CACHE_KIB, SQLITE_WAL_PAGES) if bulk else SQLITE_DEFAULTS
        session.execute(text(f"PRAGMA cache_size=-{cache}"))
        session.execute(text(f"PRAGMA wal_autocheckpoint={wal}"))


class _AuditSpool:
    """The audit rows of every chunk wait in a scratch database until the whole history is made: the
    chain must grow in time order, and each client's actions span the whole 18 months. They hold ids,
    codes and action names only (what the audit log holds). SQLite's private temporary database (an
    empty file name) is a file it unlinks as soon as it is open: nobody else can open it, and it
    disappears with the connection, even when the run is killed."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode=OFF")  # scratch: nothing to recover after a crash
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE pending (occurred_at TEXT, actor_id TEXT, actor_role TEXT, action TEXT, "
                         "object_type TEXT, object_id TEXT, details TEXT)")
        self.count = 0

    def add(self, events: list[tuple[Any, ...]]) -> None:
        self._db.executemany("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)", events)
        self._db.commit()
        self.count += len(events)

    def in_time_order(self) -> Iterator[tuple[Any, ...]]:
        """Oldest first; equal times keep the order they were made in (rowid), as one request's rows do."""
        self._db.execute("CREATE INDEX pending_time ON pending (occurred_at)")
        cursor = self._db.execute("SELECT occurred_at, actor_id, actor_role, action, object_type, object_id, "
                                  "details FROM pending ORDER BY occurred_at, rowid")
        while batch := cursor.fetchmany(AUDIT_BATCH):
            yield from batch

    def close(self) -> None:
        self._db.close()


def _append_to_chain(database: Database, events: Iterator[tuple[Any, ...]], say: Callable[[str], None]) -> int:
    """Extend the chain exactly as casework.audit.chain does at commit, a batch per transaction, each
    under the chain's lock: the PostgreSQL advisory lock, or SQLite's write lock. The head is read
    again every time, so a row someone else wrote in between is chained."""
    from sqlalchemy import insert

    from casework.audit.chain import _lock, head
    from casework.audit.models import AuditEvent

    written = 0
    for block in _batches(events, AUDIT_BATCH):
        with database.transaction() as session:
            _bulk_sqlite(session)
            _lock(session)
            last_id, last_hash = head(session)
            rows = _chained(block, last_id, last_hash, database.sealer)
            session.execute(insert(AuditEvent.__table__), rows)
            session.info["audit_head"] = (rows[-1]["id"], rows[-1]["hash"])  # recorded after commit
        written += len(block)
        if written % 1_000_000 < AUDIT_BATCH:
            say(f"  audit chain: {written:,} rows appended")
    return written


def _chained(block: list[tuple[Any, ...]], last_id: int, last_hash: str, sealer: Any) -> list[dict[str, Any]]:
    from casework.audit.chain import row_hash

    rows = []
    for occurred_at, actor_id, actor_role, action, object_type, object_id, details in block:
        last_id += 1
        row = {"id": last_id, "occurred_at": occurred_at, "actor_id": actor_id, "actor_role": actor_role,
               "action": action, "object_type": object_type, "object_id": object_id, "details": details,
               "prev_hash": last_hash}
        row["hash"] = last_hash = row_hash(row)
        row["seal"] = sealer.audit(last_hash)
        rows.append(row)
    return rows


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# --- the run ---------------------------------------------------------------------------------------------


def generate(database: Database, *, clients: int, seed: int = 1, collaborators: int | None = None,
             referrals_per_client: float = 3.0, now: datetime | None = None, expire_after_days: int = 14,
             chunk_size: int = CHUNK_CLIENTS, progress: Callable[[str], None] | None = None) -> Summary:
    """Fill ``database`` with ``clients`` fictional clients and their 18 months; returns what was written.

    ``now`` (naive UTC, default casework.clock.utcnow()) is where the history ends; nothing is dated
    after it, and every date counts back from it: the same seed and ``now`` give the same data (the
    command's ``now`` is the moment it runs). ``expire_after_days`` is CASEWORK_REFERRAL_EXPIRE_AFTER_DAYS.
    """
    if clients < 1 or not 0 <= referrals_per_client <= MAX_REFERRALS_PER_CLIENT:
        raise ValueError(f"clients must be at least 1, referrals per client 0–{MAX_REFERRALS_PER_CLIENT}")
    started, say = time.perf_counter(), progress or (lambda _line: None)
    count = collaborators or max(2, round(clients / CLIENTS_PER_COLLABORATOR))
    options = _Options(clients, seed, count, referrals_per_client, now or clock.utcnow(), expire_after_days)
    summary = Summary(seed=seed, clients=clients)
    # Never queried: a session carries the field cipher and the blind indexer (session.info), and the
    # stories encrypt and index through it exactly as the ORM path does.
    info = database.session()
    spool = _AuditSpool()
    try:
        world = _prepare(database, info, options, summary)
        say(f"accounts and directory ready; simulating {clients:,} clients in chunks of {chunk_size:,}")
        _simulate(database, world, spool, summary, chunk_size, say)
        say(f"appending {spool.count:,} audit rows to the chain in time order")
        summary.rows["audit_events"] += _append_to_chain(database, spool.in_time_order(), say)
        with database.transaction() as session:
            _bulk_sqlite(session, bulk=False)
    finally:
        spool.close()
        info.close()
    summary.caseloads = {name: summary.tally("owner").get(name, 0) for name in world.owner_names}
    summary.elapsed = time.perf_counter() - started
    return summary


def _simulate(database: Database, world: _World, spool: _AuditSpool, summary: Summary, chunk_size: int,
              say: Callable[[str], None]) -> None:
    started, total, shown = time.perf_counter(), world.total, 0
    for first in range(0, total, chunk_size):
        chunk = _Chunk()
        for index in range(first, min(first + chunk_size, total)):
            _Story(world, chunk, index).run()
        _write_chunk(database, chunk)
        spool.add(chunk.events)
        for name, rows in chunk.rows.items():
            summary.rows[name] += len(rows)
        summary.facts.update(chunk.facts)
        done = min(first + chunk_size, total)
        if done == total or done * 10 // total > shown:
            shown = done * 10 // total
            say(f"  {done:,}/{total:,} clients written ({done / (time.perf_counter() - started):,.0f} clients/s)")


# --- the command --------------------------------------------------------------------------------------------


@click.command("demo-data")
@click.option("--clients", type=click.IntRange(min=1), required=True, help="how many fictional clients to add")
@click.option("--seed", type=int, default=1, show_default=True,
              help="the same seed gives the same categorical data, dates and assignments")
@click.option("--collaborators", type=click.IntRange(min=1), default=None,
              help="collaborator accounts demo.ctv001… (default: one per 500 clients, at least 2)")
@click.option("--referrals-per-client", type=click.FloatRange(min=0, max=MAX_REFERRALS_PER_CLIENT), default=3.0,
              show_default=True, help="average number of referrals per client")
@click.pass_context
def demo_data_command(ctx: click.Context, clients: int, seed: int, collaborators: int | None,
                      referrals_per_client: float) -> None:
    """Development/demo: add fictional clients, referrals and their audit trail, encrypted like real data."""
    from casework.cli import _database  # the command module imports this one: import it late

    settings = ctx.obj["settings"]
    if settings.mode == "production":
        raise ConfigError("demo-data is for development and demo mode only; it refuses CASEWORK_MODE=production")
    _keyring, database = _database(settings, check_schema=True, check_index=True)
    try:
        summary = generate(database, clients=clients, seed=seed, collaborators=collaborators,
                           referrals_per_client=referrals_per_client,
                           expire_after_days=settings.referral_expire_after_days, progress=click.echo)
    finally:
        database.dispose()
    _print_summary(summary)


def _print_summary(summary: Summary) -> None:
    rows = summary.rows
    click.echo(f"added {summary.clients:,} fictional clients (seed {summary.seed}) in {summary.elapsed:,.1f} s: "
               f"{summary.clients / summary.elapsed:,.0f} clients/s, {sum(rows.values()):,} rows")
    click.echo("  rows: " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    if summary.directory_loaded:
        click.echo("  the database had no services: loaded the demo directory (casework.directory.demo)")
    ind = summary.tally("indicator")
    referred, completed = ind.get("referred", 0), ind.get("completed", 0)
    click.echo(f"  over the whole history: {ind.get('reached', 0):,} reached, "
               f"{ind.get('eligible_with_need', 0):,} assessed eligible with a need, {referred:,} of them referred, "
               f"{completed:,} with a completed referral "
               f"({100 * completed / max(referred, 1):.0f}% of those referred)")
    click.echo("  referrals by status: " + ", ".join(f"{k} {n:,}" for k, n in summary.tally("referral_status").items()))
    _print_accounts(summary)


def _print_accounts(summary: Summary) -> None:
    if summary.created:
        click.echo(f"demo accounts created (development only; the same password for each: {summary.password}):")
        collaborators = [name for name, role in summary.created if role == "collaborator"]
        loads = summary.caseloads
        if collaborators:
            sizes = sorted(loads.get(name, 0) for name in collaborators)
            click.echo(f"  {collaborators[0]} … {collaborators[-1]}  collaborator  ({len(collaborators)} accounts, "
                       f"{sizes[0]:,}–{sizes[-1]:,} clients each)" if len(collaborators) > 1
                       else f"  {collaborators[0]}  collaborator  ({sizes[0]:,} clients)")
        for name, role in summary.created:
            if role != "collaborator":
                click.echo(f"  {name:<20} {role}")
    if summary.reused:
        click.echo(f"reused {len(summary.reused)} demo account(s) of an earlier run (their password is unchanged)")
    click.echo("no second factor is enrolled: casework asks for one at first sign-in, unless it runs with "
               "CASEWORK_REQUIRE_2FA=false (development and demo mode only)")
