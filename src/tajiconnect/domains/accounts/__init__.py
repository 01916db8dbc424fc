"""Accounts: users of a tenant, their roles, passwords and sign-in."""
