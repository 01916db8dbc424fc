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
    Category("live_class", N_("Live classes: scheduled, changed, cancelled, starting soon"), ("app", "email")),
)}
