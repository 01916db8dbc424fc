"""Live classes: scheduled sessions with a meeting link, reminders, attendance, and the calendar feed."""
