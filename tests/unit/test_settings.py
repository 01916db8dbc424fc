"""Settings from the environment: secrets stay hidden, URLs are validated, defaults are sane."""

from __future__ import annotations

import pytest

from tajiconnect.settings import Secret, SettingsError, load_settings, redact_url

DB_PASSWORD = "s3cr3t-db-pw"
SECRET_KEY = "very-secret-signing-key-123"


@pytest.fixture
def env(monkeypatch):
    """A clean, minimal environment for ``load_settings``."""
    for name in ("REDIS_URL", "SMTP_URL", "TAJI_BASE_DOMAIN", "TAJI_DEBUG", "TAJI_REQUIRE_SECRET_KEY",
                 "TAJI_DB_POOL_SIZE", "TAJI_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://taji:{DB_PASSWORD}@db.internal:5432/taji")
    monkeypatch.setenv("TAJI_SECRET_KEY", SECRET_KEY)
    return monkeypatch


def test_secret_never_shows_its_value():
    secret = Secret("hunter2-hunter2")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr({"k": secret})):
        assert "hunter2" not in shown
    assert secret.get() == "hunter2-hunter2"
    assert secret and not Secret("")


def test_settings_repr_hides_every_secret(env):
    env.setenv("REDIS_URL", "redis://:redis-pw-xyz@cache:6379/0")
    env.setenv("SMTP_URL", "smtp://mailer:smtp-pw-xyz@mail:587")
    settings = load_settings()
    shown = repr(settings) + str(settings)
    for secret in (DB_PASSWORD, SECRET_KEY, "redis-pw-xyz", "smtp-pw-xyz"):
        assert secret not in shown
    assert settings.database_url.get().endswith("/taji")


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("postgresql://user:pa55word@host:5432/db", "pa55word"),
        ("redis://:only-pw@cache:6379/0", "only-pw"),
        ("postgresql://user:p%40ss@host/db", "p%40ss"),
    ],
)
def test_redact_url_hides_the_password(url, hidden):
    redacted = redact_url(url)
    assert hidden not in redacted
    assert "****" in redacted
    assert redacted.split("@", 1)[1] == url.split("@", 1)[1]  # host and path kept


def test_redact_url_leaves_urls_without_password_alone():
    assert redact_url("postgresql://user@host/db") == "postgresql://user@host/db"
    assert redact_url("postgresql:///db?host=/tmp") == "postgresql:///db?host=/tmp"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_urls_are_accepted_and_converted(env, scheme):
    env.setenv("DATABASE_URL", f"{scheme}://u:pw@h:5432/d")
    settings = load_settings()
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:pw@h:5432/d"
    assert settings.libpq_url == "postgresql://u:pw@h:5432/d"


@pytest.mark.parametrize("url", ["mysql://u:pw@h/d", "mariadb://u@h/taji", "postgresql+asyncpg://u@h/d", "h/d"])
def test_other_databases_are_refused(env, url):
    env.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError, match="postgresql://"):
        load_settings()


def test_missing_database_url_is_refused(env):
    env.delenv("DATABASE_URL")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings()


def test_defaults(env):
    settings = load_settings()
    assert settings.base_domain == "localhost"
    assert settings.redis_url is None
    assert settings.smtp_url is None
    assert settings.debug is False
    assert settings.secure_cookies is True
    assert settings.db_pool_size == 10


def test_base_domain_is_normalized(env):
    env.setenv("TAJI_BASE_DOMAIN", " Taji.Example.COM. ")
    assert load_settings().base_domain == "taji.example.com"


def test_malformed_number_is_a_settings_error(env):
    env.setenv("TAJI_DB_POOL_SIZE", "lots")
    with pytest.raises(SettingsError, match="TAJI_DB_POOL_SIZE"):
        load_settings()


def test_missing_secret_key_gets_a_random_one_unless_required(env):
    env.delenv("TAJI_SECRET_KEY")
    first, second = load_settings().secret_key.get(), load_settings().secret_key.get()
    assert len(first) >= 32 and first != second
    env.setenv("TAJI_REQUIRE_SECRET_KEY", "1")
    with pytest.raises(SettingsError, match="TAJI_SECRET_KEY"):
        load_settings()
