"""Settings from the environment (and an optional ``.env``), listed in the README.

Defaults are the embedded set-up of ``make run``: SQLite under ``var/``, the
in-process Redis substitute and the WeChat sandbox served by this same process.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    #: ``sqlite://var/zone.sqlite3`` or ``postgres://user@host:5432/db``.
    database_url: str = "sqlite://var/zone.sqlite3"
    #: ``memory://`` is the in-process substitute (one process only); otherwise ``redis://``.
    redis_url: str = "memory://"
    redis_prefix: str = "sz"
    #: Run the delivery worker and the scheduler inside the API process (embedded mode).
    run_background: bool = True

    wechat_mode: Literal["sandbox", "live"] = "sandbox"
    #: Where the gateway sends WeChat API calls. Empty: the official host in live mode,
    #: this server's own ``/wechat-sandbox`` in sandbox mode.
    wechat_api_base: str = ""
    wechat_appid: str = "wxsandboxminiapp01"
    wechat_secret: SecretStr = SecretStr("sandbox-secret")
    wechat_mp_appid: str = "wxsandboxofficial1"
    wechat_mp_secret: SecretStr = SecretStr("sandbox-mp-secret")
    wechat_token: SecretStr = SecretStr("sandbox-callback-token")
    #: 43-character EncodingAESKey; when set, callbacks use safe (AES) mode.
    wechat_aes_key: SecretStr | None = None

    #: Subscribe-message templates (mini-program) and template-message templates
    #: (official account) for policy pushes and case-critical notices.
    wechat_policy_template_id: str = "sandbox-tpl-policy"
    wechat_notice_template_id: str = "sandbox-tpl-notice"
    wechat_mp_policy_template_id: str = "sandbox-mp-tpl-policy"
    wechat_mp_notice_template_id: str = "sandbox-mp-tpl-notice"
    #: ``miniprogram_state`` of subscribe messages: developer | trial | formal.
    wechat_miniprogram_state: Literal["developer", "trial", "formal"] = "formal"
    #: Sends per second for the whole deployment (all workers share one Redis bucket).
    wechat_send_rate: float = Field(default=50.0, gt=0)
    #: Delivery outbox: attempts per delivery, retry backoff, how long a claimed
    #: delivery may stay "sending" before the sweeper hands it out again.
    delivery_max_attempts: int = Field(default=6, ge=1, le=20)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_claim_timeout_seconds: float = Field(default=120.0, gt=0)
    delivery_batch_size: int = Field(default=200, ge=1, le=1000)
    delivery_concurrency: int = Field(default=64, ge=1, le=1000)
    #: Local time (Asia/Shanghai) of the daily policy digest.
    digest_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    #: Working days to answer, unless a department or service item sets its own
    #: (``deadline_rule``): consultations 3, suggestions and complaints 13.
    consultation_days: int = Field(default=3, ge=1, le=60)
    feedback_days: int = Field(default=13, ge=1, le=60)
    #: Working days a department has to close a rectification (整改).
    rectification_days: int = Field(default=5, ge=1, le=60)
    #: Working days for the call-back (回访) after a case closes.
    callback_days: int = Field(default=3, ge=1, le=30)
    #: Longest question or reply, in characters, and cases one user may open per hour.
    consultation_max_chars: int = Field(default=2000, ge=50, le=20000)
    consultation_rate_per_hour: int = Field(default=20, ge=1, le=10000)
    #: PostgreSQL intake group commit (services/consultations/group_write.py): writes out
    #: at once before new cases queue, and the most cases one statement carries.
    intake_writes_in_flight: int = Field(default=1, ge=1, le=64)
    intake_group_max: int = Field(default=24, ge=1, le=32)

    #: Key for encrypting personal fields at rest (any length; it is stretched).
    field_encryption_key: SecretStr = SecretStr("dev-only-field-key-change-me")
    staff_idle_minutes: int = 30
    wechat_session_days: int = 7
    login_max_failures: int = 5
    login_lock_minutes: int = 30
    audit_retention_days: int = Field(default=1095, ge=180)
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 10_485_760
    log_level: str = "INFO"
    #: Seed demo data on ``serve`` when the database is empty (embedded mode).
    seed_demo: bool = False
    #: Keep the insights dashboard's results in Redis (facts until the next rollup, today's
    #: live read for a minute, clusters and bundles for 10 minutes). ``off`` computes every
    #: call afresh: for measuring uncached figures, not for production.
    insights_cache: bool = True

    @field_validator("database_url")
    @classmethod
    def _normalise_db_url(cls, v: str) -> str:
        # tortoise knows ``postgres://``; accept the libpq spelling too.
        if v.startswith("postgresql://"):
            return "postgres://" + v.removeprefix("postgresql://")
        return v

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "asyncpg://"))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wechat_base(self) -> str:
        if self.wechat_api_base:
            return self.wechat_api_base.rstrip("/")
        if self.wechat_mode == "live":
            return "https://api.weixin.qq.com"
        return f"{self.base_url}/wechat-sandbox"
