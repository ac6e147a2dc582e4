"""MODEL ACCESS: everything the dashboard reads from the model's internals (attribute names of
``InfluenceModel``, its ledger, posts, accounts, platforms and population) is in this module,
so that a renamed attribute is fixed in one place. Nothing else in ``sim.dashboard`` does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config import Config, build_config
from ..ledger import breakout_category
from ..model import InfluenceModel
from .controls import DEFAULT_CONFIG, DEFAULT_USERS, load_scenario


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
        fol = g.followers_of(u)
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


def analyst_view(model: InfluenceModel) -> dict[str, float | None]:
    """What an outside analyst would read off the platforms' public counters so far, beside
    the real ledger (``sim.analyst``)."""
    from ..analyst import account_table, post_table, statistics

    posts = post_table(model)
    return statistics(model, posts, account_table(model, posts))


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
        "timeliness (0-1)": round(float(p.get("timeliness", np.array([i]))[0]), 2),
    }
    out.update({label: int(p.get(col, np.array([i]))[0]) for col, label in POST_COUNTERS.items()})
    return out
