"""Certificates: a PDF per completed course or learning path, verifiable by its code, revocable by admins."""
