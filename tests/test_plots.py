"""Sweep figures: the right figure per design, drawn from the right numbers, files on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError
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


# --------------------------------------------------------------------------- figure recipes

RANKING = "platforms.0.ranking"
FLUENCY = "operation.fluency_mean"
RECIPE_DESIGN = f'''[design]
kind = "grid"
[design.factors]
"{FLUENCY}" = [0.3, 0.8]
"{RANKING}" = ["chronological", "engagement"]
'''
RECIPES = f'''
[[figures]]
name = "impressions_vs_fluency"
kind = "lines"
x = "{FLUENCY}"
y = ["organic_impressions", "posts_published"]
group = "{RANKING}"
logy = false

[[figures]]
name = "tradeoff"
kind = "tradeoff"
title = "Reach against effort"
x = "posts_published"
y = "organic_impressions"
along = "{FLUENCY}"
group = "{RANKING}"

[[figures]]
name = "by-ranking"
kind = "bars"
x = "{RANKING}"
y = ["organic_impressions", "posts_published"]
group = "{FLUENCY}"
normalize = "first"
'''


@pytest.fixture(scope="module")
def recipes(tmp_path_factory) -> Path:
    return _sweep(tmp_path_factory.mktemp("recipes"), "recipes", RECIPE_DESIGN + RECIPES)


def _cell_means(out: Path, outcome: str) -> pd.Series:
    """Mean of an outcome over the stored successful runs, per (fluency, ranking) point."""
    df = ResultStore(out).results()
    df = df[df["status"] == "ok"]
    return df.groupby([f"factor:{FLUENCY}", f"factor:{RANKING}"])[outcome].mean()


def test_recipes_write_their_files_and_keep_the_automatic_figures(recipes):
    paths = plot_experiment(recipes, formats=("png", "pdf"))
    names = {p.name for p in paths}
    for stem in ("impressions_vs_fluency", "tradeoff", "by-ranking"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
        assert _is_png(recipes / "figures" / f"{stem}.png")
    assert {f"{k}.png" for k in OUTCOMES} <= names  # the heat maps, as before
    plot_experiment(recipes)  # PNG only now: the recipes' PDFs are stale
    assert not (recipes / "figures" / "tradeoff.pdf").exists()
    assert (recipes / "figures" / "tradeoff.png").exists()


def test_lines_recipe_plots_point_means(recipes):
    figs = dict(build_figures(recipes))
    try:
        ax = figs["impressions_vs_fluency"].axes[0]
        assert ax.get_xlabel() == FLUENCY and ax.get_yscale() == "linear"
        lines = {ln.get_label(): ln for ln in ax.lines}
        for outcome in ("organic_impressions", "posts_published"):
            want = _cell_means(recipes, outcome)
            for ranking in ("chronological", "engagement"):
                line = lines[f"{outcome}, {RANKING} = {ranking}"]
                np.testing.assert_allclose(line.get_xdata(), [0.3, 0.8])
                np.testing.assert_allclose(line.get_ydata(),
                                           want.xs(ranking, level=1).loc[[0.3, 0.8]])
        assert lines[f"posts_published, {RANKING} = engagement"].get_linestyle() == "--"
        assert len(ax.collections) == 4  # one CI band per curve
    finally:
        _close(figs.items())


def test_tradeoff_recipe_plots_means_with_ci_in_both_axes(recipes):
    from scipy import stats

    figs = dict(build_figures(recipes))
    try:
        ax = figs["tradeoff"].axes[0]
        assert "Reach against effort" in ax.get_title()
        assert ax.get_xlabel() == "posts_published (count)"
        x_want, y_want = (_cell_means(recipes, k) for k in ("posts_published",
                                                            "organic_impressions"))
        containers = {c.get_label(): c for c in ax.containers}
        for ranking in ("chronological", "engagement"):
            c = containers[f"{RANKING} = {ranking}"]
            assert c.has_xerr and c.has_yerr
            line = c.lines[0]
            np.testing.assert_allclose(line.get_xdata(), x_want.xs(ranking, level=1).loc[[.3, .8]])
            np.testing.assert_allclose(line.get_ydata(), y_want.xs(ranking, level=1).loc[[.3, .8]])
        assert sorted(t.get_text() for t in ax.texts) == ["0.3", "0.3", "0.8", "0.8"]
        # The y error bar is the report's t interval (2 replicates: t(0.975, 1) * sd / sqrt 2).
        df = ResultStore(recipes).results()
        runs = df[(df[f"factor:{FLUENCY}"] == 0.3) & (df[f"factor:{RANKING}"] == "chronological")]
        half = stats.t.ppf(0.975, 1) * runs["organic_impressions"].std(ddof=1) / np.sqrt(2)
        ybars = containers[f"{RANKING} = chronological"].lines[2][1].get_segments()[0]
        # ... above the mean; below it the bar stops at zero (a count cannot be negative)
        mean = runs["organic_impressions"].mean()
        assert ybars[1, 1] == pytest.approx(mean + half)
        assert ybars[0, 1] == pytest.approx(max(mean - half, 0.0))
    finally:
        _close(figs.items())


def test_bars_recipe_normalizes_by_the_first_level(recipes):
    figs = dict(build_figures(recipes))
    try:
        ax = figs["by-ranking"].axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["chronological", "engagement"]
        bars = {c.get_label(): c for c in ax.containers if hasattr(c, "patches")}
        for outcome in ("organic_impressions", "posts_published"):
            want = _cell_means(recipes, outcome)
            for fluency in (0.3, 0.8):
                heights = [b.get_height() for b in bars[f"{outcome}, {FLUENCY} = {fluency}"]]
                means = want.xs(fluency, level=0).loc[["chronological", "engagement"]]
                np.testing.assert_allclose(heights, means / means.iloc[0])
    finally:
        _close(figs.items())


@pytest.mark.filterwarnings("ignore:.*constant over the design")
def test_bars_recipe_pools_repeated_design_points(tmp_path):
    """Morris trajectories revisit grid levels: the recipe pools the runs of equal points."""
    out = _sweep(tmp_path, "pooled", f'''[design]
kind = "morris"
n = 2
[design.factors]
"{FLUENCY}" = [0.2, 0.9]

[[figures]]
name = "bars"
kind = "bars"
x = "{FLUENCY}"
y = "organic_impressions"
''', replicates=1)
    df = ResultStore(out).results()
    assert df[f"factor:{FLUENCY}"].nunique() < len(df)  # some points repeat
    want = df.groupby(f"factor:{FLUENCY}")["organic_impressions"].mean().sort_index()
    figs = dict(build_figures(out))
    try:
        ax = figs["bars"].axes[0]
        (bars,) = [c for c in ax.containers if hasattr(c, "patches")]
        np.testing.assert_allclose([b.get_height() for b in bars], want.to_numpy(float))
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{v:.3g}" for v in want.index]
        assert ax.get_ylabel() == "mean organic_impressions (count)"
    finally:
        _close(figs.items())


def _experiment_with(tmp: Path, figures: str, design: str = RECIPE_DESIGN) -> Path:
    exp = tmp / "bad.toml"
    exp.write_text(f'''name = "bad"
base = "{BASE.as_posix()}"
users = 400
days = 0.25
outcomes = {OUTCOMES!r}
{design}
{figures}''')
    return exp


@pytest.mark.parametrize(("figures", "message"), [
    (f'[[figures]]\nname = "a"\nkind = "lines"\nx = "{FLUENCY}"\ny = ["reach"]\n'
     f'group = "{RANKING}"', r"figure 'a' \(figures.0\): y: 'reach' is not one of the"),
    (f'[[figures]]\nname = "a"\nkind = "tradeoff"\nx = "reach"\ny = "posts_published"\n'
     f'along = "{FLUENCY}"\ngroup = "{RANKING}"', r"figure 'a' \(figures.0\): x: 'reach' is not"),
    (f'[[figures]]\nname = "a"\nkind = "bars"\nx = "operation.fluency"\ny = "posts_published"\n'
     f'group = "{RANKING}"', r"figure 'a' \(figures.0\): x: 'operation.fluency' is not a design"),
    (f'[[figures]]\nname = "a"\nkind = "tradeoff"\nx = "posts_published"\n'
     f'y = "organic_impressions"\nalong = "run.days"\ngroup = "{RANKING}"',
     r"figure 'a' \(figures.0\): along: 'run.days' is not a design factor"),
    (f'[[figures]]\nname = "a"\nkind = "lines"\nx = "{FLUENCY}"\ny = "posts_published"',
     r"figure 'a' \(figures.0\).*varies \['platforms.0.ranking'\].*x or group"),
    (f'[[figures]]\nname = "a"\nkind = "bars"\nx = "{FLUENCY}"\ny = "posts_published"\n'
     f'group = "{RANKING}"\n[[figures]]\nname = "a"\nkind = "bars"\nx = "{RANKING}"\n'
     f'y = "posts_published"\ngroup = "{FLUENCY}"', r"figure 'a' \(figures.1\): name: another"),
    (f'[[figures]]\nname = "a"\nkind = "lines"\nx = "{FLUENCY}"\ny = "posts_published"\n'
     f'group = "{RANKING}"\ncolour = "red"', r"figures.0.lines.colour: unknown field"),
    (f'[[figures]]\nname = "a b"\nkind = "lines"\nx = "{FLUENCY}"\ny = "posts_published"\n'
     f'group = "{RANKING}"', r"figures.0.lines.name: String should match pattern"),
    (f'[[figures]]\nname = "posts_published"\nkind = "lines"\nx = "{FLUENCY}"\n'
     f'y = "posts_published"\ngroup = "{RANKING}"', r"name: clashes with the automatic"),
    (f'[[figures]]\nname = "a"\nkind = "lines"\nx = "{FLUENCY}"\ny = "posts_published"\n'
     f'group = "{FLUENCY}"', r"figure 'a' \(figures.0\): group: the same factor as x"),
    ('[[figures]]\nname = "a"\nkind = "pie"\n', r"figures.0"),
])
def test_bad_recipes_are_refused_naming_the_field(tmp_path, figures, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(_experiment_with(tmp_path, figures))


def test_series_recipe_plots_the_mean_per_tick(tmp_path):
    """A ``series`` recipe draws, per group level and simulated day, the mean of the stored
    per-tick series over that level's runs; without stored series it is refused."""
    recipe = (f'timeseries = true\n[design]\nkind = "grid"\n[design.factors]\n'
              f'"{FLUENCY}" = [0.3, 0.8]\n[[figures]]\nname = "over_time"\nkind = "series"\n'
              f'y = ["reported_engagements"]\ngroup = "{FLUENCY}"\n')
    out = _sweep(tmp_path, "series", recipe)
    pairs = build_figures(out)
    figs = dict(pairs)
    lines = [ln for ln in figs["over_time"].axes[0].get_lines() if ln.get_label()[0] != "_"]
    ts = ResultStore(out).timeseries()
    runs = ResultStore(out).results()[["run", f"factor:{FLUENCY}"]]
    means = ts.merge(runs, on="run").groupby([f"factor:{FLUENCY}", "day"])[
        "reported_engagements"].mean()
    assert len(lines) == 2
    for line, level in zip(lines, (0.3, 0.8), strict=True):
        np.testing.assert_allclose(line.get_ydata(), means.loc[level].to_numpy())
        np.testing.assert_allclose(line.get_xdata(), means.loc[level].index.to_numpy())
    _close(pairs)
    design, figure = recipe.removeprefix("timeseries = true\n").split("[[figures]]")
    with pytest.raises(ConfigError, match="needs timeseries = true"):
        load_experiment(_experiment_with(tmp_path, "[[figures]]" + figure, design=design))


def _shrunk(out: Path, drop_point: int, n_failed: int):
    """The sweep's data with one design point's runs recorded as failed instead."""
    from sim.plots.data import load

    data = load(out)
    lost = data.runs[data.runs["point"] == drop_point]
    data.runs = data.runs[data.runs["point"] != drop_point].reset_index(drop=True)
    data.failed = pd.DataFrame({"run": lost["run"].to_numpy()[:n_failed],
                                "point": drop_point, "status": "failed"})
    return data


def test_failed_points_are_marked_not_dropped(sweeps):
    import matplotlib.pyplot as plt

    from sim.plots.automatic import heatmap_figure, line_figure

    data = _shrunk(sweeps["one"], drop_point=1, n_failed=2)
    fig = line_figure(data, "organic_impressions", "operation.fluency_mean")
    ax = fig.axes[0]
    assert [ln for ln in ax.lines if ln.get_gid() == "missing-point"]
    assert any("no run (2 failed)" in t.get_text() for t in ax.texts)
    assert "no successful run" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)
    data = _shrunk(sweeps["two"], drop_point=0, n_failed=1)
    fig = heatmap_figure(data, "organic_impressions", "operation.fluency_mean",
                         "operation.hijack_fraction")
    ax = fig.axes[0]
    assert [p for p in ax.patches if p.get_gid() == "missing-cell"]
    assert any(t.get_text().startswith("no run") for t in ax.texts)
    plt.close(fig)


def test_count_bands_never_go_below_zero(sweeps):
    import matplotlib.pyplot as plt

    from sim.plots.automatic import line_figure
    from sim.plots.axes import lower_error
    from sim.plots.data import load

    m, c = np.array([1.0, 5.0, 0.0]), np.array([3.0, 2.0, 4.0])
    assert np.all(m - lower_error(m, c, True) >= 0)
    assert np.array_equal(lower_error(m, c, False), c)
    data = load(sweeps["one"])
    # replicates that disagree wildly: the t interval of each point reaches far below zero
    data.runs["organic_engagements"] = np.where(data.runs["replicate"] == 0, 0.0, 50.0)
    fig = line_figure(data, "organic_engagements", "operation.fluency_mean")
    band = fig.axes[0].collections[0]
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    assert ys.min() >= 0 and ys.max() > 50
    plt.close(fig)


def test_heatmap_scale_starts_at_zero_and_shows_uncertainty(sweeps):
    import matplotlib.pyplot as plt

    from sim.plots.automatic import heatmap_figure
    from sim.plots.data import load

    data = load(sweeps["two"])
    # a 3% difference between points must not fill the colour scale
    data.runs["organic_impressions"] = 1000.0 + 30.0 * (data.runs["point"] % 2) \
        + np.where(data.runs["replicate"] == 0, 0.0, 1.0)
    fig = heatmap_figure(data, "organic_impressions", "operation.fluency_mean",
                         "operation.hijack_fraction")
    im = fig.axes[0].images[0]
    assert im.norm.vmin == 0 and im.norm(1000.0) > 0.9
    assert any("CI half-width" in a.get_title() for a in fig.axes)
    plt.close(fig)
