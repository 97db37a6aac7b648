"""Charts as PNG images (matplotlib, no display needed), for the HTML reports.

Each function takes plain labels and numbers and returns PNG bytes; `data_uri` makes them
an `<img src>` that needs no other file, so a report is one self-contained HTML file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

PALETTE = ("#0b3d6e", "#d29200", "#a4262c", "#107c10", "#5c2d91", "#008575")
SERIES_COLOURS = {"On time": "#107c10", "Late": "#d29200", "No response": "#a4262c",
                  "Resolved": "#107c10", "Withdrawn": "#8a8886", "Open": "#d29200"}


def available() -> bool:
    """Whether matplotlib can be imported here."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *,
              horizontal: bool = True, colour: str = PALETTE[0]) -> bytes:
    """One bar per label, with its value written at the end of the bar."""
    plt = _pyplot()
    height = max(2.2, 0.42 * len(labels) + 1.2) if horizontal else 3.6
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=110)
    try:
        if horizontal:
            positions = range(len(labels))
            bars = ax.barh(list(positions), list(values), color=colour)
            ax.set_yticks(list(positions), labels=list(labels))
            ax.invert_yaxis()
        else:
            bars = ax.bar(list(labels), list(values), color=colour)
        ax.bar_label(bars, labels=[f"{v:g}" if v else "" for v in values], padding=3,
                     fontsize=9)
        _finish(ax, title, horizontal)
        return _png(fig)
    finally:
        plt.close(fig)


def stacked_bar_chart(title: str, labels: Sequence[str],
                      series: Mapping[str, Sequence[float]]) -> bytes:
    """Bars split into named parts (for example on time, late, no response per level)."""
    plt = _pyplot()
    height = max(2.4, 0.48 * len(labels) + 1.4)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=110)
    try:
        left = [0.0] * len(labels)
        positions = list(range(len(labels)))
        for i, (name, values) in enumerate(series.items()):
            colour = SERIES_COLOURS.get(name, PALETTE[i % len(PALETTE)])
            bars = ax.barh(positions, list(values), left=left, color=colour, label=name)
            ax.bar_label(bars, labels=[str(int(v)) if v else "" for v in values],
                         label_type="center", color="white", fontsize=9)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(positions, labels=list(labels))
        ax.invert_yaxis()
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(series), fontsize=8,
                  frameon=False)
        _finish(ax, title, True)
        return _png(fig)
    finally:
        plt.close(fig)


def _finish(ax, title: str, horizontal: bool) -> None:  # type: ignore[no-untyped-def]
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", color="#1b1b1b")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    axis = ax.xaxis if horizontal else ax.yaxis
    axis.get_major_locator().set_params(integer=True)
    ax.tick_params(labelsize=9)
    ax.figure.tight_layout()


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
