"""The translation template lists every user-facing string the code and templates mark for translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
POT = ROOT / "src/tajiconnect/locales/messages.pot"


def _ids(path: Path) -> set[str]:
    with path.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def test_catalog_template_is_up_to_date(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
         "--no-location", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    missing = _ids(fresh) - _ids(POT)
    assert not missing, f"run the extract command in babel.cfg; new strings: {sorted(missing)[:5]}"


def test_every_locale_catalog_covers_the_template():
    template = _ids(POT)
    for po in sorted((ROOT / "src/tajiconnect/locales").glob("*/LC_MESSAGES/messages.po")):
        assert template <= _ids(po), f"{po} lacks strings: run pybabel update"
