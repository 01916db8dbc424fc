"""API-wide tests reuse the accounts fixtures (organizations with a signed-up admin, clients)."""

from tests.integration.conftest import browser, new_org, org, signed_in  # noqa: F401 (fixtures)
