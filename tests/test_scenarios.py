"""Scenarios designs: named bundles of overrides as design points, paired seeds, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.config import ConfigError
from sim.experiment import load_experiment
from sim.plots import build_figures, plot_experiment
from sim.sweep import ResultStore, report, run_sweep

BASE = Path(__file__).resolve().parents[1] / "experiments" / "spamouflage.toml"
OUTCOMES = ["posts_published", "organic_impressions"]
NAMES = ["baseline", "op_off", "fluent"]
SCENARIOS = '''[design]
kind = "scenarios"

[design.scenarios.baseline]

[design.scenarios.op_off]
"operation.enabled" = false

[design.scenarios.fluent]
"operation.fluency_mean" = 0.9
"operation.persona_languages" = [1.0, 0.0, 0.0]
"platforms.social.homophily" = 0.5
'''
BARS = '''
[[figures]]
name = "relative"
kind = "bars"
x = "scenario"
y = ["posts_published", "organic_impressions"]
normalize = "first"
'''


def _experiment(tmp: Path, design: str = SCENARIOS, extra: str = "", name: str = "exp") -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(f'''name = "{name}"
base = "{BASE.as_posix()}"
users = 400
days = 0.25
replicates = 2
root_seed = 5
outcomes = {OUTCOMES!r}
{extra}
[overrides]
"operation.fluency_mean" = 0.5
"operation.hijack_fraction" = 0.1
{design}''')
    return p


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("scenarios")
    out = tmp / "out"
    run_sweep(_experiment(tmp, SCENARIOS + BARS, "paired_seeds = true"), out,
              executor="inprocess")
    return out


def test_rows_carry_the_scenario_names_in_file_order(swept):
    df = ResultStore(swept).results().sort_values("run")
    assert (df["status"] == "ok").all()
    assert list(df["factor:scenario"]) == [n for n in NAMES for _ in range(2)]
    assert list(df["point"]) == [0, 0, 1, 1, 2, 2]
    table = report(swept)
    assert list(table["scenario"]) == NAMES and list(table["n"]) == [2, 2, 2]


def test_a_scenario_override_reaches_the_run(swept):
    df = ResultStore(swept).results().set_index("factor:scenario")
    assert (df.loc["op_off", "posts_published"] == 0).all()
    assert (df.loc["baseline", "posts_published"] > 0).all()


def test_scenario_overrides_apply_on_top_of_the_experiment_overrides(tmp_path):
    exp = load_experiment(_experiment(tmp_path))
    configs = {r.factors["scenario"]: exp.config(r) for r in exp.runs()[::2]}
    assert list(configs) == NAMES
    base, fluent = configs["baseline"], configs["fluent"]
    assert base.operation.fluency_mean == 0.5  # [overrides] alone
    assert fluent.operation.fluency_mean == 0.9  # the scenario wins on a conflict
    assert fluent.operation.hijack_fraction == base.operation.hijack_fraction == 0.1
    assert fluent.operation.persona_languages == [1.0, 0.0, 0.0]
    social = [p for p in fluent.platforms if p.name == "social"][0]
    assert social.homophily == 0.5  # platforms.NAME.field
    assert [p for p in base.platforms if p.name == "social"][0].homophily != 0.5
    assert not configs["op_off"].operation.enabled and base.operation.enabled


def test_paired_seeds_repeat_each_replicates_seed_at_every_point(swept):
    df = ResultStore(swept).results()
    seeds = df.pivot(index="replicate", columns="factor:scenario", values="seed")
    assert (seeds.nunique(axis=1) == 1).all() and seeds[NAMES[0]].nunique() == 2


@pytest.mark.parametrize("design", [SCENARIOS, '''[design]
kind = "grid"
[design.factors]
"operation.hijack_fraction" = [0.0, 0.3]
'''])
def test_paired_seeds_for_any_design_kind_and_off_by_default(tmp_path, design):
    from sim.designs import run_seed

    paired = load_experiment(_experiment(tmp_path, design, "paired_seeds = true")).runs()
    assert [r.seed for r in paired] == [run_seed(5, r.replicate) for r in paired]
    default = load_experiment(_experiment(tmp_path, design)).runs()
    assert [r.seed for r in default] == [run_seed(5, r.index) for r in default]
    assert len({r.seed for r in default}) == len(default)


def test_automatic_and_recipe_figures_against_scenario(swept):
    paths = plot_experiment(swept)
    assert {p.stem for p in paths} == {*OUTCOMES, "relative"}
    figs = dict(build_figures(swept))
    try:
        ax = figs["posts_published"].axes[0]  # categorical: error bars at 0, 1, 2
        assert ax.get_xlabel() == "scenario"
        assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
        ax = figs["relative"].axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
        df = ResultStore(swept).results()
        means = df.groupby("factor:scenario")["organic_impressions"].mean().loc[NAMES]
        (bars,) = [c for c in ax.containers
                   if hasattr(c, "patches") and c.get_label() == "organic_impressions"]
        np.testing.assert_allclose([b.get_height() for b in bars], means / means.iloc[0])
    finally:
        import matplotlib.pyplot as plt

        for f in figs.values():
            plt.close(f)


@pytest.mark.parametrize(("bundle", "message"), [
    ('"operation.bogus" = 1', r"scenario 'bad'(.|\n)*operation\.bogus: unknown field"),
    ('"operation.fluency_mean" = 7', r"scenario 'bad'(.|\n)*operation\.fluency_mean: .*7"),
    ('"platforms.nowhere.homophily" = 0.5', r"scenario 'bad'(.|\n)*unknown platform 'nowhere'"),
    ('"operation..fluency_mean" = 0.5', r"scenario 'bad': key 'operation\.\.fluency_mean'"),
])
def test_a_bad_scenario_is_refused_before_any_run(tmp_path, bundle, message):
    exp = _experiment(tmp_path, SCENARIOS + f"\n[design.scenarios.bad]\n{bundle}\n")
    with pytest.raises(ConfigError, match=message):
        load_experiment(exp)
    with pytest.raises(ConfigError, match=message):
        run_sweep(exp, tmp_path / "out", executor="inprocess")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("design", "message"), [
    ('[design]\nkind = "scenarios"\n', "needs at least one"),
    ('[design]\nkind = "scenarios"\n[design.factors]\n"operation.fluency_mean" = [0.3]\n'
     '[design.scenarios.a]\n', "not design.factors"),
    ('[design]\nkind = "grid"\n[design.factors]\n"operation.fluency_mean" = [0.3]\n'
     '[design.scenarios.a]\n', "only allowed with kind = 'scenarios'"),
    ('[design]\nkind = "scenarios"\n[design.scenarios."a b"]\n', r"scenario 'a b': name"),
    ('[design]\nkind = "scenarios"\n[design.scenarios]\na = 1\n', r"design\.scenarios\.a"),
    (SCENARIOS + '[[figures]]\nname = "f"\nkind = "bars"\nx = "operation.fluency_mean"\n'
     'y = "posts_published"\n', r"x: 'operation.fluency_mean' is not a design factor "
     r"\['scenario'\]"),
    (SCENARIOS + '[[figures]]\nname = "f"\nkind = "lines"\nx = "operation.fluency_mean"\n'
     'y = "posts_published"\ngroup = "scenario"\n', "not a design factor"),
])
def test_malformed_scenarios_designs_are_refused(tmp_path, design, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(_experiment(tmp_path, design))


def test_reordering_scenarios_changes_the_experiment(tmp_path):
    """The order numbers the points, so a results directory must not accept a reordering."""
    a, b = ('[design.scenarios.a]\n"operation.fluency_mean" = 0.4\n',
            '[design.scenarios.b]\n"operation.fluency_mean" = 0.6\n')
    head = '[design]\nkind = "scenarios"\n'
    ab = load_experiment(_experiment(tmp_path, head + a + b))
    ba = load_experiment(_experiment(tmp_path, head + b + a))
    assert list(ab.points["scenario"]) == ["a", "b"] and list(ba.points["scenario"]) == ["b", "a"]
    assert ab.sha256 != ba.sha256


def test_unquoted_dotted_keys_are_refused(tmp_path):
    """Unquoted ``operation.fluency_mean = 0.9`` is a TOML table that would silently replace the
    whole ``operation`` section; it is refused in overrides and in scenarios alike."""
    base = Path(__file__).resolve().parents[1] / "experiments" / "spamouflage.toml"
    for body in ('[overrides]\noperation.fluency_mean = 0.9\n',
                 '[design]\nkind = "scenarios"\n[design.scenarios.a]\n'
                 'operation.fluency_mean = 0.9\n'):
        p = tmp_path / "exp.toml"
        p.write_text(f'name = "t"\nbase = "{base.as_posix()}"\n{body}')
        with pytest.raises(ConfigError, match="quote dotted keys"):
            load_experiment(p)
