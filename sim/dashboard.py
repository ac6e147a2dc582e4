"""Interactive dashboard: a scenario in the browser, built on Mesa's own visualisation.

Why: researchers, trust-and-safety teams and students who use Mesa models expect to open a model
in a browser, move the levers and watch the two ledgers part. The page is Mesa's ``SolaraViz``
(Mesa 3.5, ``mesa.visualization``; Solara serves it), so start, step, pause and reset are Mesa's
own controls and behave as in any Mesa example.

* Controls are generated from the pydantic schema (``sim.config``): a ``Literal`` field becomes a
  choice, a ``bool`` a checkbox, a number a slider whose ends are the field's ``ge``/``gt`` and
  ``le`` bounds. Where the schema's upper bound is far above the scenario's value (``le=10000``
  hours for a 12-hour delay), the slider stops at ``SLIDER_SPAN`` times the scenario's value
  (rounded up to a round number) so that it stays usable; ``sim run --set`` reaches the rest.
* Every model is built the way ``sim run`` builds one: ``build_config(scenario, overrides)`` then
  ``InfluenceModel(cfg)``. Reset rebuilds it with the current controls and seed.
* Views (one tab each, so only the tab in view is redrawn on a step): the two ledgers over time
  and the kidding ratio; who was exposed, by community and platform, and moderation's removals;
  a small sample of the follower network with operation accounts marked; one operation post's
  counters.

Everything that reads the model's internals is in the section marked MODEL ACCESS below, so
that a renamed attribute is fixed in one place.

Run with ``sim dashboard [CONFIG] [--users N] [--port P]``.
"""

from __future__ import annotations

import math
import os
import tomllib
import typing
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullLocator, StrMethodFormatter  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from .config import Config, ConfigError, build_config  # noqa: E402
from .ledger import breakout_category  # noqa: E402
from .model import InfluenceModel  # noqa: E402

DEFAULT_CONFIG = Path("experiments/spamouflage.toml")
DEFAULT_USERS = 10_000
"""Small enough that one simulated hour steps and redraws well under a second (README)."""

SLIDER_SPAN = 20.0
"""A slider whose schema bound is more than this many times the scenario's value stops here."""

LEVERS = (
    "operation.posts_per_account_day",
    "operation.fluency_mean",
    "operation.content_lag_hours",
    "operation.utc_offset",
    "operation.fake_followers_per_day",
    "operation.fake_followers_mean",
    "operation.hijack_fraction",
    "operation.follows_per_account_day",
    "moderation.enabled",
    "moderation.threshold",
    "moderation.review_delay_hours",
    "moderation.action",
    "paymaster.kpi",
)
"""The levers the mission turns on (the operation's volume, fluency, timing, follower buying,
hijacking and audience building; moderation; the paymaster's KPI). Each platform's ranking is
added per platform of the scenario."""

ENV_CONFIG, ENV_USERS = "SIM_DASHBOARD_CONFIG", "SIM_DASHBOARD_USERS"


# ============================================================================ controls (schema)


def field_info(key: str, root: type[BaseModel] = Config):
    """The pydantic field at a dotted key (list items by index or name, e.g.
    ``platforms.0.ranking``), or raise ConfigError."""
    model: Any = root
    parts = key.split(".")
    i = 0
    while i < len(parts):
        name = parts[i]
        if not (isinstance(model, type) and issubclass(model, BaseModel)) \
                or name not in model.model_fields:
            raise ConfigError(f"{key}: no such field")
        info = model.model_fields[name]
        if i == len(parts) - 1:
            return info
        ann = info.annotation
        if typing.get_origin(ann) is list:  # skip the list index or name
            ann, i = typing.get_args(ann)[0], i + 1
        model, i = ann, i + 1
    raise ConfigError(f"{key}: no such field")


def _bounds(info) -> tuple[float | None, float | None, bool]:
    lo = hi = None
    strict = False
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, strict = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
    return lo, hi, strict


def _round_up(x: float) -> float:
    """The next round number (1, 2 or 5 times a power of ten) at or above ``x``."""
    if x <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(x))
    return next(m * p for m in (1, 2, 5, 10) if m * p >= x)


def _step(span: float, offset: float) -> float:
    """A round slider step (1, 2 or 5 times a power of ten), at most about 1/200 of the span,
    that lands exactly on the scenario's value: a slider snaps to its steps, and a step that
    missed the value would silently change it."""
    top = _round_up(span / 200) if span > 2 else 0.01
    for step in (m * 10.0 ** e for e in range(4, -7, -1) for m in (5, 2, 1)):
        if step <= top * (1 + 1e-9) and abs(offset / step - round(offset / step)) < 1e-6:
            return step
    return top


def control(key: str, value: Any) -> dict:
    """A SolaraViz user parameter for one config field, from its schema."""
    info = field_info(key)
    unit = (info.json_schema_extra or {}).get("unit", "") if isinstance(
        info.json_schema_extra, dict) else ""
    name = key.split(".")[-1] if key.startswith("operation.") else key
    label = f"{name} ({unit})" if unit and len(name) + len(unit) <= 32 else name
    ann = info.annotation
    if typing.get_origin(ann) is typing.Literal:
        return {"type": "Select", "value": value, "values": list(typing.get_args(ann)),
                "label": label}
    if ann is bool:
        return {"type": "Checkbox", "value": bool(value), "label": label}
    lo, hi, strict = _bounds(info)
    if ann is int:
        lo = int(lo) + strict if lo is not None else min(0, int(value))
        hi = int(hi) if hi is not None else max(10, 10 * int(value))
        return {"type": "SliderInt", "value": int(value), "min": lo, "max": hi, "step": 1,
                "label": label}
    lo = float(lo) if lo is not None else min(0.0, float(value))
    if hi is None or hi > SLIDER_SPAN * max(float(value), 1.0):
        hi = _round_up(SLIDER_SPAN * max(float(value), 1.0)) if hi is None else min(
            hi, _round_up(SLIDER_SPAN * max(float(value), 1.0)))
    step = _step(hi - lo, float(value) - lo)
    if strict:
        lo += step
    return {"type": "SliderFloat", "value": float(value), "min": lo, "max": float(hi),
            "step": step, "label": label}


def _get_path(cfg: Config, key: str) -> Any:
    node: Any = cfg
    for p in key.split("."):
        node = node[int(p)] if isinstance(node, list) else getattr(node, p)
    return node


def model_params(scenario: dict, users: int = DEFAULT_USERS) -> dict:
    """SolaraViz ``model_params``: the scenario and size (fixed), the seed (text, so that any
    seed can be typed) and one control per lever, starting at the scenario's values."""
    cfg = build_config(scenario, {"population.n_users": users})
    keys = list(LEVERS) + [f"platforms.{i}.ranking" for i in range(len(cfg.platforms))]
    params: dict[str, Any] = {"scenario_data": scenario, "n_users": users,
                              "seed": {"type": "InputText", "value": str(cfg.run.seed),
                                       "label": "seed (run.seed)"}}
    for key in keys:
        params[key] = control(key, _get_path(cfg, key))
        if key.startswith("platforms."):
            params[key]["label"] = f"{key} ({cfg.platforms[int(key.split('.')[1])].name})"
    return params


def load_scenario(path: str | Path) -> dict:
    """The raw TOML data of a scenario file, validated once (ConfigError if invalid)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    build_config(data, origin=str(path))
    return data


# ============================================================================ MODEL ACCESS
# Everything below down to END MODEL ACCESS reads the model's internals (attribute names of
# InfluenceModel, its ledger, posts, accounts, platforms and population). Nothing else in this
# module does.


class DashboardModel(InfluenceModel):
    """``InfluenceModel`` built from a scenario plus dotted overrides, so that Mesa's Reset can
    rebuild it from keyword arguments (SolaraViz calls ``type(model)(**params)``)."""

    def __init__(self, scenario_data: dict | None = None, n_users: int = DEFAULT_USERS,
                 seed: str | int | None = None, scenario: Any = None, **levers: Any) -> None:
        # ``scenario``: Mesa's own Scenario object, which SolaraViz's Reset passes along; unused
        scenario = scenario_data if scenario_data is not None else load_scenario(DEFAULT_CONFIG)
        overrides = {"population.n_users": int(n_users), **levers}
        self.seed_note = ""
        if seed not in (None, ""):
            try:
                overrides["run.seed"] = int(str(seed).strip())
                if overrides["run.seed"] < 0:
                    raise ValueError
            except ValueError:
                overrides.pop("run.seed", None)
                self.seed_note = f"seed {seed!r} is not a non-negative integer; scenario seed used"
        cfg = build_config(scenario, overrides, origin="dashboard")
        super().__init__(cfg)


def ledger_frame(model: InfluenceModel) -> pd.DataFrame:
    """The per-hour ledger rows so far (``sim.ledger.SERIES`` columns)."""
    return pd.DataFrame(model.ledger.rows)


def hour(model: InfluenceModel) -> int:
    """Simulated hours run so far."""
    return int(model.steps)


def run_facts(model: InfluenceModel) -> tuple[Config, int, int]:
    """The configuration, seed and number of organic users of a model."""
    return model.cfg, int(model.seed), int(model.pop.n)


def breakout(model: InfluenceModel) -> int:
    """Nimmo's Breakout category so far (``sim.ledger.breakout_category``)."""
    t = model.ledger.totals
    reached = model.ledger.reached(model.pop, model.platforms, model.cfg.breakout)
    return breakout_category(reached, t["media_amplifications"],
                             t["high_profile_amplifications"])


def exposure_tables(model: InfluenceModel) -> dict[str, pd.Series | pd.DataFrame]:
    """Who was reached so far: distinct real users exposed per community; organic reads of
    operation content per platform; real users who engaged, community x platform."""
    comm = model.pop.community
    names = list(model.pop.community_names)
    platforms = [pf.name for pf in model.platforms]
    exposed = np.bincount(comm[model.ledger.op_exposure > 0], minlength=len(names))
    p = model.posts
    roots = p.is_op & (p.root == np.arange(p.n))
    reads = np.bincount(p.platform[roots].astype(np.int64), weights=p.imp_organic[roots],
                        minlength=len(platforms))
    engaged = np.stack([np.bincount(comm[e], minlength=len(names))
                        for e in model.ledger.engaged])
    return {"exposed": pd.Series(exposed, index=names),
            "reads": pd.Series(reads.astype(int), index=platforms),
            "engaged": pd.DataFrame(engaged, index=platforms, columns=names)}


def network_sample(model: InfluenceModel, platform: int = 0, n_accounts: int = 8,
                   per_account: int = 6, seed: int = 0) -> dict:
    """A small sample of one platform's follower network: the live operation accounts with the
    most real followers there, some of their real followers, and some of the accounts those
    followers follow. Edges point from follower to followed. Bought followers are counters on
    an account, not users, and are not drawn."""
    rng = np.random.default_rng(seed)
    pf = model.platforms[platform]
    acc = model.operation.accounts
    n = model.pop.n
    on = np.flatnonzero((acc.platform == platform) & acc.alive)
    counts = pf.op_follower_counts(acc.n)[on] if on.size else np.zeros(0, int)
    chosen = on[np.argsort(-counts, kind="stable")[:n_accounts]]
    lo, hi = pf.op_follower_slices(chosen)
    edges: list[tuple[int, int]] = []
    organic: set[int] = set()
    for a, s, e in zip(chosen, lo, hi, strict=True):
        fol = (pf.op_keys[s:e] % n).astype(int)
        if fol.size > per_account:
            fol = rng.choice(fol, per_account, replace=False)
        for u in fol:
            edges.append((int(u), n + int(a)))
            organic.add(int(u))
    # organic context: a few followers of each sampled real user (graph is author -> followers)
    g = pf.graph
    for u in list(organic):
        fol = g.followers[g.indptr[u]:g.indptr[u + 1]]
        for v in rng.choice(fol, min(2, fol.size), replace=False) if fol.size else ():
            edges.append((int(v), u))
            organic.add(int(v))
    comm = model.pop.community
    return {"edges": edges, "operation": [n + int(a) for a in chosen],
            "organic": {u: int(comm[u]) for u in organic},
            "communities": list(model.pop.community_names), "platform": pf.name}


POST_COUNTERS = {
    "imp_organic": "reads by real users",
    "imp_op": "views by the operation's own accounts",
    "imp_fake": "views counted from bought followers",
    "likes_organic": "likes by real users",
    "reshares_organic": "reshares by real users",
    "replies_organic": "replies by real users",
    "eng_op": "engagements by the operation's own accounts",
    "reports": "reports by real users",
}
KIND_LABELS = {2: "post", 3: "reply planted under a popular thread", 4: "self-share"}


def operation_posts(model: InfluenceModel, k: int = 20) -> pd.DataFrame:
    """The ``k`` operation posts (originals and planted replies) most read by real users."""
    p = model.posts
    idx = np.flatnonzero(p.is_op & (p.root == np.arange(p.n)))
    if idx.size == 0:
        return pd.DataFrame(columns=["gid", "index"])
    top = idx[np.argsort(-p.imp_organic[idx], kind="stable")[:k]]
    return pd.DataFrame({"gid": p.gid[top], "index": top})


def post_details(model: InfluenceModel, gid: int) -> dict | None:
    """One operation post's attributes and counters (the model keeps counters per post, not who
    read or engaged), or None if it has left memory."""
    p = model.posts
    i = p.index_of(gid)
    if i >= p.n or p.gid[i] != gid:
        return None
    n = model.pop.n
    account = int(p.author[i]) - n
    out = {
        "post id": int(gid),
        "kind": KIND_LABELS.get(int(p.kind[i]), str(int(p.kind[i]))),
        "platform": model.platforms[int(p.platform[i])].name,
        "posted at hour": int(p.created[i]),
        "operation account": account,
        "account still up": bool(model.operation.accounts.alive[account]),
        "language": ["en", "zh", "other"][int(p.language[i])] if 0 <= p.language[i] < 3
        else str(int(p.language[i])),
        "writing quality (0-1)": round(float(p.quality[i]), 2),
        "timeliness (0-1)": round(float(p.timeliness[i]), 2),
    }
    out.update({label: int(getattr(p, col)[i]) for col, label in POST_COUNTERS.items()})
    return out


# ============================================================================ END MODEL ACCESS

VANITY = [("posts_published", "posts published"),
          ("reported_engagements", "engagements (incl. own accounts)"),
          ("reported_impressions", "impressions (incl. own and bought)")]
REAL = [("organic_reshares", "reshares by real users"),
        ("organic_engagements", "engagements by real users"),
        ("organic_impressions", "reads by real users")]


def _plain_log(ax, axis: str = "y") -> None:
    """Round numbers as tick labels, no minor ticks: readable, and cheap to redraw (mathtext
    labels and minor ticks take most of a redraw's time)."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    a.set_minor_locator(NullLocator())


def ledgers_figure(df: pd.DataFrame) -> Figure:
    """Cumulative reported (solid) against real (dashed) counts, paired by colour, and the
    kidding ratio."""
    fig = Figure(figsize=(9, 4.2), dpi=80)
    ax, kx = fig.subplots(1, 2, width_ratios=[1.6, 1])
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92, wspace=0.3)
    if df.empty:
        ax.text(0.5, 0.5, "press Step or Play", ha="center", transform=ax.transAxes)
    else:
        for i, ((v, vl), (r, rl)) in enumerate(zip(VANITY, REAL, strict=True)):
            ax.plot(df["day"], df[v], color=f"C{i}", lw=2, label=f"reported: {vl}")
            ax.plot(df["day"], df[r], color=f"C{i}", lw=2, ls="--", label=f"real: {rl}")
        kx.plot(df["day"], df["kidding_ratio"], color="C3", lw=2, label="engagements")
        kx.plot(df["day"], df["kidding_ratio_impressions"], color="C4", lw=2,
                label="impressions")
        kx.set_yscale("log")
        _plain_log(kx)
        kx.legend(fontsize=7, title="reported / real", title_fontsize=7)
        ax.legend(fontsize=7, loc="upper left")
    ax.set_yscale("symlog", linthresh=1)
    _plain_log(ax)
    ax.set_xlabel("simulated time (days)")
    ax.set_ylabel("cumulative count (log above 1)")
    ax.set_title("The two ledgers (solid: reported, dashed: real)", fontsize=9)
    ax.grid(True, alpha=0.3)
    kx.set_xlabel("simulated time (days)")
    kx.set_ylabel("kidding ratio (reported / real, log)")
    kx.set_title("Kidding ratio (gap = nothing real yet)", fontsize=9)
    kx.grid(True, alpha=0.3)
    return fig


def exposure_figure(tables: dict, df: pd.DataFrame) -> Figure:
    """Exposure by community, reads by platform, engaged users (community x platform), and
    moderation's removals per hour."""
    fig = Figure(figsize=(10, 6.2), dpi=90)
    (a, b), (c, d) = fig.subplots(2, 2)
    tables["exposed"].plot.barh(ax=a, color="C0")
    a.set_xlabel("distinct real users exposed (users)")
    a.set_title("Who saw operation content, by community", fontsize=9)
    tables["reads"].plot.bar(ax=b, color="C1", rot=0)
    b.set_ylabel("reads by real users (count)")
    b.set_title("Organic reads of operation content, by platform", fontsize=9)
    eng = tables["engaged"]
    im = c.imshow(eng.to_numpy(), cmap="Greys", aspect="auto", vmin=0,
                  vmax=max(1, int(eng.to_numpy().max())))
    c.set_yticks(range(len(eng.index)), eng.index, fontsize=7)
    c.set_xticks(range(len(eng.columns)), eng.columns, rotation=25, ha="right", fontsize=7)
    for (i, j), v in np.ndenumerate(eng.to_numpy()):
        c.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7,
               color="white" if v > 0.6 * eng.to_numpy().max() else "black")
    fig.colorbar(im, ax=c, label="users")
    c.set_title("Real users who engaged, platform x community", fontsize=9)
    if not df.empty:
        removed = df["operation_accounts_removed"].diff().fillna(df["operation_accounts_removed"])
        d.bar(df["day"], removed, width=1 / 24, color="C3", label="removed in the hour")
        d2 = d.twinx()
        d2.plot(df["day"], df["accounts_alive"], color="black", lw=1.5, label="alive (level)")
        d2.set_ylabel("operation accounts alive")
        d2.legend(fontsize=7, loc="upper right")
        d.legend(fontsize=7, loc="upper left")
    d.set_xlabel("simulated time (days)")
    d.set_ylabel("operation accounts removed per hour")
    d.set_title("Moderation's removals", fontsize=9)
    fig.tight_layout()
    return fig


def network_figure(sample: dict) -> Figure:
    """The sampled follower network: operation accounts as red triangles, real users as dots
    coloured by community."""
    import networkx as nx

    fig = Figure(figsize=(7.5, 6), dpi=90)
    ax = fig.subplots()
    g = nx.DiGraph(sample["edges"])
    g.add_nodes_from(sample["operation"])
    ax.set_title(f"Follower network sample on {sample['platform']}: live operation accounts "
                 "with the most real followers", fontsize=9)
    ax.axis("off")
    if g.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no live operation account", ha="center", transform=ax.transAxes)
        return fig
    pos = nx.spring_layout(g, seed=1, k=0.35)
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.35, arrowsize=6, width=0.7)
    names = sample["communities"]
    for ci, name in enumerate(names):
        nodes = [u for u, c in sample["organic"].items() if c == ci and u in pos]
        if nodes:
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, ax=ax, node_size=28,
                                   node_color=f"C{ci % 10}", label=f"real user: {name}")
    nx.draw_networkx_nodes(g, pos, nodelist=sample["operation"], ax=ax, node_shape="^",
                           node_size=110, node_color="red", edgecolors="black",
                           label="operation account")
    ax.legend(fontsize=7, loc="lower left", frameon=True)
    return fig


# ============================================================================ page


def _card(model, params: dict) -> None:
    """Status: hour, seed, Breakout category, kidding ratio and the levers this run uses."""
    df = ledger_frame(model)
    cfg, seed, users = run_facts(model)
    note = getattr(model, "seed_note", "")
    last = df.iloc[-1] if len(df) else None
    ratio = "undefined (no real engagement yet)"
    if last is not None and np.isfinite(last["kidding_ratio"]):
        ratio = f"{last['kidding_ratio']:,.0f} reported engagements per real one"
    with solara.Card("Run"):
        solara.Markdown(
            f"**hour {hour(model)}** (day {hour(model) / 24:.1f}) · seed **{seed}** · "
            f"{users:,} users · **Breakout category {breakout(model)}**  \n"
            f"kidding ratio: {ratio}" + (f"  \n_{note}_" if note else ""))
        settings = ", ".join(f"{k} = {_get_path(cfg, k)}" for k in params
                             if "." in k)
        solara.Markdown(f"<small>this run: {settings}. Sliders take effect at Reset.</small>")


def ledger_view(params: dict):
    def LedgerView(model):
        with solara.Column() as col:
            _card(model, params)
            solara.FigureMatplotlib(ledgers_figure(ledger_frame(model)), format="png")
        return col
    return LedgerView


def ExposureView(model):
    with solara.Column() as col:
        solara.Markdown(f"**Who was reached, and removals** (hour {hour(model)})")
        solara.FigureMatplotlib(exposure_figure(exposure_tables(model), ledger_frame(model)),
                                format="png")
    return col


def NetworkView(model):
    with solara.Column() as col:
        solara.Markdown(f"**Follower network sample** (hour {hour(model)}): red triangles are "
                        "operation accounts; bought followers are counts, not users, and are "
                        "not drawn")
        solara.FigureMatplotlib(network_figure(network_sample(model)), format="png")
    return col


@solara.component
def PostView(model):
    """Pick one of the most-read operation posts and see its counters."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    chosen, set_chosen = solara.use_state(None)
    posts = operation_posts(model)
    with solara.Card("Open an operation post"):
        solara.Markdown(
            "The model keeps counters on each post, not a list of who read or engaged with it, "
            "so readers and engagers cannot be listed here; the post's counters are shown.")
        if posts.empty:
            solara.Markdown("No operation post yet: press Step or Play.")
            return
        values = [int(g) for g in posts["gid"]]
        value = chosen if chosen in values else values[0]
        solara.Select("post (most read by real users first)", values=values, value=value,
                      on_value=set_chosen)
        d = post_details(model, value)
        if d is None:
            solara.Markdown("This post has left memory.")
            return
        solara.Markdown("\n".join(["| | |", "|---|---|"]
                                  + [f"| {k} | {v:,} |" if isinstance(v, int)
                                     and not isinstance(v, bool) else f"| {k} | {v} |"
                                     for k, v in d.items()]))


def make_page(scenario: dict, users: int = DEFAULT_USERS, name: str = "scenario"):
    """The SolaraViz page for a scenario (one model per browser session)."""
    params = model_params(scenario, users)

    @solara.component
    def Page():
        model = solara.use_memo(lambda: DashboardModel(scenario, users), [])
        return SolaraViz(model, components=[(ledger_view(params), 0), (ExposureView, 1),
                                            (NetworkView, 2), (PostView, 3)],
                         model_params=params, name=f"Who's kidding whom? {name}")

    return Page


def _page_from_env():
    path = Path(os.environ.get(ENV_CONFIG, DEFAULT_CONFIG))
    users = int(os.environ.get(ENV_USERS, DEFAULT_USERS))
    return make_page(load_scenario(path), users, path.stem)


Page = _page_from_env() if os.environ.get(ENV_CONFIG) else None
"""What ``solara run sim.dashboard`` serves (``sim dashboard`` sets the environment)."""
