"""Meeting links: what is accepted, and which provider each belongs to."""

from __future__ import annotations

import pytest

from tajiconnect.domains.live.links import LinkError, label_of, parse_link


@pytest.mark.parametrize(("url", "provider"), [
    ("https://meet.jit.si/MathsForm2", "jitsi"),
    ("https://8x8.vc/vpaas-magic-cookie-123/room", "jitsi"),
    ("https://meet.example.org/Form2-Maths", "jitsi"),  # a self-hosted Jitsi: meet.<domain>/<room>
    ("https://jitsi.school.ac.ke/biology", "jitsi"),
    ("https://bbb.school.ac.ke/b/ali-x7k-9pq", "bigbluebutton"),  # Greenlight v2
    ("https://learn.example.org/rooms/abc-def-ghi/join", "bigbluebutton"),  # Greenlight v3
    ("https://bbb.example.org/bigbluebutton/api/join?meetingID=1", "bigbluebutton"),
    ("https://us02web.zoom.us/j/123456789?pwd=abc", "zoom"),
    ("https://zoom.us/j/1", "zoom"),
    ("https://meet.google.com/abc-defg-hij", "meet"),
    ("https://teams.microsoft.com/l/meetup-join/19%3ameeting", "teams"),
    ("https://teams.live.com/meet/9876", "teams"),
    ("https://example.org/classroom", "other"),
    ("https://meet.example.org/a/b/c", "other"),  # meet.<domain> but not a room path
    ("https://notzoom.us/j/1", "other"),  # not a subdomain of zoom.us
    ("https://zoom.us.evil.example/j/1", "other"),
])
def test_providers_are_recognized(url: str, provider: str) -> None:
    link = parse_link(f"  {url} ")
    assert link.provider == provider
    assert link.url == url
    assert label_of(provider)


@pytest.mark.parametrize("text", [
    "", "   ", "http://meet.jit.si/room", "ftp://example.org/x", "javascript:alert(1)", "meet.jit.si/room",
    "https://", "https://localhost/room", "https://user:pw@meet.jit.si/room", "https://meet.jit.si/a b",
    "https://exa\x00mple.org/", "https://example.org:99999/x", "https://" + "a" * 1000 + ".org/",
])
def test_refused_links(text: str) -> None:
    with pytest.raises(LinkError):
        parse_link(text)


def test_unknown_provider_has_a_generic_label() -> None:
    assert label_of("nonsense") == label_of("other")
