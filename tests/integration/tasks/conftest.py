"""Fixtures of the background-task tests: the operator signed in on the apex, as the operators' console tests
have it (one operator and one sign-in per module)."""

from tests.integration.platform.test_operator_console import as_operator, operator  # noqa: F401 - fixtures
