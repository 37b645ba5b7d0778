"""The progress chart that comes with /quiz stats: accuracy per topic, weakest first, and
points over the last weeks, as a PNG every platform sends as it can.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe in a
worker thread). matplotlib is imported on first use: it costs the bot's start-up nothing.
A chart that cannot be drawn is logged and left out; the text stats go out regardless.
"""

from __future__ import annotations

import asyncio
import io
import logging

from bot.core import messages
from bot.core.models import MemberStats

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 800, 450, 100  # pixels of the PNG
TOPICS_SHOWN = 8  # the weakest topics; a long tail would not be readable
CHART_FILENAME = "daily-drill-stats.png"
WEAK, FAIR, STRONG = "#d9534f", "#f0ad4e", "#5cb85c"  # accuracy under 50%, under 80%, above


def progress_png(stats: MemberStats) -> bytes:
    """The chart as PNG bytes (blocking: run it in a thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    topics_axes, weeks_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1.2, 1)})
    figure.suptitle(messages.chart_title(stats.member.name))

    topics = stats.topics[:TOPICS_SHOWN]
    topics_axes.set_title(messages.CHART_ACCURACY, fontsize=10)
    if topics:
        shares = [100 * topic.accuracy for topic in topics]
        colours = [WEAK if s < 50 else FAIR if s < 80 else STRONG for s in shares]
        rows = range(len(topics))
        topics_axes.barh(rows, shares, color=colours)
        names = [f"{topic.topic} ({topic.correct}/{topic.answered})" for topic in topics]
        topics_axes.set_yticks(rows, names, fontsize=8)
        topics_axes.invert_yaxis()  # weakest on top
    else:
        topics_axes.set_yticks([])
        topics_axes.text(50, 0.5, messages.CHART_NO_ANSWERS, ha="center", va="center")
    topics_axes.set_xlim(0, 100)
    topics_axes.set_xticks((0, 50, 100), ("0%", "50%", "100%"), fontsize=8)

    weeks_axes.set_title(messages.chart_points_title(len(stats.weeks)), fontsize=10)
    labels = [week.week_key.split("-")[-1] for week in stats.weeks]
    weeks_axes.bar(range(len(labels)), [week.points for week in stats.weeks], color="#337ab7")
    weeks_axes.set_xticks(range(len(labels)), labels, fontsize=8)
    weeks_axes.set_ylim(bottom=0)
    weeks_axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    weeks_axes.tick_params(axis="y", labelsize=8)
    # Fixed margins: tight_layout would measure every label, at a third of the cost.
    figure.subplots_adjust(left=0.25, right=0.98, bottom=0.12, top=0.84, wspace=0.25)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


async def progress_chart(stats: MemberStats) -> bytes | None:
    """The chart, drawn off the event loop; None (logged) if it cannot be drawn."""
    try:
        return await asyncio.to_thread(progress_png, stats)
    except Exception:
        log.exception("could not draw the progress chart for %s", stats.member.user_id)
        return None
