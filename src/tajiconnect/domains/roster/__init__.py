"""Bulk roster import (CSV/XLSX from this product or another LMS) and roster export."""
