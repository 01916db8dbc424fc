"""What members are notified about: each category, its label, the channels it uses unless the member chose
otherwise, and whether it is urgent (never gathered in the daily digest nor held by quiet hours... for email;
SMS always respects quiet hours)."""

from __future__ import annotations

from dataclasses import dataclass

from tajiconnect.i18n import N_


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # a msgid (N_): translate with _() where shown
    defaults: tuple[str, ...]  # channels among ("app", "email", "sms")
    urgent: bool = False
    #: An email template of its own (``templates/email/<name>.*``, rendered from the notification's ``data``),
    #: instead of ``notification``; such an email is a digest itself, never gathered in the daily digest.
    email_template: str | None = None


CATEGORIES: dict[str, Category] = {c.name: c for c in (
    Category("invitation", N_("Invitations"), ("app", "email"), urgent=True),
    Category("enrollment", N_("New courses and learning paths for me"), ("app", "email")),
    Category("due_soon", N_("Work due soon"), ("app", "email")),
    Category("overdue", N_("Overdue work"), ("app", "email")),
    Category("graded", N_("Grades and feedback"), ("app", "email")),
    Category("certificate_issued", N_("Certificates"), ("app", "email")),
    Category("import_finished", N_("Imports finished"), ("app", "email")),
    Category("report_ready", N_("Reports ready"), ("app", "email")),
    Category("seats_low", N_("Seats nearly used up"), ("app", "email"), urgent=True),
    Category("child_linked", N_("A child linked to my account"), ("app", "email")),
    Category("billing", N_("Billing and payments of the organization"), ("app", "email"), urgent=True),
    Category("nudge", N_("Reminders from my manager about overdue training"), ("app", "email")),
    Category("announcement", N_("Announcements"), ("app", "email")),
    Category("weekly_digest", N_("Weekly summary of my children's learning"), ("email",),
             email_template="weekly_digest"),
    Category("message", N_("New messages"), ("app", "email")),
    Category("discussion", N_("Course discussions: replies and mentions"), ("app", "email")),
    Category("learning_request", N_("Requests to take a course or learning path, and the answers"),
             ("app", "email")),
    Category("resume_review", N_("Résumé reviews: requests and comments"), ("app", "email")),
    Category("job_application", N_("Job applications: new ones for employers, each step for applicants"),
             ("app", "email")),
    Category("job_alert", N_("New jobs for my saved searches"), ("app", "email")),
    Category("live_class", N_("Live classes: scheduled, changed, cancelled, starting soon"), ("app", "email")),
)}
