"""Enrollment: learners in courses (by themselves, by assignment to them or their team/class, through a path)."""
