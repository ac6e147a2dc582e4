"""Sweep figures: the right figure per design, drawn from the right numbers, files on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.designs import analyze
from sim.experiment import load_experiment
from sim.plots import build_figures, plot_experiment
from sim.sweep import ResultStore, run_sweep

BASE = Path(__file__).resolve().parents[1] / "experiments" / "spamouflage.toml"
OUTCOMES = ["posts_published", "organic_impressions", "in_network_engagement_share"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sweep(tmp: Path, name: str, design: str, replicates: int = 2) -> Path:
    exp = tmp / f"{name}.toml"
    exp.write_text(f'''name = "{name}"
base = "{BASE.as_posix()}"
users = 400
days = 0.25
replicates = {replicates}
root_seed = 11
outcomes = {OUTCOMES!r}
{design}''')
    out = tmp / f"{name}-results"
    run_sweep(exp, out, executor="inprocess")
    return out


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("plots")
    return {
        "one": _sweep(tmp, "one-factor", '''[design]
kind = "grid"
[design.factors]
"operation.fluency_mean" = [0.2, 0.5, 0.9]
'''),
        "two": _sweep(tmp, "two-factors", '''[design]
kind = "grid"
[design.factors]
"operation.fluency_mean" = [0.3, 0.8]
"operation.hijack_fraction" = [0.0, 0.2, 0.5]
'''),
        "sobol": _sweep(tmp, "sobol-small", '''[design]
kind = "sobol"
n = 4
[design.factors]
"operation.fluency_mean" = [0.2, 0.9]
"operation.hijack_fraction" = [0.0, 0.5]
''', replicates=1),
    }


def _is_png(p: Path) -> bool:
    return p.stat().st_size > 1000 and p.read_bytes()[:8] == PNG_MAGIC


def _close(figs) -> None:
    import matplotlib.pyplot as plt

    for _, f in figs:
        plt.close(f)


def test_one_factor_grid_writes_png_and_pdf(sweeps):
    out = sweeps["one"]
    paths = plot_experiment(out)
    assert paths == sorted(out / "figures" / f"{k}.png" for k in OUTCOMES)
    assert all(_is_png(p) for p in paths)
    both = plot_experiment(out, formats=("png", "pdf"))
    pdfs = [p for p in both if p.suffix == ".pdf"]
    assert len(both) == 2 * len(OUTCOMES) and len(pdfs) == len(OUTCOMES)
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    with pytest.raises(ValueError, match="formats"):
        plot_experiment(out, formats=("svg",))


def test_line_figure_shows_replicate_means_with_labels(sweeps):
    out = sweeps["one"]
    figs = dict(build_figures(out))
    try:
        assert sorted(figs) == sorted(OUTCOMES)
        ax = figs["organic_impressions"].axes[0]
        assert ax.get_xlabel() == "operation.fluency_mean"
        assert ax.get_ylabel() == "organic_impressions (count)"
        assert "one-factor" in ax.get_title()
        assert figs["in_network_engagement_share"].axes[0].get_ylabel().endswith("(fraction, 0-1)")
        df = ResultStore(out).results()
        want = df.groupby("factor:operation.fluency_mean")["organic_impressions"].mean()
        line = ax.lines[0]
        np.testing.assert_allclose(line.get_xdata(), want.index.to_numpy(float))
        np.testing.assert_allclose(line.get_ydata(), want.to_numpy(float))
        assert ax.collections, "no confidence band"
    finally:
        _close(figs.items())


def test_failed_runs_excluded_and_empty_outcome_skipped(sweeps, tmp_path):
    plot_experiment(sweeps["one"])
    out = tmp_path / "copy"
    shutil.copytree(sweeps["one"], out)
    store = ResultStore(out)
    for p in sorted(store.runs_dir.glob("run-*.parquet")):
        row = pd.read_parquet(p)
        row["posts_published"] = pd.Series([None], dtype="Int64")  # all-NaN outcome
        if row["run"].iloc[0] == 0:  # point 0 keeps only replicate 1
            row["organic_impressions"] = 10**9
            row["status"] = "failed"
        row.to_parquet(p, index=False)
    figs = dict(build_figures(out))
    try:
        assert sorted(figs) == ["in_network_engagement_share", "organic_impressions"]
        y = figs["organic_impressions"].axes[0].lines[0].get_ydata()
        df = store.results()
        kept = df[(df["point"] == 0) & (df["replicate"] == 1)]["organic_impressions"]
        assert y[0] == pytest.approx(float(kept.iloc[0]))
    finally:
        _close(figs.items())
    assert (out / "figures" / "posts_published.png").exists()  # left by an earlier plot
    paths = plot_experiment(out)
    assert [p.name for p in paths] == ["in_network_engagement_share.png",
                                       "organic_impressions.png"]
    assert not (out / "figures" / "posts_published.png").exists()  # stale: removed


def test_two_factor_grid_draws_annotated_heat_maps(sweeps):
    out = sweeps["two"]
    figs = dict(build_figures(out))
    try:
        ax = figs["organic_impressions"].axes[0]
        assert ax.images and ax.images[0].get_array().shape == (3, 2)
        assert ax.get_xlabel() == "operation.fluency_mean"
        assert ax.get_ylabel() == "operation.hijack_fraction (fraction, 0-1)"
        assert len(ax.texts) == 6
        df = ResultStore(out).results()
        cell = df[(df["factor:operation.fluency_mean"] == 0.8)
                  & (df["factor:operation.hijack_fraction"] == 0.5)]["organic_impressions"]
        assert ax.images[0].get_array()[2, 1] == pytest.approx(cell.mean())
    finally:
        _close(figs.items())
    paths = plot_experiment(out)
    assert [p.name for p in paths] == sorted(f"{k}.png" for k in OUTCOMES)
    assert all(_is_png(p) for p in paths)


def test_sobol_bars_match_analyze(sweeps):
    out = sweeps["sobol"]
    paths = plot_experiment(out, formats=["pdf"])
    names = {p.name for p in paths}
    assert "sobol_organic_impressions.png" in names
    assert "sobol_organic_impressions.pdf" in names
    assert all(_is_png(p) for p in paths if p.suffix == ".png")
    exp = load_experiment(out.parent / "sobol-small.toml")
    df = ResultStore(out).results().sort_values("point")
    res = analyze("sobol", exp.spec.design.factors, exp.points,
                  df["organic_impressions"].to_numpy(float), exp.spec.root_seed)
    figs = dict(build_figures(out))
    try:
        ax = figs["sobol_organic_impressions"].axes[0]
        heights = [b.get_height() for b in ax.patches]
        np.testing.assert_allclose(heights, np.r_[res["S1"], res["ST"]])
        assert [t.get_text() for t in ax.get_xticklabels()] == list(exp.points.columns)
        assert "Sobol" in ax.get_ylabel() and "sobol-small" in ax.get_title()
    finally:
        _close(figs.items())
