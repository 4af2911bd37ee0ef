"""Make docs/anki-card.png: one card of the built deck as Anki renders it, day and night mode.

    .venv/bin/tfcards build --format apkg && .venv/bin/python docs/anki_screenshot.py [CARD_ID]

The deck is imported with the real `anki` library and the card's answer HTML (with the note
type's CSS) is shot by headless Chromium (Debian: apt install chromium) at a phone's width.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageRequest

ROOT = Path(__file__).resolve().parent.parent
PAGE = """<!doctype html><meta charset="utf-8"><style>
html, body {{ margin: 0; background: #888; }} .pane {{ display: inline-block; vertical-align: top;
width: 400px; min-height: 760px; box-sizing: border-box; padding: 14px 0; margin-right: 8px; }}
</style><div class="pane card">{day}</div><div class="pane card nightMode">{night}</div>"""


def main(card_id: str = "quant-dynamic-range-dtypes") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection(str(Path(tmp) / "c.anki2"))
        options = col._backend.get_import_anki_package_presets()
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(ROOT / "build" / "tensorflow.apkg"),
                                                         options=options))
        (nid,) = col.find_notes(f'"Id:{card_id}"')
        html = col.get_note(nid).cards()[0].answer()
        col.close()
        page = Path(tmp) / "card.html"
        page.write_text(PAGE.format(day=html, night=html))
        out = ROOT / "docs" / "anki-card.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={tmp}/profile", f"--screenshot={out}",
                        "--window-size=816,780", page.as_uri()], check=True, capture_output=True)
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
