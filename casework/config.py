"""Configuration: built-in defaults, then an optional instance file, then
``CASEWORK_*`` environment variables (later wins).

Modes: ``development`` and ``demo`` may use the example keyring and may
switch the second factor off; ``production`` may not.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from casework.errors import ConfigError

MODES = ("development", "demo", "production")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_instance() -> Path:
    return Path(os.environ.get("CASEWORK_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


@dataclass
class Settings:
    """Every setting casework reads. Environment names are ``CASEWORK_`` + upper-case name."""

    mode: str = "development"
    instance_path: Path = field(default_factory=_default_instance)
    database_url: str = ""
    keys_dir: Path | None = None
    # Where the newest audit row's id and hash are recorded after each commit (outside the database).
    audit_checkpoint: Path | None = None
    # Blind index width in bits (docs/DESIGN.md §3): for R rows keep 2 <= R/2^L < sqrt(R).
    blind_index_bits: int = 10
    # The UIC's parts: how many letters of each parent's given name, and the sex codes (comma-separated).
    uic_name_letters: int = 2
    uic_sex_codes: str = "N,A,K"
    programme_public_name: str = "Chương trình hỗ trợ cộng đồng"
    session_idle_minutes: int = 15
    session_absolute_hours: int = 12
    require_2fa: bool = True
    ratelimit_storage_uri: str = "memory://"
    login_rate_limit: str = "20 per minute"
    max_content_length: int = 1024 * 1024
    retention_years: int = 5
    referral_expire_after_days: int = 14
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    https: bool = False
    # Reverse proxies in front of casework whose X-Forwarded-For/-Proto are trusted (0: none).
    proxy_count: int = 0
    # Host names casework answers to, comma-separated (empty: any); another Host header gets 400.
    trusted_hosts: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    # Serving processes (`casework serve`); 0: one per core when rate limits are shared (Redis), else one.
    workers: int = 0
    indicator_target_percent: int = 80
    # One computation of a year's report figures is shown for this long (0: recount on every view).
    report_max_age_minutes: int = 10
    # The printed report's header (a Vietnamese administrative report) and the plan it reports on.
    report_authority: str = "UBND PHƯỜNG TÂN HƯNG"
    report_office: str = "PHÒNG VĂN HÓA - XÃ HỘI"
    report_place: str = "Tân Hưng"
    report_plan_reference: str = "Kế hoạch số 202/KH-UBND ngày 29/5/2026 của UBND phường Tân Hưng"
    report_plan_title: str = "triển khai thực hiện Chương trình giai đoạn 2026-2030 trên địa bàn phường"
    # DHIS2 / ADX exports: the organisation unit's code, and a mapping file replacing the bundled codes.
    dhis2_org_unit: str = "TAN_HUNG_WARD"
    dhis2_mapping: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"CASEWORK_MODE must be one of {', '.join(MODES)} (got {self.mode!r})")
        self.instance_path = Path(self.instance_path)
        if self.keys_dir is None:
            self.keys_dir = self.instance_path / "keys"
        self.keys_dir = Path(self.keys_dir)
        if self.audit_checkpoint is None:
            self.audit_checkpoint = self.instance_path / "audit-head.json"
        self.audit_checkpoint = Path(self.audit_checkpoint)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.instance_path / 'casework.sqlite3'}"
        if self.mode == "production" and not self.require_2fa:
            raise ConfigError("CASEWORK_REQUIRE_2FA cannot be switched off in production mode")
        if not 0 <= self.workers <= 64:
            raise ConfigError("CASEWORK_WORKERS must be between 0 (automatic) and 64")
        if not 1 <= self.uic_name_letters <= 4:
            raise ConfigError("CASEWORK_UIC_NAME_LETTERS must be between 1 and 4")
        if not self.uic_sex_code_list or any(not (c.isascii() and c.isalpha() and len(c) <= 2)
                                             for c in self.uic_sex_code_list):
            raise ConfigError("CASEWORK_UIC_SEX_CODES must list one- or two-letter codes, e.g. N,A,K")
        if not 4 <= self.blind_index_bits <= 32:
            raise ConfigError("CASEWORK_BLIND_INDEX_BITS must be between 4 and 32")
        if self.report_max_age_minutes < 0:
            raise ConfigError("CASEWORK_REPORT_MAX_AGE_MINUTES cannot be negative")
        if not 1 <= self.indicator_target_percent <= 100:
            raise ConfigError("CASEWORK_INDICATOR_TARGET_PERCENT must be between 1 and 100")
        if self.dhis2_mapping and not Path(self.dhis2_mapping).is_file():
            raise ConfigError(f"CASEWORK_DHIS2_MAPPING names no readable file ({self.dhis2_mapping})")

    @property
    def worker_count(self) -> int:
        if self.workers > 0:
            return self.workers
        shared_limits = not self.ratelimit_storage_uri.startswith("memory://")
        return max(1, min(os.cpu_count() or 1, 8)) if shared_limits else 1

    @property
    def uic_sex_code_list(self) -> list[str]:
        return [c.strip().upper() for c in self.uic_sex_codes.split(",") if c.strip()]

    @property
    def trusted_host_list(self) -> list[str]:
        return [h.strip() for h in self.trusted_hosts.split(",") if h.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allows_example_keys(self) -> bool:
        return self.mode in ("development", "demo")


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if isinstance(raw, str):
        text = raw.strip()
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"CASEWORK_{name.upper()} must be true or false (got {raw!r})")
        if kind is int:
            try:
                return int(text)
            except ValueError:
                raise ConfigError(f"CASEWORK_{name.upper()} must be a whole number") from None
    return raw


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the instance file ``casework.toml`` and the environment."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    instance = Path(env.get("CASEWORK_INSTANCE_PATH", _default_instance()))
    config_file = Path(env.get("CASEWORK_CONFIG", instance / "casework.toml"))
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"CASEWORK_CONFIG file {config_file} is not valid TOML: {exc}") from None
    for f in fields(Settings):
        key = f"CASEWORK_{f.name.upper()}"
        if key in env:
            values[f.name] = env[key]
    values.update(overrides)
    unknown = set(values) - {f.name for f in fields(Settings)}
    if unknown:
        raise ConfigError(f"unknown setting(s) in {config_file}: {', '.join(sorted(unknown))}")
    for f in fields(Settings):
        if f.name in values and f.type in ("bool", "int"):
            values[f.name] = _coerce(f.name, values[f.name], bool if f.type == "bool" else int)
    return Settings(**values)
