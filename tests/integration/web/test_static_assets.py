"""Static files: fingerprinted links cached for a year, everything else briefly; the favicon; the API's UI.

A page never links ``/static/...`` by hand: ``static_url()`` (``web/assets.py``) adds the content hash, and the
file is ``immutable`` only under its current hash, so a deploy can never leave a stale file in a cache.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tajiconnect.domains.courses.markdown import frame_hosts
from tajiconnect.web.assets import IMMUTABLE, SHORT, STATIC_DIR, fingerprint, static_url
from tajiconnect.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import BASE_DOMAIN

ROOT = Path(__file__).resolve().parents[3]


class Links(HTMLParser):
    """Every ``src``/``href`` of a page, and the text of scripts without ``src`` (inline scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self._in_inline_script = tag == "script" and not found.get("src") and found.get("type") != "application/json"
        if self._in_inline_script:
            self.inline_scripts.append("")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False


def links_of(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def assets_of(html: str) -> list[str]:
    return [url for url in links_of(html).urls if url.startswith(("/static/", "/tenant-static/"))]


async def test_a_fingerprinted_file_is_cached_for_a_year_and_sets_no_cookie(client_for, alpha):
    url = static_url("app.css")
    assert re.fullmatch(r"/static/app\.css\?v=[0-9a-f]{16}", url)
    async with client_for(alpha) as client:
        fresh = await client.get(url)
        bare = await client.get("/static/app.css")
        stale = await client.get("/static/app.css?v=0123456789abcdef")  # a page from before the last deploy
        head = await client.head(url)
    assert fresh.status_code == 200
    assert fresh.content == (STATIC_DIR / "app.css").read_bytes()
    assert fresh.headers["content-type"].startswith("text/css")
    assert fresh.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "etag" in fresh.headers
    # The same bytes for everyone: no CSRF cookie or session on a publicly cached answer.
    assert "set-cookie" not in fresh.headers
    for other in (bare, stale):
        assert other.status_code == 200
        assert other.content == fresh.content
        assert other.headers["cache-control"] == SHORT
    assert head.status_code == 200 and head.headers["cache-control"] == IMMUTABLE and not head.content


async def test_the_fingerprint_follows_the_content(tmp_path):
    path = tmp_path / "x.css"
    path.write_text("a{}")
    first = fingerprint(path)
    path.write_text("b{color:red}")
    assert fingerprint(path) != first
    assert fingerprint(tmp_path / "missing.css") is None
    with pytest.raises(LookupError):
        static_url("no-such-file.css")


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/pyproject.toml",
        "/static/vendor/%2e%2e/%2e%2e/README.md",
        "/static/.gitignore",
        "/static/vendor",
        "/static/missing.css",
    ],
)
async def test_nothing_outside_the_static_folder_or_hidden_is_served(client_for, alpha, path):
    async with client_for(alpha) as client:
        response = await client.get(path)
    assert response.status_code == 404


async def test_the_favicon_answers_on_every_host(client_for, alpha):
    icon = (STATIC_DIR / "favicon.ico").read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file
    for target in (None, alpha, f"unknown.{BASE_DOMAIN}"):
        async with client_for(target) as client:
            response = await client.get("/favicon.ico")
        assert response.status_code == 200, target
        assert response.content == icon
        assert response.headers["content-type"] == "image/vnd.microsoft.icon"
        assert response.headers["cache-control"] == SHORT


async def test_pages_link_only_fingerprinted_files_and_each_is_served(client_for, alpha):
    seen: set[str] = set()
    for target, path in ((None, "/"), (alpha, "/"), (alpha, "/auth/sign-in"), (alpha, "/no-such-page")):
        async with client_for(target) as client:
            page = await client.get(path)
            assets = assets_of(page.text)
            assert any(url.startswith("/static/favicon.svg?v=") for url in assets), path
            assert any(url.startswith("/static/app.css?v=") for url in assets), path
            for url in assets:
                assert re.search(r"\?v=[0-9a-f]{16}$", url), url
                response = await client.get(url)
                assert response.status_code == 200, url
                assert response.headers["cache-control"] == IMMUTABLE, url
                seen.add(url.split("?")[0])
    assert "/static/vendor/htmx-2.0.11.min.js" in seen


async def test_a_tenant_logo_is_fingerprinted_and_served_to_its_tenant_only(client_for, make_tenant, tenant_files):
    owner, other = await make_tenant("logo"), await make_tenant("logo")
    tenant_files(owner.slug, "tenant.toml", '[branding]\nlogo = "mark.svg"\n')
    tenant_files(owner.slug, "static/mark.svg", '<svg xmlns="http://www.w3.org/2000/svg"><title>m</title></svg>')
    async with client_for(owner) as client:
        home = await client.get("/")
        [logo] = [url for url in assets_of(home.text) if url.startswith("/tenant-static/")]
        assert re.fullmatch(r"/tenant-static/mark\.svg\?v=[0-9a-f]{16}", logo)
        own = await client.get(logo)
        bare = await client.get("/tenant-static/mark.svg")
    assert own.status_code == 200 and own.headers["cache-control"] == IMMUTABLE
    assert own.headers["content-type"].startswith("image/svg+xml")
    assert "set-cookie" not in own.headers
    assert bare.status_code == 200 and bare.headers["cache-control"] == SHORT
    for target in (other, None):
        async with client_for(target) as client:
            assert (await client.get(logo)).status_code == 404


def test_every_template_links_static_files_through_the_fingerprint_helpers():
    """A hand-written ``/static/...`` link would never be cached for long, or be cached stale: none may exist."""
    folders = [ROOT / "templates", *sorted((ROOT / "tenants").glob("*/templates"))]
    offenders = []
    for folder in folders:
        for template in folder.rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            found = re.findall(r"[\"'](/(?:tenant-)?static/[^\"']*)", text)
            offenders += [f"{template.relative_to(ROOT)}: {url}" for url in found]
    assert offenders == []
    base = (ROOT / "templates/layouts/base.html").read_text(encoding="utf-8")
    for call in ("static_url('favicon.svg')", "static_url('app.css')", "tenant_static_url(b.logo)"):
        assert call in base


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
async def test_the_api_ui_uses_same_origin_files_only(client_for, alpha, path):
    async with client_for(alpha) as client:
        page = await client.get(path)
        assert page.status_code == 200
        links = links_of(page.text)
        # No CDN, no inline script (the CSP refuses both): the bundle, its CSS and the starter are ours.
        assert links.inline_scripts == []
        assert all(url.startswith("/") and not url.startswith("//") for url in links.urls), links.urls
        assets = assets_of(page.text)
        assert {url.split("?")[0] for url in assets} >= {
            "/static/vendor/swagger-ui-bundle-5.35.0.js",
            "/static/vendor/swagger-ui-5.35.0.css",
            "/static/swagger-init.js",
        }
        for url in assets:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == IMMUTABLE, url
        assert 'data-spec-url="/schema/openapi.json"' in page.text
        assert (await client.get("/schema/openapi.json")).status_code == 200
    csp = page.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    # No other origin anywhere, except the embed hosts lessons may frame (courses/markdown.py), over https only.
    assert directives["frame-src"] == " ".join(f"https://{host}" for host in frame_hosts())
    assert "http" not in csp.replace(f"frame-src {directives['frame-src']}", "")
