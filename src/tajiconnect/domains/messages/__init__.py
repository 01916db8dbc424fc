"""Messages: direct and class conversations, attachments, unread counts, live delivery, reports."""
