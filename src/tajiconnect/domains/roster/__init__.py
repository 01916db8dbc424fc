"""Bulk roster import (CSV/XLSX from this product or another LMS) and roster export.

``files`` turns uploaded bytes into a :class:`~tajiconnect.domains.roster.files.Table`; ``formats`` recognizes
the columns and turns rows into validated :class:`~tajiconnect.domains.roster.formats.RosterRow` objects. Both are
pure (no database): the import service decides what is new, updated or over the seat limit.
"""
