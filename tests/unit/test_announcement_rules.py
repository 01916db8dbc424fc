"""Announcements' pure rules: titles, messages, publishing times (service) and the form's local time (pages)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from tajiconnect.domains.announcements.pages import parse_local
from tajiconnect.domains.announcements.service import (
    BODY_MAX,
    TITLE_MAX,
    AnnouncementError,
    clean_body,
    clean_publish_at,
    clean_title,
)

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


def test_titles_and_messages():
    assert clean_title("  Sports day ") == "Sports day"
    assert clean_body("  **Bring water** ") == "**Bring water**"
    assert clean_body(None) == ""
    for bad in ("", "   ", None, "x" * (TITLE_MAX + 1)):
        with pytest.raises(AnnouncementError) as caught:
            clean_title(bad)
        assert caught.value.field == "title"
    with pytest.raises(AnnouncementError) as caught:
        clean_body("x" * (BODY_MAX + 1))
    assert caught.value.field == "body"


def test_publishing_times():
    assert clean_publish_at(None, NOW) is None
    later = datetime.datetime(2030, 6, 1, 18, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))
    stored = clean_publish_at(later, NOW)
    assert stored == NOW + datetime.timedelta(hours=3) and stored.tzinfo == datetime.UTC  # 18:00 at UTC+3
    assert clean_publish_at(NOW + datetime.timedelta(minutes=1), NOW) == NOW + datetime.timedelta(minutes=1)
    assert clean_publish_at(NOW + datetime.timedelta(days=366), NOW) is not None
    refused = [
        NOW, NOW - datetime.timedelta(seconds=1),  # not in the future
        NOW + datetime.timedelta(days=367),  # over a year ahead
        datetime.datetime(2030, 7, 1, 12, 0),  # no time zone
        datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=14))),  # before year 1 in UTC
        datetime.datetime(9999, 12, 31, 23, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=-14))),
    ]
    for value in refused:
        with pytest.raises(AnnouncementError) as caught:
            clean_publish_at(value, NOW)
        assert caught.value.field == "publish_at" and caught.value.status == 400, value


def test_the_form_time_is_read_in_the_members_time_zone():
    nairobi = SimpleNamespace(time_zone="Africa/Nairobi")
    moment = parse_local("2030-06-01T15:00", nairobi)
    assert moment is not None and moment.astimezone(datetime.UTC) == NOW
    assert parse_local("", nairobi) is None and parse_local("  ", nairobi) is None
    unknown = parse_local("2030-06-01T12:00", SimpleNamespace(time_zone="Mars/Olympus"))
    assert unknown is not None and unknown.astimezone(datetime.UTC) == NOW  # an unknown zone counts as UTC
    for bad in ("2030-13-01T10:00", "tomorrow", "99999-01-01T00:00", "2030-06-01"):
        with pytest.raises(AnnouncementError) as caught:
            parse_local(bad, nairobi)
        assert caught.value.field == "publish_at"
