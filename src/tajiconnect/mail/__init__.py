"""Outgoing email: rendering in the tenant's name and locale, delivery over SMTP or to a local mail log."""
