"""The teacher's home and the manager's home (``/`` for those roles; see ``docs/homes.md``)."""
