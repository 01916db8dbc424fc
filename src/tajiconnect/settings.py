"""Settings, read once from the environment.

Secrets are wrapped in :class:`Secret` so that printing or logging the settings never shows them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Secret:
    """A string that never shows itself in ``repr``/``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


class SettingsError(ValueError):
    """A setting in the environment is malformed."""


MIB = 1024 * 1024
#: Default upper size of one file, per purpose (bytes); ``TAJI_STORAGE_MAX_MB_<PURPOSE>`` overrides each.
DEFAULT_SIZE_LIMITS: dict[str, int] = {
    "avatar": 5 * MIB,
    "cover": 5 * MIB,
    "image": 10 * MIB,
    "document": 50 * MIB,
    "attachment": 50 * MIB,
    "report": 500 * MIB,
    "certificate": 20 * MIB,
    "video": 2048 * MIB,
}


@dataclass(frozen=True)
class StorageSettings:
    """Where files live: S3 when ``bucket`` is set, else the local directory ``directory``.

    S3 credentials are never settings: boto3 finds them in its own chain (``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance roles...), so they are neither stored here nor logged.
    """

    directory: Path = PROJECT_ROOT / "var" / "storage"
    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    url_seconds: int = 900
    part_size: int = 8 * MIB
    size_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SIZE_LIMITS))

    @property
    def backend(self) -> str:
        return "s3" if self.bucket else "local"

    @property
    def s3_origin(self) -> str | None:
        """``scheme://host[:port]`` the browser talks to for S3 (CSP ``connect-src``/``img-src``/``media-src``)."""
        if not self.bucket:
            return None
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            return f"{parts.scheme}://{parts.netloc}"
        region = self.region or "us-east-1"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com"


def load_storage_settings() -> StorageSettings:
    limits = dict(DEFAULT_SIZE_LIMITS)
    for purpose in limits:
        limits[purpose] = _int(f"TAJI_STORAGE_MAX_MB_{purpose.upper()}", limits[purpose] // MIB) * MIB
        if limits[purpose] <= 0:
            raise SettingsError(f"TAJI_STORAGE_MAX_MB_{purpose.upper()} must be positive")
    part_size = _int("TAJI_STORAGE_PART_MB", 8) * MIB
    if not 5 * MIB <= part_size <= 64 * MIB:
        raise SettingsError("TAJI_STORAGE_PART_MB must be between 5 and 64 (S3 needs parts of at least 5 MiB)")
    url_seconds = _int("TAJI_STORAGE_URL_SECONDS", 900)
    if not 30 <= url_seconds <= 7 * 24 * 3600:
        raise SettingsError("TAJI_STORAGE_URL_SECONDS must be between 30 and 604800")
    endpoint = (os.environ.get("S3_ENDPOINT_URL") or "").strip() or None
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise SettingsError("S3_ENDPOINT_URL must be an http:// or https:// URL")
    return StorageSettings(
        directory=Path(os.environ.get("TAJI_STORAGE_DIR") or PROJECT_ROOT / "var" / "storage"),
        bucket=(os.environ.get("S3_BUCKET") or "").strip() or None,
        endpoint_url=endpoint,
        region=(os.environ.get("S3_REGION") or "").strip() or None,
        url_seconds=url_seconds,
        part_size=part_size,
        size_limits=limits,
    )


@dataclass(frozen=True)
class BillingSettings:
    """Stripe and the rules around it. Without ``api_key`` billing is "not configured": operators set seats by
    hand and the billing pages say so. ``api_base`` replaces Stripe's API address (a local fake in tests)."""

    api_key: Secret | None = None
    webhook_secret: Secret | None = None
    api_base: str | None = None
    #: A signed webhook older than this is refused (replayed or stale).
    webhook_tolerance_seconds: int = 300
    trial_days: int = 30
    #: Days a tenant stays fully usable after a failed payment, before it becomes read-only.
    grace_days: int = 7
    #: Days a cancelled tenant's data is kept before an operator may export and delete it.
    retention_days: int = 90
    #: Proof-of-work difficulty of the sign-up form (leading zero bits of a SHA-256).
    signup_pow_bits: int = 18
    #: Sign-ups allowed per client address per hour.
    signups_per_hour: int = 5

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


def load_billing_settings() -> BillingSettings:
    api_key = (os.environ.get("STRIPE_API_KEY") or "").strip()
    webhook_secret = (os.environ.get("STRIPE_WEBHOOK_SECRET") or "").strip()
    api_base = (os.environ.get("STRIPE_API_BASE") or "").strip().rstrip("/") or None
    if api_base and urlsplit(api_base).scheme not in ("http", "https"):
        raise SettingsError("STRIPE_API_BASE must be an http:// or https:// URL")
    values = {
        "trial_days": _int("TAJI_TRIAL_DAYS", 30),
        "grace_days": _int("TAJI_BILLING_GRACE_DAYS", 7),
        "retention_days": _int("TAJI_RETENTION_DAYS", 90),
        "signup_pow_bits": _int("TAJI_SIGNUP_POW_BITS", 18),
        "signups_per_hour": _int("TAJI_SIGNUPS_PER_HOUR", 5),
    }
    limits = {"trial_days": (1, 365), "grace_days": (0, 90), "retention_days": (0, 3650),
              "signup_pow_bits": (0, 28), "signups_per_hour": (1, 10_000)}
    for name, (low, high) in limits.items():
        if not low <= values[name] <= high:
            env = {"trial_days": "TAJI_TRIAL_DAYS", "grace_days": "TAJI_BILLING_GRACE_DAYS",
                   "retention_days": "TAJI_RETENTION_DAYS", "signup_pow_bits": "TAJI_SIGNUP_POW_BITS",
                   "signups_per_hour": "TAJI_SIGNUPS_PER_HOUR"}[name]
            raise SettingsError(f"{env} must be between {low} and {high}")
    return BillingSettings(
        api_key=Secret(api_key) if api_key else None,
        webhook_secret=Secret(webhook_secret) if webhook_secret else None,
        api_base=api_base,
        **values,
    )


@dataclass(frozen=True)
class Settings:
    database_url: Secret
    redis_url: Secret | None
    base_domain: str
    secret_key: Secret
    debug: bool
    data_dir: Path
    smtp_url: Secret | None
    mail_from: str
    secure_cookies: bool
    log_json: bool
    log_level: str
    db_pool_size: int
    tenant_cache_seconds: float
    queue_name: str = "tajiconnect"
    public_scheme: str = "http"
    public_port: int = 8000
    storage: StorageSettings = field(default_factory=StorageSettings)
    #: Replaces the SMS provider's API base URL (a local stand-in in tests; domains/notifications/sms.py).
    sms_api_url: str | None = None
    billing: BillingSettings = field(default_factory=BillingSettings)
    #: Jobs wait for an operator's approval before they are public (``TAJI_JOB_REVIEW``, on unless set to 0).
    job_review: bool = True

    def public_origin(self, host: str) -> str:
        """``scheme://host[:port]`` for a host name of ours: absolute links come from here, never from a request."""
        default = {"http": 80, "https": 443}[self.public_scheme]
        return f"{self.public_scheme}://{host}" + ("" if self.public_port == default else f":{self.public_port}")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in the form SQLAlchemy wants (psycopg 3 driver)."""
        return to_sqlalchemy_url(self.database_url.get())

    @property
    def libpq_url(self) -> str:
        """The database URL in the plain ``postgresql://`` form libpq and psycopg accept."""
        return to_libpq_url(self.database_url.get())


def to_sqlalchemy_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        return f"postgresql+psycopg://{rest}"
    raise SettingsError("DATABASE_URL must be a postgresql:// URL")


def to_libpq_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        return f"postgresql://{rest}"
    raise SettingsError("DATABASE_URL must be a postgresql:// URL")


def load_settings() -> Settings:
    """Build settings from the environment (no caching; see :func:`get_settings`)."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        raise SettingsError("DATABASE_URL is not set (the CLI starts an embedded PostgreSQL when it is missing)")
    to_sqlalchemy_url(database_url)  # validates the scheme
    debug = _bool("TAJI_DEBUG", False)
    secret_key = os.environ.get("TAJI_SECRET_KEY", "")
    if not secret_key:
        if not debug and _bool("TAJI_REQUIRE_SECRET_KEY", False):
            raise SettingsError("TAJI_SECRET_KEY must be set in production")
        # A per-process random key: sessions do not survive a restart, which is the safe failure.
        secret_key = secrets.token_urlsafe(48)
    redis_url = os.environ.get("REDIS_URL") or None
    smtp_url = os.environ.get("SMTP_URL") or None
    public_scheme = (os.environ.get("TAJI_PUBLIC_SCHEME") or "http").strip().lower()
    if public_scheme not in ("http", "https"):
        raise SettingsError(f"TAJI_PUBLIC_SCHEME must be http or https, got {public_scheme!r}")
    public_port = _int("TAJI_PUBLIC_PORT", 443 if public_scheme == "https" else 8000)
    if not 1 <= public_port <= 65535:
        raise SettingsError(f"TAJI_PUBLIC_PORT must be between 1 and 65535, got {public_port}")
    return Settings(
        database_url=Secret(database_url),
        redis_url=Secret(redis_url) if redis_url else None,
        base_domain=os.environ.get("TAJI_BASE_DOMAIN", "localhost").strip().lower().rstrip("."),
        secret_key=Secret(secret_key),
        debug=debug,
        data_dir=Path(os.environ.get("TAJI_DATA_DIR", str(PROJECT_ROOT / ".data"))),
        smtp_url=Secret(smtp_url) if smtp_url else None,
        mail_from=os.environ.get("TAJI_MAIL_FROM", "no-reply@tajiconnect.localhost"),
        secure_cookies=_bool("TAJI_SECURE_COOKIES", True),
        log_json=_bool("TAJI_LOG_JSON", False),
        log_level=os.environ.get("TAJI_LOG_LEVEL", "INFO").upper(),
        db_pool_size=_int("TAJI_DB_POOL_SIZE", 10),
        tenant_cache_seconds=_float("TAJI_TENANT_CACHE_SECONDS", 5.0),
        queue_name=os.environ.get("TAJI_QUEUE_NAME", "tajiconnect"),
        public_scheme=public_scheme,
        public_port=public_port,
        storage=load_storage_settings(),
        sms_api_url=(os.environ.get("TAJI_SMS_API_URL") or "").strip() or None,
        billing=load_billing_settings(),
        job_review=_bool("TAJI_JOB_REVIEW", True),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
