"""SimSoM as a configuration of this engine: quality of the information ecosystem under attack.

A re-implementation (own code) of the model of Truong, Lou, Flammini & Menczer, "Quantifying the
vulnerabilities of the online public square to adversarial manipulation tactics", PNAS Nexus
3:pgae258 (2024), filled in from the authors' published code and result files (osome-iu/SimSoM,
``libs/simsom``; ``report_figures/main_results``). docs/simsom.md lists every rule and every
difference from the paper.

Rules, one step (synchronous, as in the published code "SimSomV4.6zl (synchronous)"):

* every active agent either posts a new message (probability ``mu``, or always if its feed is
  empty) or reshares one item of its feed, chosen with probability proportional to
  ``appeal x shares x exp(-0.4 age^0.4)`` (Wu & Huberman's stretched-exponential recency);
* every chosen message goes to the top of each follower's feed, with ``theta`` copies if the
  poster is a bad actor (flooding): copies of one message collapse into one feed item whose
  share count is ``theta``, so flooding multiplies the item's selection weight (as in the
  published code); a message already in the feed gets its share count raised instead;
* each feed keeps the ``sigma`` youngest items; fresh items that compete for the last places
  are ordered by a random permutation of their senders (the published code's random agent order);
* human messages have quality with density ~ exp(lambda q) on [0, 1] and appeal
  ``1 - (1-u)^(1/appeal_exponent)``, independent of quality; bad actors' messages have quality 0
  and appeal 1 with probability ``phi`` (deception), else a human-like appeal;
* the system quality is the average quality of the items in human feeds, smoothed
  ``q <- rho q + (1 - rho) q_now`` from q = 1; the run stops when the relative change of q falls
  below ``epsilon`` (the published convergence rule).

Everything is population arrays; a step costs two integer sorts over the follower edges.
Random numbers come from four streams spawned from the run seed (human graph, bad-actor graph
and infiltration, human dynamics, bad-actor dynamics), and every human draw has a fixed size, so
without bad-actor edges into human feeds (``beta = 0`` or ``gamma = 0``) the human dynamics are
bit-for-bit those of the run without bad actors: relative quality is exactly 1 by construction.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import portable
from ..config import Config, PlatformConfig
from ..network import make_follower_graph, sorted_unique
from ..population import pareto_fitness
from .config import SimsomConfig

STREAMS = ("human_graph", "bot_graph", "human_dynamics", "bot_dynamics")


def quality_from_uniform(u: np.ndarray, lam: float) -> np.ndarray:
    """Inverse CDF of the density ``lam exp(lam q) / (exp(lam) - 1)`` on [0, 1].

    SimSoM draws human quality this way (published code, ``expon_quality``; the paper's result
    files use lambda = 10, skewed towards high quality, mean ~0.9). ``lam = 0`` is uniform."""
    if abs(lam) < 1e-12:
        return u.copy()
    return portable.log1p(u * math.expm1(lam)) / lam


def appeal_from_uniform(u: np.ndarray, exponent: float) -> np.ndarray:
    """Appeal ``a = 1 - (1 - u)^(1/exponent)``: density ``exponent (1 - a)^(exponent - 1)``,
    right-skewed (most messages unappealing), independent of quality (published code,
    ``linear_appeal``; the paper's runs used exponent 5)."""
    return 1.0 - portable.power(1.0 - u, 1.0 / exponent)


def heterogeneous_follows(n: int, mean: float, sigma: float, fitness: np.ndarray | None,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Directed follows (author, follower) with a broad out-degree: human i follows
    Poisson(mean x L_i) others, L_i lognormal with mean 1 and shape ``sigma``, each chosen in
    proportion to ``fitness`` (uniformly if None). Duplicates and self-follows are dropped.

    Real follower networks have broad friend counts as well as broad follower counts; the
    engine's Chung-Lu generator draws Poisson out-degrees, so every human would read about the
    same number of friends and bad actors would be the same small share of everyone's input."""
    scale = portable.exp(sigma * rng.standard_normal(n) - sigma * sigma / 2)
    out_deg = rng.poisson(mean * scale)
    follower = np.repeat(np.arange(n, dtype=np.int64), out_deg)
    if fitness is None:
        author = rng.integers(0, n, follower.size)
    else:
        cum = np.cumsum(fitness)
        author = np.minimum(np.searchsorted(cum, rng.random(follower.size) * cum[-1],
                                            side="right"), n - 1)
    key = sorted_unique(author.astype(np.int64) * n + follower)
    a, f = key // n, key % n
    keep = a != f
    return a[keep], f[keep]


@dataclass
class SimsomResult:
    """What one SimSoM run produced (and its baseline, if computed)."""

    average_quality: float
    """Smoothed (EMA) average quality of items in human feeds at convergence (the paper)."""
    final_quality: float
    """Unsmoothed average quality of items in human feeds at the last step."""
    steps: int
    converged: bool
    quality_series: np.ndarray
    ema_series: np.ndarray
    n_humans: int
    n_bots: int
    edges_human: int
    edges_bot_bot: int
    edges_infiltration: int
    messages_created: int
    bot_items_in_human_feeds: float
    """Share of human feed slots holding a bad actor's message at the end."""
    runtime_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class SimSoMModel:
    """The SimSoM dynamics on one generated network (humans + bad actors).

    ``SimSoMModel(cfg).run()`` returns a :class:`SimsomResult`. It is a sibling of
    :class:`sim.model.InfluenceModel`, not a subclass: SimSoM has no platforms, sessions or
    operators, only agents, feeds of ``sigma`` items and one step rule (Truong et al. 2024)."""

    def __init__(self, cfg: Config, *, without_bots: bool = False) -> None:
        self.cfg = cfg
        self.p: SimsomConfig = cfg.simsom
        self.seed = int(cfg.run.seed)
        seqs = np.random.SeedSequence(self.seed).spawn(len(STREAMS))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seqs, strict=True)}
        p = self.p
        self.n_h = int(p.n_humans)
        self.n_b = 0 if without_bots else int(round(p.beta * p.n_humans))
        self.n = self.n_h + self.n_b
        self._build_network(without_bots)
        self._init_state()

    # ---------------------------------------------------------------- network
    def _build_network(self, without_bots: bool) -> None:
        """Human follower graph (own stream), bad-actor graph and infiltration (another stream).

        The human graph reuses the engine's directed Chung-Lu generator (one community, no
        homophily): each human follows Poisson(``followees_mean``) others, chosen in proportion
        to a Pareto popularity, so in-degree is heavy-tailed (hubs), as in the empirical Twitter
        network of the paper. Bad actors follow each other (Erdos-Renyi, ``bot_followees_mean``;
        the published code uses a random-walk growth model with k_out = 3) and each human follows
        each bad actor independently with probability ``gamma`` (infiltration)."""
        p = self.p
        g = self.rng["human_graph"]
        n_h = self.n_h
        fitness = pareto_fitness(g, n_h, p.popularity_exponent)
        if p.followees_sigma == 0:
            plat = PlatformConfig(name="simsom", graph=p.graph, followees_mean=p.followees_mean,
                            homophily=0.0)
            hg = make_follower_graph(plat, np.arange(n_h), np.zeros(n_h, np.int64), fitness,
                                     n_h, g)
            src_h = np.repeat(np.arange(n_h, dtype=np.int64), np.diff(hg.indptr))
            dst_h = hg.followers.astype(np.int64)
        else:
            src_h, dst_h = heterogeneous_follows(n_h, p.followees_mean, p.followees_sigma,
                                                 fitness if p.graph == "chung_lu" else None, g)
        self.edges_human = int(src_h.size)
        src_parts, dst_parts = [src_h], [dst_h]
        self.edges_bot_bot = 0
        self.edges_infiltration = 0
        if self.n_b > 0 and not without_bots:
            b = self.rng["bot_graph"]
            n_b = self.n_b
            if n_b > 1:
                k = b.poisson(p.bot_followees_mean * n_b)
                fol = b.integers(0, n_b, k)
                aut = b.integers(0, n_b, k)
                key = np.unique(aut.astype(np.int64) * n_b + fol)
                a, f = key // n_b, key % n_b
                keep = a != f
                src_parts.append(n_h + a[keep])
                dst_parts.append(n_h + f[keep])
                self.edges_bot_bot = int(keep.sum())
            # Infiltration: human h follows bot j with probability gamma, independently.
            n_fol = b.binomial(n_h, p.gamma, n_b)
            for j in np.flatnonzero(n_fol):  # one draw per bad actor: setup, not the hot path
                fol = b.choice(n_h, int(n_fol[j]), replace=False)
                src_parts.append(np.full(fol.size, n_h + j, np.int64))
                dst_parts.append(fol.astype(np.int64))
            self.edges_infiltration = int(n_fol.sum())
        src = np.concatenate(src_parts)
        dst = np.concatenate(dst_parts)
        order = np.lexsort((src, dst))
        self.e_src = src[order]
        self.e_dst = dst[order]

    # ---------------------------------------------------------------- state
    def _init_state(self) -> None:
        p = self.p
        n, s = self.n, p.sigma
        self.feed = np.full((n, s), -1, np.int64)
        self.shares = np.zeros((n, s), np.float64)
        self.age = np.zeros((n, s), np.int64)
        self.is_bot = np.zeros(n, bool)
        self.is_bot[self.n_h:] = True
        self.mult = np.where(self.is_bot, float(p.theta), 1.0)
        cap = max(1024, 4 * n)
        self.m_quality = np.zeros(cap, np.float64)
        self.m_appeal = np.zeros(cap, np.float64)
        self.m_bot = np.zeros(cap, bool)
        self.n_msgs = 0
        # Bit layout of the packed sort keys: follower | message | sender rank.
        self.bits_k = int(n + s + 1).bit_length()
        self.bits_f = int(n).bit_length()
        self.bits_m = 63 - self.bits_f - self.bits_k
        if self.bits_m < 24:
            raise ValueError(f"simsom: {n} agents is too many for the packed sort keys")
        self.dst_shift = self.e_dst << (self.bits_m + self.bits_k)
        self.tick = 0

    def _grow(self, need: int) -> None:
        cap = self.m_quality.size
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name in ("m_quality", "m_appeal", "m_bot"):
            old = getattr(self, name)
            arr = np.zeros(new, old.dtype)
            arr[: old.size] = old
            setattr(self, name, arr)
        if new >= 1 << self.bits_m:
            raise ValueError("simsom: too many messages for the packed sort keys; "
                             "lower max_steps or n_humans")

    # ---------------------------------------------------------------- draws
    def _draws(self) -> dict[str, np.ndarray]:
        """Every uniform of the step, humans and bad actors from separate streams, fixed sizes."""
        names = ("active", "post", "pick", "key", "quality", "appeal")
        h = self.rng["human_dynamics"]
        out = {k: h.random(self.n_h) for k in names}
        if self.n_b:
            b = self.rng["bot_dynamics"]
            bot = {k: b.random(self.n_b) for k in (*names, "phi")}
            out = {k: np.concatenate((out[k], bot[k])) for k in names} | {"phi": bot["phi"]}
        return out

    # ---------------------------------------------------------------- one step
    def step(self) -> float:
        """One synchronous step: act on the feeds as they were, then deliver. Returns the
        average quality of the items in human feeds after delivery."""
        p = self.p
        n_h = self.n_h
        u = self._draws()
        active = u["active"] < p.activation_fraction if p.activation_fraction < 1 else \
            np.ones(self.n, bool)
        has_feed = self.feed[:, 0] >= 0
        new = active & (~has_feed | (u["post"] < p.mu))
        resh = active & ~new

        msg = np.full(self.n, -1, np.int64)
        # Reshare: pick a feed item with probability ~ appeal x shares x recency.
        rows = np.flatnonzero(resh)
        if rows.size:
            f = self.feed[rows]
            filled = f >= 0
            w = np.where(filled, self.m_appeal[np.maximum(f, 0)] * self.shares[rows]
                         * portable.exp(-p.recency_scale
                                        * portable.power(self.age[rows], p.recency_exponent)),
                         0.0)
            cum = np.cumsum(w, axis=1)
            total = cum[:, -1]
            # All-zero weights (appeal exactly 0): pick uniformly among the filled slots.
            zero = total <= 0
            if zero.any():
                w[zero] = filled[zero]
                cum[zero] = np.cumsum(w[zero], axis=1)
                total = cum[:, -1]
            target = u["pick"][rows] * total
            idx = np.minimum((cum <= target[:, None]).sum(axis=1), p.sigma - 1)
            msg[rows] = f[np.arange(rows.size), idx]
        # New messages.
        rows = np.flatnonzero(new)
        if rows.size:
            self._grow(self.n_msgs + rows.size)
            ids = self.n_msgs + np.arange(rows.size)
            bot = self.is_bot[rows]
            q = np.where(bot, 0.0, quality_from_uniform(u["quality"][rows], p.lambda_quality))
            a = appeal_from_uniform(u["appeal"][rows], p.appeal_exponent)
            if self.n_b:
                deceive = np.zeros(self.n, bool)
                deceive[n_h:] = u["phi"] < p.phi
                a = np.where(deceive[rows], 1.0, a)
            self.m_quality[ids] = q
            self.m_appeal[ids] = a
            self.m_bot[ids] = bot
            msg[rows] = ids
            self.n_msgs += rows.size
        self._deliver(msg, u["key"])
        self.tick += 1
        hf = self.feed[:n_h]
        filled = hf >= 0
        return float(self.m_quality[hf[filled]].mean()) if filled.any() else 0.0

    def _deliver(self, msg: np.ndarray, key: np.ndarray) -> None:
        """Push each sender's message to its followers' feeds and keep the ``sigma`` youngest.

        Sort 1 groups (follower, message) pairs, incoming and already in the feed, so repeats
        add to the share count; sort 2 orders each follower's fresh messages by the earliest
        sender in this step's random order (the published code's permutation of agents)."""
        p = self.p
        n, s = self.n, p.sigma
        bk, bm = self.bits_k, self.bits_m
        sending = msg >= 0
        # Sender ranks: a random permutation of the agents (ties impossible).
        rank = np.empty(n, np.int64)
        rank[np.argsort(key, kind="stable")] = np.arange(n)
        by_rank_mult = np.empty(n + s + 1, np.float64)
        by_rank_mult[rank] = self.mult
        by_rank_mult[n:] = 0.0  # feed entries carry no new shares
        v = (np.maximum(msg, 0) << bk) | rank
        es = self.e_src
        live = sending[es]
        comp_in = self.dst_shift[live] + v[es[live]] if not live.all() else self.dst_shift + v[es]
        fr, sl = np.nonzero(self.feed >= 0)
        comp_old = (fr.astype(np.int64) << (bm + bk)) | (self.feed[fr, sl] << bk) | (n + sl)
        comp = np.sort(np.concatenate((comp_in, comp_old)))
        self.age[self.feed >= 0] += 1
        if comp.size == 0:
            return
        grp = comp >> bk
        low = comp & ((1 << bk) - 1)
        start = np.flatnonzero(np.concatenate(([True], grp[1:] != grp[:-1])))
        g_key = grp[start]
        g_first = low[start]  # smallest sender rank, or n + slot if only in the feed
        g_count = np.add.reduceat(by_rank_mult[low], start)
        g_last = low[np.append(start[1:], comp.size) - 1]
        in_feed = g_last >= n
        g_f = g_key >> bm
        # Repeats of messages already in the feed: add the shares at their slot.
        hit = in_feed & (g_first < n)
        if hit.any():
            self.shares[g_f[hit], g_last[hit] - n] += g_count[hit]
        fresh = ~in_feed
        if not fresh.any():
            return
        f_f = g_f[fresh]
        f_m = g_key[fresh] & ((1 << bm) - 1)
        f_c = g_count[fresh]
        f_r = g_first[fresh]
        # Only the s earliest senders per follower can win a slot. Sender ranks are a uniform
        # permutation, so a follower with d fresh messages keeps only ranks below
        # n * 3s / d; followers left with fewer than s candidates keep all theirs (exact).
        d = np.bincount(f_f, minlength=n)
        limit = np.ceil(n * np.minimum(1.0, 3.0 * s / np.maximum(d, 1))).astype(np.int64)
        cand = f_r < limit[f_f]
        short = np.bincount(f_f[cand], minlength=n) < np.minimum(d, s)
        cand |= short[f_f]
        ci = np.flatnonzero(cand)
        comp2 = np.sort((f_f[ci] << (bk + bm)) | (f_r[ci] << bm) | ci)
        # The group index rides in the message bits' place: fresh groups are < 2^bm in number.
        idx = comp2 & ((1 << bm) - 1)
        ff = comp2 >> (bk + bm)
        st = np.flatnonzero(np.concatenate(([True], ff[1:] != ff[:-1])))
        counts = np.diff(np.append(st, ff.size))
        pos = np.arange(ff.size) - np.repeat(st, counts)
        keep = pos < s
        k_idx, k_pos, k_f = idx[keep], pos[keep], ff[keep]
        n_fresh = np.zeros(n, np.int64)
        n_fresh[ff[st]] = np.minimum(counts, s)
        # Old items slide down by n_fresh (youngest first), fresh ones fill the top.
        j = np.arange(s)[None, :] - n_fresh[:, None]
        ok = j >= 0
        jj = np.maximum(j, 0)
        self.feed = np.where(ok, np.take_along_axis(self.feed, jj, 1), -1)
        self.shares = np.where(ok, np.take_along_axis(self.shares, jj, 1), 0.0)
        self.age = np.where(ok, np.take_along_axis(self.age, jj, 1), 0)
        self.feed[k_f, k_pos] = f_m[k_idx]
        self.shares[k_f, k_pos] = f_c[k_idx]
        self.age[k_f, k_pos] = 0

    # ---------------------------------------------------------------- run
    def run(self) -> SimsomResult:
        """Step until the smoothed quality converges (published rule) or ``max_steps``."""
        p = self.p
        t0 = time.perf_counter()
        q = 1.0  # the published code starts the moving average at 1
        series, emas = [], []
        converged = False
        while self.tick < p.max_steps:
            now = self.step()
            new_q = p.rho * q + (1 - p.rho) * now
            diff = abs(new_q - q) / q if q > 0 else 0.0
            q = new_q
            series.append(now)
            emas.append(q)
            if self.tick >= p.min_steps and diff <= p.epsilon:
                converged = True
                break
        hf = self.feed[: self.n_h]
        filled = hf >= 0
        bot_share = float(self.m_bot[hf[filled]].mean()) if filled.any() else 0.0
        return SimsomResult(
            average_quality=q, final_quality=series[-1] if series else 0.0, steps=self.tick,
            converged=converged, quality_series=np.asarray(series),
            ema_series=np.asarray(emas), n_humans=self.n_h, n_bots=self.n_b,
            edges_human=self.edges_human, edges_bot_bot=self.edges_bot_bot,
            edges_infiltration=self.edges_infiltration, messages_created=self.n_msgs,
            bot_items_in_human_feeds=bot_share, runtime_seconds=time.perf_counter() - t0)


# Baselines by (seed, human-side settings): with paired seeds a sweep worker computes the
# no-bad-actor run once per replicate instead of once per design point.
_BASELINES: OrderedDict[str, SimsomResult] = OrderedDict()
_BASELINE_CACHE_SIZE = 32
HUMAN_FIELDS = ("n_humans", "graph", "followees_mean", "followees_sigma", "popularity_exponent",
                "mu", "sigma",
                "lambda_quality", "appeal_exponent", "recency_scale", "recency_exponent",
                "activation_fraction", "rho", "epsilon", "min_steps", "max_steps")


def baseline(cfg: Config) -> SimsomResult:
    """The same seed and human settings without bad actors (the paper's reference run)."""
    p = cfg.simsom
    key = json.dumps([int(cfg.run.seed)] + [getattr(p, k) for k in HUMAN_FIELDS])
    if key in _BASELINES:
        _BASELINES.move_to_end(key)
        return _BASELINES[key]
    res = SimSoMModel(cfg, without_bots=True).run()
    _BASELINES[key] = res
    while len(_BASELINES) > _BASELINE_CACHE_SIZE:
        _BASELINES.popitem(last=False)
    return res


def run_pair(cfg: Config) -> tuple[SimsomResult, SimsomResult | None]:
    """Run SimSoM with bad actors and, if ``simsom.baseline``, its no-bad-actor baseline."""
    res = SimSoMModel(cfg).run()
    base = baseline(cfg) if cfg.simsom.baseline else None
    return res, base


def summary(cfg: Config, res: SimsomResult, base: SimsomResult | None) -> dict[str, Any]:
    """The SimSoM outcomes as flat summary entries (``relative_quality`` is the headline)."""
    rel = res.average_quality / base.average_quality if base is not None \
        and base.average_quality > 0 else float("nan")
    out: dict[str, Any] = {
        "model": "simsom",
        "relative_quality": rel,
        "average_quality": res.average_quality,
        "baseline_average_quality": base.average_quality if base else float("nan"),
        "final_quality": res.final_quality,
        "baseline_final_quality": base.final_quality if base else float("nan"),
        "steps": res.steps,
        "converged": res.converged,
        "baseline_steps": base.steps if base else 0,
        "baseline_converged": base.converged if base else False,
        "n_humans": res.n_humans,
        "n_bad_actors": res.n_bots,
        "edges_human": res.edges_human,
        "edges_bad_actor": res.edges_bot_bot,
        "edges_infiltration": res.edges_infiltration,
        "mean_followees": res.edges_human / max(res.n_humans, 1),
        "messages_created": res.messages_created,
        "bad_actor_share_of_human_feeds": res.bot_items_in_human_feeds,
        "simulation_seconds": round(res.runtime_seconds, 3),
        "baseline_simulation_seconds": round(base.runtime_seconds, 3) if base else 0.0,
    }
    return out


def quality_figure(ts: Any, summary_: dict[str, Any], path: Any) -> None:
    """Average quality in human feeds per step (raw and smoothed), with the baseline level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if len(ts):
        ax.plot(ts["step"], ts["quality"], lw=0.8, label="average quality in human feeds")
        ax.plot(ts["step"], ts["quality_ema"], lw=1.5, label="smoothed (rho)")
    b = summary_.get("baseline_average_quality")
    if b is not None and np.isfinite(b):
        ax.axhline(b, color="k", ls="--", lw=1, label="baseline (no bad actors)")
    ax.set_xlabel("step")
    ax.set_ylabel("quality")
    ax.set_title(f"SimSoM: relative quality {summary_.get('relative_quality', float('nan')):.3f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
