"""Who is related to whom in an organization: a learner's teachers and classmates, a teacher's learners, a
parent's children (``relations.py``). Portals, messages and announcements decide who sees and reaches whom
from these rules only."""
