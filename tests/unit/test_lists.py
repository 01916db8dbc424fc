"""Lists have one markup, ``components/tables.html``: readable on a phone because each cell carries its column's
label (``data-label``), which ``static/app.css`` shows when rows become cards."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from tajiconnect.web.templating import shared_engine

ROOT = Path(__file__).resolve().parents[2]
PATTERN = ROOT / "templates" / "components" / "tables.html"
#: Grids are not lists: the gradebook (learners x graded items, with linked column headings) scrolls sideways in a
#: labelled, focusable region on a phone, keeping its learner column in view, rather than becoming one card per row.
GRIDS = {ROOT / "templates" / "grading" / "_gradebook_table.html"}


def test_no_template_writes_a_table_by_hand():
    folders = [ROOT / "templates", *sorted((ROOT / "tenants").glob("*/templates"))]
    by_hand = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in folder.rglob("*.html")
        if path != PATTERN and path not in GRIDS
        and re.search(r"<(table|td|th)[\s>]", path.read_text(encoding="utf-8"))
    ]
    assert by_hand == []


def test_every_list_uses_the_pattern():
    """Every template that writes rows writes them inside ``list_table`` (members, devices, audit log, ...)."""
    with_rows = {
        str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*.html")
        if path != PATTERN and path not in GRIDS and "<tr" in path.read_text(encoding="utf-8")
    }
    assert {
        "admin/users/_results.html", "admin/audit/_results.html", "account/sessions.html", "platform/_tenants.html"
    } <= with_rows
    for name in sorted(with_rows):
        text = (ROOT / "templates" / name).read_text(encoding="utf-8")
        if name.endswith("_row.html"):  # one row, swapped alone by HTMX: its cells, inside a list that includes it
            assert 'from "components/tables.html" import cell' in text, name
            texts = [other.read_text(encoding="utf-8") for other in (ROOT / "templates").rglob("*.html")]
            assert any(f'include "{name}"' in other and "list_table(" in other for other in texts), name
            continue
        assert 'from "components/tables.html" import' in text and "list_table(" in text, name


def test_cells_are_labelled_with_their_column_and_markup_is_escaped_or_kept():
    template = shared_engine().engine.from_string(
        '{% from "components/tables.html" import list_table, cell, empty_row %}'
        '{% set columns = ["Name", "Email", ""] %}'
        '{% call list_table("People", columns, id="people") %}'
        '<tr>{% call cell(columns[0]) %}<a href="/p/1">Ada</a>{% endcall %}{{ cell(columns[1], "<b>a@x</b>") }}'
        "{{ cell(columns[2], 'button') }}</tr>"
        "{{ empty_row(columns, 'Nobody') }}"
        "{% endcall %}"
    )
    html = template.render()
    assert '<div class="table-wrap" id="people">' in html and '<table class="list">' in html
    assert '<caption class="visually-hidden">People</caption>' in html
    headers = re.findall(r'<th scope="col">(.*?)</th>', html)
    assert headers == ["Name", "Email", '<span class="visually-hidden">Actions</span>']
    assert '<td data-label="Name"><a href="/p/1">Ada</a></td>' in html
    assert '<td data-label="Email">&lt;b&gt;a@x&lt;/b&gt;</td>' in html  # a value is text, escaped
    assert "<td>button</td>" in html  # a column without a visible heading: no label on the card
    assert '<td colspan="3">Nobody</td>' in html
    dense = shared_engine().engine.from_string(
        '{% from "components/tables.html" import list_table %}{% call list_table("X", ["A"], class_="compact") %}'
        "{% endcall %}"
    )
    assert '<table class="list compact">' in dense.render()


def test_the_card_layout_is_in_the_stylesheet():
    css = (ROOT / "static" / "app.css").read_text(encoding="utf-8")
    media = re.search(r"@media \(max-width:40rem\)\{(.*)\}", css)
    assert media is not None
    assert ".list td[data-label]::before{content:attr(data-label)" in media.group(1)
    # The whole stylesheet stays small on a 3G phone: what travels is its gzip (pages' first loads are budgeted whole
    # in tests/integration/progress and bench/learning.py).
    assert len(gzip.compress(css.encode())) < 3_500
