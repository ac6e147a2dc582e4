"""What a discovery leaves behind: the trajectory and box tables (CSV), a summary with the "what
would it take" answer (JSON), and a figure of the trajectory and the chosen boxes' limits; and,
for ``sim plot``, the same for each ``[[analysis]]`` section of an experiment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..sweep import ResultStore
from .boxes import Discovery, Target, fmt_value
from .prim import discover_results
from .what_if import base_point, ranges_of, what_would_it_take

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..plots.data import SweepData


def figure(d: Discovery, title: str | None = None) -> Figure:
    """Left: the peeling trajectory (coverage against density, colour = restricted factors,
    chosen boxes ringed). Right: the chosen boxes' limits as a fraction of each factor's sampled
    range, with the actual limits and quasi-p-values written beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    lims = d.limits_table()
    n_rows = max(len(lims), 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(4.2, 1.6 + 0.45 * n_rows)), dpi=120,
                                   gridspec_kw={"width_ratios": [1, 1.25]})
    fig.suptitle(title or f"Scenario discovery (PRIM): runs with {d.target}", fontsize=11)
    base_rate = d.n_interest / len(d.y) if len(d.y) else float("nan")
    if not d.trajectories:
        for ax in (ax1, ax2):
            ax.axis("off")
        ax1.text(0.02, 0.5, "\n".join(d.notes) or "no box", fontsize=10, va="center")
        fig.tight_layout()
        return fig
    markers = "osD^v"
    vmax = max(b.res_dim for t in d.trajectories for b in t) or 1
    cmap = plt.get_cmap("viridis", vmax + 1)  # one colour per count of restricted factors
    sc = None
    for t in d.trajectories:
        cov = [b.coverage for b in t]
        den = [b.density for b in t]
        sc = ax1.scatter(cov, den, c=[b.res_dim for b in t], cmap=cmap, vmin=-0.5,
                         vmax=vmax + 0.5,
                         marker=markers[t[0].number % len(markers)], s=22,
                         label=f"box {t[0].number + 1}" if len(d.trajectories) > 1 else None)
    for c in d.chosen:
        ax1.scatter([c.coverage], [c.density], s=160, facecolors="none", edgecolors="red",
                    linewidths=1.5)
        ax1.annotate(f"box {c.number + 1} (step {c.index})\ncoverage {c.coverage:.2f}, "
                     f"density {c.density:.2f}", (c.coverage, c.density),
                     textcoords="offset points", xytext=(-10, -26), ha="right", fontsize=8,
                     color="red", bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    ax1.axhline(base_rate, color="grey", ls=":", lw=1)
    ax1.text(0.01, base_rate, f" base rate {base_rate:.2f}", fontsize=7, color="grey",
             va="bottom")
    bar = fig.colorbar(sc, ax=ax1, label="restricted factors (res_dim)")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    ax1.set_xlabel("coverage (share of runs of interest inside the box)")
    ax1.set_ylabel("density (share of runs inside that are of interest)")
    ax1.set_xlim(-0.02, 1.02)
    ax1.set_ylim(-0.02, 1.02)
    ax1.grid(True, alpha=0.3)
    ax1.set_title(f"peeling trajectory ({d.n_interest} of {len(d.y)} runs of interest)",
                  fontsize=9)
    if len(d.trajectories) > 1:
        ax1.legend(fontsize=7, loc="lower left")
    _limits_panel(ax2, lims)
    fig.tight_layout()
    return fig


def _limits_panel(ax: Any, lims: pd.DataFrame) -> None:
    if lims.empty:
        ax.axis("off")
        ax.text(0.02, 0.5, "the chosen box restricts no factor", fontsize=10)
        return
    rows = lims.iloc[::-1].reset_index(drop=True)
    for i, r in rows.iterrows():
        ax.barh(i, 1.0, left=0.0, color="0.9", height=0.6)
        if "unit_low" in r and pd.notna(r.get("unit_low")):
            lo, hi = float(r["unit_low"]), float(r["unit_high"])
            ax.barh(i, hi - lo, left=lo, color=f"C{int(r['box'])}", height=0.6, alpha=0.8)
            text = f"[{fmt_value(r['low'])}, {fmt_value(r['high'])}]"
        else:
            text = "{" + ", ".join(r["values"]) + "}" if isinstance(r.get("values"), list) \
                else ""
        qps = [f"{q:.1g}" for q in (r.get("qp_low"), r.get("qp_high"))
               if q is not None and pd.notna(q)]
        ax.text(1.02, i, f"{text}  qp {' / '.join(qps)}", va="center", fontsize=7,
                transform=ax.get_yaxis_transform())
    labels = [f"box {int(r['box']) + 1}: {r['factor']}" if lims["box"].nunique() > 1
              else str(r["factor"]) for _, r in rows.iterrows()]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("limits as a fraction of the sampled range (grey: sampled range)")
    ax.set_title("chosen box limits [low, high] and quasi-p-values (low / high)", fontsize=9)


def write(d: Discovery, out_dir: str | Path, stem: str,
          what_if: pd.DataFrame | None = None, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``<stem>_trajectory.csv``, ``<stem>_boxes.csv``, ``<stem>.json`` (summary, boxes,
    and the "what would it take" answer if given), ``<stem>_what_if.csv`` and the figure
    ``<stem>.png``; returns the paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}_trajectory.csv", out / f"{stem}_boxes.csv", out / f"{stem}.json"]
    d.trajectory_table().to_csv(paths[0], index=False)
    d.limits_table().to_csv(paths[1], index=False)
    summary = d.summary()
    if what_if is not None:
        summary["what_would_it_take"] = [
            {**{k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in r.items() if k != "moves"},
             "moves": {f: [_plain(a), _plain(b)] for f, (a, b) in r["moves"].items()}}
            for r in what_if.to_dict("records")]
        if what_if.empty:
            summary["what_would_it_take_note"] = (
                "no chosen box has at least half its runs of interest (min_density 0.5)")
        p = out / f"{stem}_what_if.csv"
        what_if.drop(columns="moves").to_csv(p, index=False)
        paths.append(p)
    paths[2].write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    if not formats:
        return paths
    fig = figure(d)
    try:
        for ext in formats:
            p = out / f"{stem}.{ext}"
            fig.savefig(p, metadata={"CreationDate": None} if ext == "pdf" else {})
            paths.append(p)
    finally:
        plt.close(fig)
    return paths


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, frozenset | set):
        return sorted(v)
    return v


def analysis_figures(data: SweepData) -> list[tuple[str, Figure]]:
    """The figures ``sim plot`` adds for the experiment's ``[[analysis]]`` sections: each one's
    PRIM figure, whose tables and "what would it take" answer (from the experiment's base
    values, over the chosen boxes) are written to ``<results>/analysis/<name>*`` on the way."""
    figs: list[tuple[str, Figure]] = []
    spec = data.exp.spec
    if not spec.analysis:
        return figs

    results = ResultStore(data.out_dir).results()
    if results.empty:
        return figs
    scales = ranges_of(data.exp)
    base = base_point(data.exp)
    for a in spec.analysis:
        target = Target(a.outcome, float(a.threshold), below=a.direction == "below")
        d = discover_results(results, target, scales=scales, n_boxes=a.boxes, box=a.box,
                             mass_min=a.mass_min, peel_alpha=a.peel_alpha)
        what_if = what_would_it_take({k: base[k] for k in d.x.columns}, d.chosen, d.scales)
        write(d, Path(data.out_dir) / "analysis", a.name, what_if, formats=())
        figs.append((a.name, figure(d, f"{data.name}: {a.name} - runs with {target} (PRIM)")))
    return figs
