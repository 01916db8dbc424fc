"""Résumés: a learner's résumé built from their profile, certificates and skills plus what they write; PDFs in three
layouts, a private share link, and reviews by teachers and career advisers."""
