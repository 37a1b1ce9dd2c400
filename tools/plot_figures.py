#!/usr/bin/env python3
"""Renders nanofed's figure specs to PNG: one style for the whole project (docs/report.md).

    plot_figures.py FIGURES/a.json [FIGURES/b.json ...]   -> FIGURES/a.png, ...

Each spec (written by `nanofed report`): {"kind": "line" | "box" | "bar", "title", "xlabel",
"ylabel", "series": [{"label", "x", "y", "lo"?, "hi"?, "dashed"}], "categories"? (bar)}. A line
series draws y against x with the band lo..hi shaded; a box series is one box of the values y
(one per client) with the points. A bar figure has one group of bars per entry of "categories"
(the x tick labels) and one bar per series in each group, one colour per series (the legend
names them): y[i] is the height in category i (null = no bar), lo[i]..hi[i] its whisker
(absolute ends, as a line's band); the y axis starts at 0. The data are drawn as given: nothing
is computed here. Exit status 3 when matplotlib is missing (the caller names the package), 1 on
a bad spec.
"""
import json
import sys
import textwrap

try:
    import matplotlib
    matplotlib.use("Agg")  # PNG without a display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
except ImportError:
    sys.exit(3)

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 110,
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.framealpha": 0.85,
}


def values(v):
    return [float("nan") if a is None else a for a in v]


def draw_lines(ax, series):
    for s in series:
        x, y = values(s["x"]), values(s["y"])
        marker = "o" if len(x) <= 30 else None
        (line,) = ax.plot(x, y, linestyle="--" if s.get("dashed") else "-", marker=marker, markersize=3,
                          linewidth=1.6, label=textwrap.fill(s["label"], 45) or None)
        if "lo" in s:
            ax.fill_between(x, values(s["lo"]), values(s["hi"]), color=line.get_color(), alpha=0.18, linewidth=0)
    if any(s["label"] for s in series):
        ax.legend(loc="best")
    xs = [a for s in series for a in values(s["x"]) if a == a]
    ys = [a for s in series for a in values(s["y"]) if a == a]
    if xs and all(a == int(a) for a in xs):  # rounds, epochs: no 1.5
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ys and all(a == int(a) for a in ys):  # counts (rejected updates): from 0, whole numbers
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=-0.05 * (max(ys) + 1), top=max(ys) + 1)
        if max(ys) == 0:  # a flat line on the axis reads as an empty plot: say it
            ax.text(0.5, 0.5, "0 in every round", transform=ax.transAxes, ha="center", color="0.4")


def draw_boxes(ax, series):
    data = [values(s["y"]) for s in series]
    labels = [s["label"] for s in series]
    ax.boxplot(data, showfliers=False, widths=0.5)
    for i, ys in enumerate(data, start=1):
        # A fixed, deterministic spread of the points (no random jitter: same data, same bytes).
        n = max(len(ys), 1)
        xs = [i - 0.15 + 0.3 * k / n for k in range(len(ys))]
        ax.scatter(xs, ys, s=10, alpha=0.6, zorder=3)
    slanted_ticks(ax, range(1, len(labels) + 1), labels)


def slanted_ticks(ax, positions, labels):
    ax.set_xticks(positions)
    ax.set_xticklabels(labels, rotation=20 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center")


def draw_bars(ax, series, categories):
    width = 0.8 / max(len(series), 1)
    many = len(series) > 6  # a legend beside the axes, and 20 colours so that no two series share one
    for j, s in enumerate(series):
        # Series j's bar in group i sits at i + offset: the group's bars side by side, centred on i.
        offset = -0.4 + width * (j + 0.5)
        xs = [i + offset for i in range(len(categories))]
        colour = plt.cm.tab20(j % 20) if len(series) > 10 else None
        ax.bar(xs, values(s["y"]), width=width * 0.92, color=colour, label=textwrap.fill(s["label"], 30) or None, zorder=2)
        if "lo" in s:
            ends = [(x, lo, hi) for x, lo, hi in zip(xs, values(s["lo"]), values(s["hi"])) if lo == lo and hi == hi]
            if ends:
                x, lo, hi = zip(*ends)
                ax.vlines(x, lo, hi, color="0.15", linewidth=1, zorder=3)
                for end in (lo, hi):  # the whisker's caps
                    ax.hlines(end, [a - width * 0.2 for a in x], [a + width * 0.2 for a in x], color="0.15",
                              linewidth=1, zorder=3)
    slanted_ticks(ax, range(len(categories)), categories)
    ax.grid(axis="x", visible=False)
    ends = [a for s in series for key in ("y", "lo", "hi") for a in values(s.get(key, [])) if a == a]
    bottom, top = min([0.0] + ends), max([0.0] + ends)
    if any(s["label"] for s in series) and many:
        ax.figure.set_size_inches(9.5, 4.2)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        top += 0.05 * ((top - bottom) or 1.0)
    elif any(s["label"] for s in series):
        # Headroom above the tallest bar for the legend in one row on top (accuracies near 1 fill the frame).
        top += 0.25 * ((top - bottom) or 1.0)
        ax.legend(loc="upper center", ncol=min(len(series), 4))
    ax.set_ylim(bottom=bottom, top=top)


def render(path):
    with open(path) as f:
        spec = json.load(f)
    fig, ax = plt.subplots()
    if spec["kind"] == "box":
        draw_boxes(ax, spec["series"])
    elif spec["kind"] == "bar":
        draw_bars(ax, spec["series"], spec["categories"])
    else:
        draw_lines(ax, spec["series"])
    ax.set_title(spec["title"])
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    fig.tight_layout()
    fig.savefig(path[: -len(".json")] + ".png", metadata={"Software": None})
    plt.close(fig)


def main(paths):
    plt.rcParams.update(STYLE)
    for path in paths:
        render(path)


if __name__ == "__main__":
    main(sys.argv[1:])
