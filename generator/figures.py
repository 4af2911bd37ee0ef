"""A card's pictures: the matplotlib figures its code leaves open, drawn in the card's own run.

Child side (`capture`, called once by the fork server's child after the card's code ran): every
open figure saved as PNG at one fixed size and DPI, without the metadata that varies between
builds (matplotlib's "Software" line; PNGs carry no date), so two builds give the same bytes.
They travel back as base64 strings in the run's outcome, never as a file the card chose, and are
cached with it: a cached build draws nothing and imports nothing.
Parent side (`decode`): the PNG bytes of an outcome, each checked.

matplotlib is imported only by the cards that use it: the others pay nothing.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import sys
from typing import Mapping

MAX_FIGURES = 8          # a card's first eight figures are kept
MAX_BYTES = 2 << 20      # per PNG, decoded: a bigger one is not a flashcard's picture
SIZE_IN = (4.0, 3.0)     # every figure is saved at this size: 600 x 450 px at DPI
DPI = 150
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

def draw_off_screen() -> None:
    """Called once by the fork server, before it imports TensorFlow (Keras 3 imports
    matplotlib.pyplot when matplotlib is installed): every card's run draws with Agg, so no window
    opens, whatever the user's matplotlibrc or MPLBACKEND said."""
    os.environ["MPLBACKEND"] = "Agg"


def capture(result: dict) -> None:
    """Put the figures the card left open into RESULT["figures"] (base64 PNGs, in figure-number
    order). Saving a figure can fail on what the card drew: that is the card's exception, unless
    the card had already raised one."""
    result["figures"] = []
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    try:
        for number in pyplot.get_fignums()[:MAX_FIGURES]:
            figure = pyplot.figure(number)
            figure.set_size_inches(*SIZE_IN)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
            result["figures"].append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    except Exception as e:  # recorded as the card's failure, never swallowed
        if result.get("exception") is None:
            result["exception"] = {"type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                                   "message": f"saving the card's figure failed: {e}", "frames": []}


def decode(outcome: Mapping | None) -> tuple[bytes, ...]:
    """The PNG figures of a run's OUTCOME; anything that is not a PNG within the limits is left out
    (the outcome crossed a process boundary from code we do not trust)."""
    found = (outcome or {}).get("figures")
    if not isinstance(found, list):
        return ()
    pngs = []
    for text in found[:MAX_FIGURES]:
        if not isinstance(text, str) or len(text) > MAX_BYTES * 4 // 3 + 4:
            continue
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            continue
        if data.startswith(PNG_SIGNATURE) and len(data) <= MAX_BYTES:
            pngs.append(data)
    return tuple(pngs)
