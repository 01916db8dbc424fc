"""Progress: lesson completion, time spent, video resume, streaks, and the completion outbox."""
