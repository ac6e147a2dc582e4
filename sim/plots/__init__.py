"""Figures of a sweep's results (``sim.sweep``), drawn into ``<results dir>/figures/``.

Which figures depend on the design kind and on how many factors vary (take more than one value):

* one varied factor (grid, lhs, random, scenarios): per outcome, the mean over replicates with
  its 95% confidence band (t interval, as in ``sim.sweep.report``) against the factor,
  ``figures/<outcome>.png``; error bars at each level instead when the factor is categorical,
  as the ``scenario`` (names) of a scenarios design;
* two varied factors on a grid: per outcome, a heat map of the mean, ``figures/<outcome>.png``;
* otherwise (lhs/random with two or more factors, grids with three or more): per outcome, every
  run's value against each factor, one panel per factor, ``figures/<outcome>.png``;
* sobol: per outcome, first-order (S1) and total (ST) indices with confidence intervals per
  factor, ``figures/sobol_<outcome>.png``; morris: ``mu_star`` with its confidence interval and
  ``sigma`` per factor, ``figures/morris_<outcome>.png``. Indices are computed with
  ``sim.designs.analyze`` on the per-point mean over replicates, in design order.

Besides these, each *figure recipe* of the experiment (``[[figures]]`` in its TOML, validated by
``sim.recipes``) is drawn into ``figures/<recipe name>.png``:

* ``lines``: per outcome in ``y`` (and per level of ``group``), the mean over replicates with its
  95% confidence band against the factor ``x``; colour per group level, line style per outcome;
* ``tradeoff``: the mean of outcome ``y`` against the mean of outcome ``x``, with 95% confidence
  error bars in both, one point per level of the factor ``along`` (connected in level order and
  labelled with the level), one curve per level of ``group``;
* ``bars``: one cluster per level of the factor ``x``, one bar per outcome in ``y`` (and per
  level of ``group``): the mean with its 95% confidence error bar, optionally divided by the
  outcome's mean at the first level of ``x`` (``normalize = "first"``).

A recipe shows every factor the design varies (checked when the experiment is loaded), so its
means are over replicates only; the runs of design points with the same levels of the recipe's
factors (morris trajectories revisit levels) are pooled.

Failed runs are left out of the means, but not out of sight: a design point (or a heat-map
cell) without a successful run is marked "no run" (failed or missing), and one that lost some of
its replicates is labelled with how many failed. Confidence bands and error bars of counts and
other non-negative outcomes stop at zero. Heat maps use a linear colour scale from zero for
non-negative outcomes (log only when values span more than two orders of magnitude), so that a
3% difference looks like one, and carry a companion panel with each cell's 95% CI half-width;
cells whose half-width exceeds ``UNCERTAIN_REL`` of the mean are hatched. An outcome with no
finite value is skipped (a recipe's other outcomes
are still drawn), and so is a sensitivity analysis that cannot be computed (a design point
without a successful run, or a constant output). The figures only show data from the results
directory and the experiment file it names.

Sobol' and Morris designs also get one overview of every outcome's indices,
``figures/sensitivity_overview.png`` (``sim.plots.sensitivity``), and each ``[[analysis]]``
section its scenario-discovery figure (``sim.discovery``).

The package: ``data`` reads a results directory and computes the statistics, ``labels`` and
``axes`` are shared by every figure, ``automatic``, ``sensitivity`` and ``recipes`` draw the
figures; this module chooses and writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..discovery.outputs import analysis_figures  # noqa: E402
from ..recipes import AUTOMATIC_PREFIXES  # noqa: E402
from . import sensitivity  # noqa: E402
from .automatic import heatmap_figure, line_figure, scatter_figure  # noqa: E402
from .data import SweepData, load  # noqa: E402
from .recipes import recipe_figure  # noqa: E402


def _stem(prefix: str, outcome: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_.-]+", "_", outcome)


def build_figures(out_dir: str | Path) -> list[tuple[str, Figure]]:
    """The experiment's figures as ``(file stem, Figure)`` pairs, not yet saved (close them)."""
    return _figures(load(out_dir))


def _figures(data: SweepData) -> list[tuple[str, Figure]]:
    figs: list[tuple[str, Figure]] = []
    if data.runs.empty:
        return figs
    indices = sensitivity.tables(data) if data.kind in ("sobol", "morris") else {}
    for outcome in data.outcomes:
        if data.kind in ("sobol", "morris"):
            if outcome in indices:
                draw = sensitivity.sobol_figure if data.kind == "sobol" \
                    else sensitivity.morris_figure
                figs.append((_stem(f"{data.kind}_", outcome), draw(data, outcome,
                                                                   indices[outcome])))
        elif len(data.varied) <= 1:
            factor = data.varied[0] if data.varied else data.factors[0]
            figs.append((_stem("", outcome), line_figure(data, outcome, factor)))
        elif len(data.varied) == 2 and data.kind == "grid":
            fx, fy = data.varied
            figs.append((_stem("", outcome), heatmap_figure(data, outcome, fx, fy)))
        else:
            figs.append((_stem("", outcome), scatter_figure(data, outcome, data.varied)))
    for recipe in data.exp.spec.figures:
        fig = recipe_figure(data, recipe)
        if fig is not None:
            figs.append((recipe.name, fig))
    if indices:  # every outcome's indices in one figure
        figs.append((sensitivity.STEM, sensitivity.overview_figure(data, indices)))
    figs.extend(analysis_figures(data))  # the [[analysis]] sections
    return figs


def plot_experiment(out_dir: str | Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Draw the figures of the sweep in ``out_dir`` into ``out_dir/figures/``.

    PNG is always written, PDF too when ``"pdf"`` is in ``formats``. Returns the written paths,
    sorted. Figures of this experiment's outcomes and recipes left from an earlier call and not
    written now (an outcome that has become empty, a format not asked for) are removed, so the
    directory never mixes current and stale figures; other files there are left alone (among
    them the figure of a recipe since removed from the experiment file)."""
    formats = set(formats)
    unknown = formats - {"png", "pdf"}
    if unknown:
        raise ValueError(f"unknown figure formats {sorted(unknown)}; allowed: png, pdf")
    exts = ["png"] + (["pdf"] if "pdf" in formats else [])
    data = load(out_dir)
    fig_dir = Path(out_dir) / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in _figures(data):
        try:
            for ext in exts:
                path = fig_dir / f"{stem}.{ext}"
                # No creation date in PDFs, so that the same results give the same files.
                meta = {"CreationDate": None} if ext == "pdf" else {}
                fig.savefig(path, metadata=meta)
                written.append(path)
        finally:
            plt.close(fig)
    stems = [_stem(prefix, outcome) for outcome in data.exp.spec.outcomes
             for prefix in AUTOMATIC_PREFIXES]
    for stem in stems + [r.name for r in data.exp.spec.figures]:
        for ext in ("png", "pdf"):
            stale = fig_dir / f"{stem}.{ext}"
            if stale not in written and stale.is_file():
                stale.unlink()
    return sorted(written)
