"""The operator sign-in fixtures of ``test_operator_console.py`` (``operator``, ``as_operator``) for every module of
the operators' console tests: one sign-in helper, wherever it changes."""

from tests.integration.platform.test_operator_console import as_operator, operator  # noqa: F401
