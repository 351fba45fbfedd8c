"""The weekly chart as a PNG: the funnel (handed over → accepted → followed up → opportunity) and
the time to accept (median and 90th percentile). People read a chart faster than a table.

Rendered with matplotlib's object API on the Agg canvas: no display, no pyplot global state, so
it is safe in the dispatcher's thread. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io

from bot.reports import Figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STAGES = ("handed over", "accepted", "followed up", "opportunity")
COLOURS = ("#4a6fa5", "#3f8f6b", "#c08a2b", "#8e4585")


def funnel(figures: Figures) -> list[tuple[str, int]]:
    return list(zip(STAGES, (figures.handed_over, figures.accepted, figures.followed_up, figures.opportunities)))


def render(figures: Figures, *, title: str, subtitle: str = "") -> bytes:
    """The chart of ``figures`` as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=14, fontweight="bold")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])

    stages = funnel(figures)
    whole = max(figures.handed_over, 1)
    names = [s for s, _ in stages][::-1]
    counts = [n for _, n in stages][::-1]
    bars = left.barh(names, counts, color=COLOURS[::-1])
    for bar, n in zip(bars, counts):
        left.text(
            bar.get_width() + whole * 0.01,
            bar.get_y() + bar.get_height() / 2,
            f"{n}  ({round(100 * n / whole)}%)",
            va="center",
            fontsize=10,
        )
    left.set_xlim(0, whole * 1.25)
    left.set_title(subtitle or "Funnel", fontsize=10, loc="left")
    left.spines[["top", "right"]].set_visible(False)
    left.xaxis.set_major_locator(_integer_locator())

    median, p90 = figures.median_accept_hours, figures.p90_accept_hours
    right.set_title("Time to accept (hours)", fontsize=10, loc="left")
    right.spines[["top", "right"]].set_visible(False)
    if median is None:
        right.text(0.5, 0.5, "nothing accepted", ha="center", va="center", transform=right.transAxes)
        right.set_xticks([])
        right.set_yticks([])
        right.spines[["left", "bottom"]].set_visible(False)
    else:
        values = [median, p90 or median]
        hbars = right.bar(["median", "90th percentile"], values, color=("#3f8f6b", "#a3c9b6"))
        for bar, v in zip(hbars, values):
            right.text(
                bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{v:.1f} h", ha="center", va="bottom", fontsize=10
            )
        right.set_ylim(0, max(values) * 1.2 or 1)

    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)
