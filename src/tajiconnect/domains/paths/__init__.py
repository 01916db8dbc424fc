"""Learning paths: ordered courses grouped into stages, assigned with due dates, with path progress."""
