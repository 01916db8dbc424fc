"""Careers: career pathways (roles and the skills they require), gap analysis, and what closes a gap."""
