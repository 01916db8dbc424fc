"""Lesson Markdown is sanitized on the server; embed addresses become their players' or are refused."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tajiconnect.domains.courses.markdown import ALLOWED_TAGS, EmbedRefused, embed_url, link_url, render


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hello <script>alert(1)</script> there",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](java\tscript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        '<div style="background:url(javascript:alert(1))">x</div>',
        "<svg onload=alert(1)>",
        '<a href="https://e.org" onclick="alert(1)">x</a>',
        "<!-- <script>alert(1)</script> -->",
        "```\n</code><script>alert(1)</script>\n```",
        '[x](https://e.org "a\\" onmouseover=\\"alert(1)")',
        "<style>body{display:none}</style>",
    ],
)
def test_nothing_executable_survives(source):
    html = render(source)
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (source, html)
        for name, value in attrs:
            assert not name.startswith("on") and name != "style", (source, html)
            if name in ("href", "src"):
                assert (value or "").split(":", 1)[0].lower() in ("http", "https", "mailto") or ":" not in (
                    value or ""), (source, html)
    # What was escaped is text: the browser shows it, it never parses it as markup.
    assert "<script" not in html.lower() and "<iframe" not in html.lower()


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def test_raw_html_is_shown_as_text_not_markup():
    assert render("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_markdown_renders_and_links_get_rel():
    html = render("# Title\n\nSome **bold** and [a link](https://example.org/x?a=1&b=2).\n\n- one\n- two\n")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<li>one</li>" in html
    assert '<a href="https://example.org/x?a=1&amp;b=2" rel="noopener nofollow ugc">a link</a>' in html
    assert 'rel="noopener nofollow ugc"' in render("[m](mailto:a@b.org)")
    assert "<table>" in render("| a | b |\n|---|---|\n| 1 | 2 |")
    assert render("") == "" and render("   \n") == ""


def test_every_link_gets_our_rel_and_nothing_else():
    html = render('[y](https://e.org "t") and <https://f.org> and [z](/relative)')
    links = [dict(attrs) for tag, attrs in elements(html) if tag == "a"]
    assert [a["href"] for a in links] == ["https://e.org", "https://f.org", "/relative"]
    assert all(a["rel"] == "noopener nofollow ugc" for a in links)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://youtube.com/watch?feature=x&v=dQw4w9WgXcQ&t=30", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ?t=5", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://m.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("http://www.youtube.com/embed/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
        ("https://player.vimeo.com/video/76979871?h=abc", "https://player.vimeo.com/video/76979871"),
        ("https://docs.google.com/document/d/1AbCdEfGhIjKlMn/edit?usp=sharing",
         "https://docs.google.com/document/d/1AbCdEfGhIjKlMn/preview"),
        ("https://docs.google.com/presentation/d/1AbCdEfGhIjKlMn/edit#slide=id.p",
         "https://docs.google.com/presentation/d/1AbCdEfGhIjKlMn/embed"),
        ("https://docs.google.com/forms/d/e/1FAIpQLSabcdefgh/viewform",
         "https://docs.google.com/forms/d/e/1FAIpQLSabcdefgh/viewform?embedded=true"),
        ("  https://vimeo.com/1  ", "https://player.vimeo.com/video/1"),
    ],
)
def test_embed_urls_become_their_players(raw, expected):
    assert embed_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://youtube.com/x",
        "https://evil.example/embed", "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=short", "https://www.youtube.com/channel/UC123",
        "https://vimeo.com/channels/staff", "https://docs.google.com/spreadsheets/u/0/",
        "https://user:pw@www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\nx", "https://[::1/", "//youtube.com/watch?v=dQw4w9WgXcQ",
        "https://" + "a" * 2000 + ".com",
    ],
)
def test_other_embeds_are_refused_with_a_message(raw):
    with pytest.raises(EmbedRefused) as refused:
        embed_url(raw)
    assert str(refused.value)


def test_an_extra_allowed_host_embeds_as_given_and_players_follow_the_list():
    hosts = ("h5p.org",)
    assert embed_url("https://h5p.org/h5p/embed/617?x=1", hosts) == "https://h5p.org/h5p/embed/617?x=1"
    with pytest.raises(EmbedRefused, match=r"h5p\.org"):
        embed_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ", hosts)  # YouTube's player is not allowed here


def test_link_lessons_take_any_web_address_only():
    assert link_url(" https://example.org/a b ".strip().replace(" b", "")) == "https://example.org/a"
    for bad in ("javascript:alert(1)", "mailto:a@b.org", "example.org", "https://", "https://x.org/a b"):
        with pytest.raises(EmbedRefused):
            link_url(bad)
