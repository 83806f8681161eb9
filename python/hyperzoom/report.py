"""A self-contained HTML report of a search: plots embedded, nothing to fetch.

:func:`write_report` draws the loss against every parameter on its own scale with the
coarse-to-fine regions, the best-so-far history and the importance bars (matplotlib),
embeds them as base64 PNG images, and adds the best configuration, the top trials and
the region of every round as tables. The file opens in any browser, offline.

In a conditional space each parameter is plotted over the trials where it is active,
and tables show an inactive parameter's entry as a dash (—).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ._optional import require

__all__ = ["render_report", "write_report"]

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.6em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: right; }
th { background: #f4f6f8; } td.l, th.l { text-align: left; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { background: #f4f6f8; border-radius: 8px; padding: 0.7em 1.1em; min-width: 9em; }
.card b { display: block; font-size: 1.35em; }
img { max-width: 100%; }
.fail { color: #b00; }
"""


def _png(fig: Any) -> str:
    plt = require("matplotlib.pyplot", "the report")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


#: What a table shows where a value is missing (an inactive parameter, no loss yet).
MISSING = "\u2014"


def _fmt(v: Any) -> str:
    if v is None or v is np.ma.masked:
        return MISSING
    if isinstance(v, float):
        if math.isnan(v):
            return MISSING
        return f"{v:.4g}"
    return html.escape(str(v))


def render_report(result: Any, *, title: str = "hyperzoom study") -> str:
    """Return the HTML text of the report of a search or schedule result.

    A :class:`~hyperzoom.SearchResult` gets the loss against each parameter with the
    coarse-to-fine regions, the best-so-far history, importance and the top trials; a
    :class:`~hyperzoom.ScheduleResult` its learning curves, the last loss of each run
    against each parameter, the top runs and, with ``sampler="coarse-to-fine"``, the
    regions its new configurations were drawn from.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> from hyperzoom.report import render_report
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> r = hz.search(lambda c: (np.log10(c["lr"]) + 2) ** 2, space, budget=60, rng=1)
    >>> text = render_report(r)
    >>> text.startswith("<!DOCTYPE html>"), text.count("data:image/png;base64,")
    (True, 3)
    """
    plt = require("matplotlib.pyplot", "the report")
    from .importance import importance
    from .plot import plot_history, plot_search
    from .schedule import ScheduleResult

    if isinstance(result, ScheduleResult):
        return _page(title, _schedule_parts(result))
    t = result.trials
    space = result.space
    parts: list[str] = []
    failed = t.n_failed
    parts.append(f"<h1>{html.escape(title)}</h1>")
    parts.append(
        f'<p class="sub">{len(t)} trials in {len(result.regions)} rounds; '
        f"{failed} failed; {'minimising' if result.minimize else 'maximising'}.</p>"
    )
    cards = [
        ("best value", _fmt(result.best_value)),
        ("trials", str(len(t))),
        ("rounds", str(len(result.regions))),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card">{k}<b>{v}</b></div>' for k, v in cards)
        + "</div>"
    )
    parts += _best_table(result.best)

    parts.append("<h2>Loss against each parameter, on its own scale</h2>")
    parts.append(
        "<p>Points are coloured by round; shaded bands are the regions the coarse-to-fine "
        "search zoomed into, round by round (darker: zoomed further). The red star is the best.</p>"
    )
    parts.append(
        f'<img alt="loss against each parameter" src="data:image/png;base64,{_png(plot_search(result))}">'
    )

    fig, ax = plt.subplots(figsize=(7, 3.4))
    plot_history(result, ax=ax)
    parts.append("<h2>Best so far</h2>")
    parts.append(
        f'<img alt="best loss so far" src="data:image/png;base64,{_png(fig)}">'
    )

    ok = int(np.count_nonzero(~t.failed & (t.retest_of < 0)))
    if ok >= 8:
        imp = importance(result, rng=0)
        if imp.n < 8:
            imp = importance(result, trials="all", rng=0)
        fig, ax = plt.subplots(figsize=(7, 0.45 * space.d + 1.4))
        imp.plot(ax=ax)
        parts.append("<h2>Which hyperparameters matter</h2>")
        parts.append(
            "<p>Each parameter's share of the loss's variance explained by it alone "
            "(main effect, on its scaled axis), with 95% bootstrap intervals.</p>"
        )
        parts.append(f'<img alt="importance" src="data:image/png;base64,{_png(fig)}">')

    order = np.argsort(
        np.where(
            np.isfinite(t.value), t.value if result.minimize else -t.value, np.inf
        ),
        kind="stable",
    )
    parts += _config_table(
        "Top trials",
        ["id", "value", "round"],
        [
            [str(int(t.id[i])), _fmt(float(t.value[i])), str(int(t.round[i]))]
            for i in order[: min(10, len(t))]
        ],
        t.configs,
        order[: min(10, len(t))],
    )

    parts.append("<h2>Regions, round by round</h2><table><tr><th>round</th>")
    parts.append(
        "".join(f'<th class="l">{html.escape(n)}</th>' for n in space.names) + "</tr>"
    )
    for r, region in enumerate(result.regions):
        cells = _bounds_cells(region)
        parts.append(
            f"<tr><td>{r}</td>"
            + "".join(f'<td class="l">{c}</td>' for c in cells)
            + "</tr>"
        )
    parts.append("</table>")

    parts += _failures(failed, t.error[t.failed], "trials")

    return _page(title, parts)


def _page(title: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _best_table(best: dict[str, Any] | None) -> list[str]:
    if best is None:
        return []
    return [
        "<h2>Best configuration</h2><table><tr>",
        "".join(f'<th class="l">{html.escape(k)}</th>' for k in best),
        "</tr><tr>",
        "".join(f'<td class="l">{_fmt(v)}</td>' for v in best.values()),
        "</tr></table>",
    ]


def _config_table(
    title: str, heads: list[str], lead: list[list[str]], configs: Any, rows: Any
) -> list[str]:
    """Return an HTML table: the ``lead`` cells of each row, then its configuration."""
    names = list(configs.columns)
    parts = [
        f"<h2>{html.escape(title)}</h2><table><tr>"
        + "".join(f"<th>{h}</th>" for h in heads)
        + "".join(f'<th class="l">{html.escape(n)}</th>' for n in names)
        + "</tr>"
    ]
    for cells, i in zip(lead, rows):
        row = configs[int(i)]
        parts.append(
            "<tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "".join(f'<td class="l">{_fmt(row.get(n))}</td>' for n in names)
            + "</tr>"
        )
    parts.append("</table>")
    return parts


def _failures(n: int, errors: Any, what: str) -> list[str]:
    if not n:
        return []
    shown = list(dict.fromkeys(str(e) for e in errors))[:5]
    return [
        f'<h2>Failures</h2><p class="fail">{n} {what} failed. First errors:</p><ul>',
        *(f"<li><code>{html.escape(e)}</code></li>" for e in shown),
        "</ul>",
    ]


def _schedule_parts(result: Any) -> list[str]:
    """Return the sections of a schedule's report: curves, last losses, top runs."""
    plt = require("matplotlib.pyplot", "the report")
    from .plot import plot_curves, set_scale

    t = result.trials
    space = result.space
    top_budget = float(t.budget.max()) if len(t) else math.nan
    parts = [
        f"<h1>{html.escape(result.method.replace('_', ' ').title())} study</h1>",
        (
            f'<p class="sub">{len(t)} runs, {result.n_calls} calls of train, '
            f"{result.budget_used:.6g} budget units trained; {t.n_failed} runs "
            f"failed; new configurations drawn by the {html.escape(result.sampler)} "
            "sampler.</p>"
        ),
    ]
    cards = [
        ("best loss", _fmt(result.best_value)),
        ("runs", str(len(t))),
        ("top budget", _fmt(top_budget)),
        ("budget used", f"{result.budget_used:.6g}"),
    ]
    if result.method == "pbt":
        cards.append(("exploits", str(len(result.lineage))))
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card">{k}<b>{v}</b></div>' for k, v in cards)
        + "</div>"
    )
    parts += _best_table(result.best)

    fig, ax = plt.subplots(figsize=(8, 3.8))
    plot_curves(result, ax=ax)
    parts.append("<h2>Learning curves</h2>")
    parts.append(
        "<p>Every run's loss against the budget it was trained to (red: the best). "
        "Runs that stop early were not promoted.</p>"
    )
    parts.append(f'<img alt="learning curves" src="data:image/png;base64,{_png(fig)}">')

    ok = np.isfinite(t.value)
    if ok.any():
        cols = min(space.d, 3)
        rows = -(-space.d // cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False
        )
        configs = t.configs
        active = configs.active
        for k, name in enumerate(space.names):
            ax = axes[k // cols][k % cols]
            on = ok & active[:, k]  # a conditional parameter: where it is active
            x = np.asarray(np.ma.getdata(configs.columns[name]))[on]
            dist = space[name]
            if hasattr(dist, "options"):
                x = dist.codes(x).astype(float)
                ax.set_xticks(range(len(dist.options)))
                ax.set_xticklabels([str(o) for o in dist.options])
            else:
                set_scale(ax, dist)
            sc = ax.scatter(
                x,
                t.value[on],
                c=np.log(t.budget[on]),
                s=10,
                cmap="viridis",
                vmin=float(np.log(t.budget[ok].min())),
                vmax=float(np.log(t.budget[ok].max())),
            )
            ax.set_xlabel(name)
            ax.set_ylabel("last loss")
        for k in range(space.d, rows * cols):
            axes[k // cols][k % cols].set_visible(False)
        fig.colorbar(sc, ax=axes, label="log budget reached")
        parts.append("<h2>Last loss against each parameter, on its own scale</h2>")
        parts.append(
            "<p>Each run's loss at the last budget it reached; brighter runs were "
            "trained further.</p>"
        )
        parts.append(
            f'<img alt="loss against each parameter" src="data:image/png;base64,{_png(fig)}">'
        )

    top = t.ranking()[:10]
    parts += _config_table(
        "Top runs (trained furthest, then lowest loss)",
        ["run", "budget", "loss", "drawn from"],
        [
            [
                str(int(t.id[i])),
                _fmt(float(t.budget[i])),
                _fmt(float(t.value[i])),
                _source(int(t.proposal[i]), result.method),
            ]
            for i in top
        ],
        t.configs,
        top,
    )
    if result.sampler != "random":
        parts += _proposal_parts(result, top_budget)
    parts += _failures(t.n_failed, t.error[t.status == "failed"], "runs")
    return parts


def _source(proposal: int, method: str = "") -> str:
    if proposal >= 0:
        return f"region {proposal}"
    return "first draw or perturbation" if method == "pbt" else "random"


def _proposal_parts(result: Any, top_budget: float) -> list[str]:
    """Return the table of where a schedule's new configurations came from."""
    t = result.trials
    space = result.space
    if result.method == "pbt":
        others = (
            "the members' other configurations are the first population's random "
            "draws or perturbations of a donor's. A member counts under the origin "
            "of its final configuration"
        )
    else:
        others = "the other configurations were drawn at random over the whole space"
    parts = [
        "<h2>Where new configurations came from</h2>",
        (
            "<p>Each region was built by coarse to fine on the results at one budget "
            f"(the highest holding enough of them when it was used); {others}. Best "
            "loss: the lowest among the runs it gave that reached the top budget.</p>"
        ),
        (
            "<table><tr><th>drawn from</th><th>built on (budget, results)</th>"
            "<th>runs</th><th>best loss</th>"
        ),
        "".join(f'<th class="l">{html.escape(n)}</th>' for n in space.names) + "</tr>",
    ]
    sources = [(-1, None), *enumerate(result.proposal_regions)]
    for k, found in sources:
        mine = t.proposal == k
        at_top = mine & (t.budget == top_budget) & np.isfinite(t.value)
        best = float(t.value[at_top].min()) if at_top.any() else math.nan
        if found is None:
            whole = "" if result.method == "pbt" else "whole space"
            built, cells = "", [whole] + [""] * (space.d - 1)
        else:
            built = f"{_fmt(found.budget)}, {found.results}"
            cells = _bounds_cells(found.region)
        parts.append(
            f"<tr><td>{_source(k, result.method)}</td><td>{built}</td>"
            f"<td>{int(np.count_nonzero(mine))}</td><td>{_fmt(best)}</td>"
            + "".join(f'<td class="l">{c}</td>' for c in cells)
            + "</tr>"
        )
    parts.append("</table>")
    return parts


def _bounds_cells(region: Any) -> list[str]:
    cells = []
    for name, b in region.bounds.items():
        if hasattr(region.space[name], "options"):
            cells.append(", ".join(_fmt(o) for o in b))
        else:
            cells.append(f"{_fmt(b[0])} – {_fmt(b[1])}")
    return cells


def write_report(
    result: Any, path: str | Path, *, title: str = "hyperzoom study"
) -> Path:
    """Write the HTML report of ``result`` to ``path``; returns the path.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> r = hz.search(lambda c: (np.log10(c["lr"]) + 2) ** 2, space, budget=60, rng=1)
    >>> out = hz.write_report(r, pathlib.Path(tempfile.mkdtemp()) / "report.html")
    >>> out.stat().st_size > 10_000
    True
    """
    path = Path(path)
    path.write_text(render_report(result, title=title), encoding="utf-8")
    return path
