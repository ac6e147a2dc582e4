"""The dashboard's page: Mesa's ``SolaraViz`` with one tab per view (so only the tab in view is
redrawn on a step): the run's status card and the two ledgers; exposure and removals; the
follower network sample; one operation post's counters."""

from __future__ import annotations

import numpy as np
import solara
from mesa.visualization import SolaraViz

from ..config import get_path
from .access import (
    DashboardModel,
    analyst_view,
    breakout,
    exposure_tables,
    hour,
    ledger_frame,
    network_sample,
    operation_posts,
    post_details,
    run_facts,
)
from .controls import DEFAULT_USERS, model_params
from .figures import exposure_figure, ledgers_figure, network_figure


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
        a = analyst_view(model)
        if a["op_posts_mean_engagements_public"] is not None:
            solara.Markdown(
                "**what an analyst sees** (public counters, own and bought ones included) "
                f"against **what is real**: accounts with no followers "
                f"{a['op_accounts_zero_followers_public']:.0%} vs "
                f"{a['op_accounts_zero_followers_real']:.0%}; posts with fewer than 100 views "
                f"{a['op_posts_lt100_views_public']:.0%} vs {a['op_posts_lt100_views_real']:.0%}; "
                f"engagements per post {a['op_posts_mean_engagements_public']:.2f} vs "
                f"{a['op_posts_mean_engagements_real']:.3f}")
        settings = ", ".join(f"{k} = {get_path(cfg, k)}" for k in params
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
