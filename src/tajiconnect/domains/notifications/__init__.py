"""Notifications: one service, channels in the app, by email and by SMS, per-user preferences and quiet hours."""
