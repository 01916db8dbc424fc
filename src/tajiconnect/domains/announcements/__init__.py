"""Announcements: tenant-wide, per group, per course; scheduled publishing; delivery through notify()."""
