"""``tajiconnect operators reset-2fa EMAIL``: the real command against the test database."""

from __future__ import annotations

import datetime
import uuid

from tajiconnect.domains.accounts import totp
from tests.cli import test_cli
from tests.cli.test_cli import cli, error_line, query

cli_env = test_cli.cli_env  # the CLI tests' environment fixture, for this module

PASSWORD = "copper-meadow-lantern-eleven"


def test_reset_2fa_clears_the_second_factor_and_ends_the_sessions(cli_env, database_url):
    email = f"reset.{uuid.uuid4().hex[:8]}@taji.example"
    cli(cli_env, "operators", "create", email, "--name", "Reset", "--password", PASSWORD)
    [(operator_id,)] = query(database_url, "SELECT id FROM platform_operators WHERE email = %s", email)
    now = datetime.datetime.now(datetime.UTC)
    query(database_url, "UPDATE platform_operators SET totp_secret = %s, totp_enabled_at = %s, totp_last_step = 1 "
          "WHERE id = %s RETURNING id", totp.new_secret(), now, operator_id)
    for code in totp.new_recovery_codes(3):
        query(database_url, "INSERT INTO operator_recovery_codes (id, operator_id, code_hash, created_at, updated_at) "
              "VALUES (%s, %s, %s, now(), now()) RETURNING id", uuid.uuid4(), operator_id, totp.recovery_hash(code))
    query(database_url, "INSERT INTO operator_sessions (id_hash, public_id, stage, created_at, last_seen_at, "
          "expires_at, user_id, data) VALUES (%s, %s, 'full', now(), now(), now() + interval '1 day', %s, '{}') "
          "RETURNING id_hash", uuid.uuid4().hex, uuid.uuid4().hex[:22], operator_id)

    done = cli(cli_env, "operators", "reset-2fa", email.upper())
    assert f"two-step verification reset for operator {email}" in done.stdout
    assert query(database_url, "SELECT totp_secret, totp_enabled_at, totp_last_step FROM platform_operators "
                 "WHERE id = %s", operator_id) == [(None, None, None)]
    assert query(database_url, "SELECT count(*) FROM operator_recovery_codes WHERE operator_id = %s",
                 operator_id) == [(0,)]
    assert query(database_url, "SELECT count(*) FROM operator_sessions WHERE user_id = %s", operator_id) == [(0,)]
    assert query(database_url, "SELECT actor_email, target_type, target_id FROM platform_audit_log "
                 "WHERE action = 'platform.mfa.reset' AND subject_email = %s", email) == [
        ("system", "operator", str(operator_id))
    ]


def test_reset_2fa_of_an_unknown_email_is_one_error_line(cli_env):
    refused = cli(cli_env, "operators", "reset-2fa", "nobody-here@taji.example", code=1)
    assert error_line(refused) == "Error: no operator with email 'nobody-here@taji.example'"
