"""Skills: the taxonomy, what builds each skill, and learners' evidenced skills (docs/skills.md)."""
