"""Parents linked to the learners they follow: by import, by an admin, or by a pairing code."""
