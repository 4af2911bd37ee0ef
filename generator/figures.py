"""A card's pictures: the matplotlib figures its code leaves open, drawn in the card's own run.

Child side (`capture`, called once by the fork server's child after the card's code ran): every
open figure saved as PNG at one fixed size and DPI, without the metadata that varies between
builds (matplotlib's "Software" line; PNGs carry no date), so two builds give the same bytes.
They travel back as base64 strings in the run's outcome, never as a file the card chose, and are
cached with it: a cached build draws nothing and imports nothing.
Parent side (`decode`): the PNG bytes of an outcome (checked on arrival: channel.py).

matplotlib is imported only by the cards that use it: the others pay nothing.
"""
from __future__ import annotations

import base64
import io
import os
import sys
from typing import Mapping

from . import channel

SIZE_IN = (4.0, 3.0)     # every figure is saved at this size: 600 x 450 px at DPI
DPI = 150

def draw_off_screen() -> None:
    """Called once by the fork server, before it imports TensorFlow (Keras 3 imports
    matplotlib.pyplot when matplotlib is installed): every card's run draws with Agg, so no window
    opens, whatever the user's matplotlibrc or MPLBACKEND said."""
    os.environ["MPLBACKEND"] = "Agg"


def capture(result: dict) -> None:
    """Put the figures the card left open into RESULT["figures"] (base64 PNGs, in figure-number
    order). Saving a figure can fail on what the card drew: that raises, and the fork server
    reports it as the card's exception (zygote._child)."""
    result["figures"] = []
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums()[:channel.FIGURES_MAX]:
        figure = pyplot.figure(number)
        figure.set_size_inches(*SIZE_IN)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        result["figures"].append(base64.b64encode(buffer.getvalue()).decode("ascii"))


def decode(outcome: Mapping | None) -> tuple[bytes, ...]:
    """The PNG figures of a run's OUTCOME. Every outcome was checked where it came in (the runner
    and the cache both hold it to channel.check_outcome: base64 PNGs within the caps)."""
    return tuple(base64.b64decode(text) for text in (outcome or {}).get("figures", ()))
