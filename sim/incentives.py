"""Incentives: what operators report upwards, how the paymaster scores it, and how adaptive
operators learn from the score.

The 2021 Pudong police tender (NYT, secondary) counted posts and account survival weekly and
demanded follower growth; those are the quantities in each report, and the ``tender`` KPI. A KPI
is a weighted sum of ``log(1 + value)`` over per-operator, per-period quantities
(``config.REPORT_QUANTITIES``), vanity ones or, as a counterfactual, real ones. Adaptive
operators split a fixed budget among tactics and learn with an epsilon-greedy bandit which
split the KPI rewards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import portable
from .config import TACTICS
from .ledger import account_followers, kidding_ratio

if TYPE_CHECKING:
    from .model import InfluenceModel


def operator_figures(m: InfluenceModel) -> dict[str, np.ndarray]:
    """Per-operator figures now: cumulative counts and current levels, as one operator could
    report them (vanity) and as they really are (real)."""
    acc = m.operation.accounts
    n_ops = len(m.operators)
    c = m.posts.cols
    n = m.posts.n
    ids = np.flatnonzero(c["author"][:n] >= m.pop.n)  # written by operation accounts
    op = acc.operator[c["author"][ids] - m.pop.n]
    roots = ids[c["root"][ids] == ids]
    rop = acc.operator[c["author"][roots] - m.pop.n]

    def per_op(values: np.ndarray, who: np.ndarray = rop) -> np.ndarray:
        return np.bincount(who, weights=values, minlength=n_ops)

    organic_eng = (c["likes_organic"][roots] + c["reshares_organic"][roots]
                   + c["replies_organic"][roots]).astype(np.float64)
    organic_f, followers = account_followers(acc, m.platforms)
    return {
        "posts_published": np.bincount(op, minlength=n_ops).astype(np.float64),
        "accounts_alive": per_op(acc.alive.astype(np.float64), acc.operator),
        "followers": per_op(followers.astype(np.float64), acc.operator),
        "reported_engagements": per_op(organic_eng + m.posts.get("eng_op", roots)),
        "reported_impressions": per_op((c["imp_organic"][roots] + m.posts.get("imp_op", roots)
                                        + m.posts.get("imp_fake", roots)).astype(np.float64)),
        "organic_engagements": per_op(organic_eng),
        "organic_impressions": per_op(c["imp_organic"][roots].astype(np.float64)),
        "organic_followers": per_op(organic_f.astype(np.float64), acc.operator),
    }


def candidate_splits(kind: str) -> np.ndarray:
    """Budget splits an adaptive operator chooses among (rows sum to 1, columns = TACTICS)."""
    k = len(TACTICS)
    rows = [np.full(k, 1.0 / k)]
    for i in range(k):
        r = np.full(k, 0.4 / (k - 1))
        r[i] = 0.6
        rows.append(r)
    if kind == "pairs":
        for i in range(k):
            for j in range(i + 1, k):
                r = np.zeros(k)
                r[[i, j]] = 0.5
                rows.append(r)
    return np.array(rows)


class Learner:
    """Epsilon-greedy bandit over candidate budget splits: try each once, in order; then each
    period play the best average reward so far (lowest index on ties), or with probability
    ``epsilon`` a uniformly random split. Rewards are the paymaster's KPI for the period."""

    def __init__(self, arms: np.ndarray, epsilon: float, rng: np.random.Generator,
                 fixed: int | None = None) -> None:
        if fixed is not None and not 0 <= fixed < len(arms):
            raise ValueError(f"adaptation.fixed_split: {fixed} is not an arm index; allowed "
                             f"range: 0 <= value <= {len(arms) - 1}")
        self.arms = arms
        self.epsilon = epsilon
        self.rng = rng
        self.fixed = fixed
        self.counts = np.zeros(len(arms), np.int64)
        self.means = np.zeros(len(arms))
        self.arm = 0 if fixed is None else fixed
        self.history: list[tuple[int, float]] = []

    @property
    def allocation(self) -> np.ndarray:
        return self.arms[self.arm]

    def update(self, reward: float) -> None:
        """Credit the period's reward to the split played, and choose the next one."""
        a = self.arm
        self.history.append((a, reward))
        self.counts[a] += 1
        self.means[a] += (reward - self.means[a]) / self.counts[a]
        if self.fixed is not None:
            return
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            self.arm = int(untried[0])
        elif self.rng.random() < self.epsilon:
            self.arm = int(self.rng.integers(len(self.arms)))
        else:
            self.arm = int(np.argmax(self.means))

    def best(self) -> np.ndarray:
        """The split with the best average reward among those tried."""
        tried = self.counts > 0
        return self.arms[int(np.argmax(np.where(tried, self.means, -np.inf)))] if tried.any() \
            else self.allocation


REPORTED = ("posts_published", "reported_followers", "reported_engagements",
            "reported_impressions", "operation_accounts_removed", "accounts_run",
            "organic_engagements", "organic_impressions", "organic_exposed_users",
            "organic_followers_gained")
"""Cumulative ledger figures whose change over the period each report carries."""


class Paymaster(mesa.Agent):
    """Sees only what the operation reports: vanity figures, once per reporting period, and
    rewards each operator by its KPI (``paymaster.kpi``).

    Survival is the share of all accounts ever run that are alive: replacements keep it up.
    Each stored report also carries the period's real-ledger figures (``organic_*``) and the
    kidding ratios for the analyst: the paymaster never sees them unless its KPI is a
    real-ledger one (the counterfactual paymaster, which would need a way to measure real
    reach)."""

    model: InfluenceModel

    def __init__(self, model: InfluenceModel) -> None:
        super().__init__(model)
        self.period_ticks = 24 * model.cfg.paymaster.report_period_days
        self.weights = model.cfg.paymaster.weights()
        self.reports: list[dict] = []
        self.operator_reports: list[dict] = []
        self._last: dict[str, float] = {}
        self._last_op: dict[str, np.ndarray] = {}

    def step(self) -> None:
        m = self.model
        if (m.tick + 1) % self.period_ticks and m.tick + 1 != m.cfg.ticks:
            return
        now = m.ledger.snapshot(m.operation.accounts, m.platforms)
        n_run = m.operation.accounts.n
        report = {"period": len(self.reports), "end_tick": m.tick + 1,
                  "accounts_alive": now["accounts_alive"],
                  "survival_rate": now["accounts_alive"] / n_run if n_run else None}
        for k in REPORTED:
            report[k] = now[k] - self._last.get(k, 0)
        self._last = {k: now[k] for k in REPORTED}
        report["kidding_ratio"] = kidding_ratio(report["reported_engagements"],
                                                report["organic_engagements"])
        report["kidding_ratio_impressions"] = kidding_ratio(report["reported_impressions"],
                                                            report["organic_impressions"])
        rewards = self.reward_operators()
        report["paymaster_kpi"] = float(rewards.mean()) if rewards.size else None
        self.reports.append(report)

    def reward_operators(self) -> np.ndarray:
        """Each operator's KPI for the period; adaptive operators learn from it."""
        m = self.model
        if not len(m.operators):
            return np.zeros(0)
        fig = operator_figures(m)
        last = self._last_op or {k: np.zeros_like(v) for k, v in fig.items()}
        period = {k: fig[k] - last[k] for k in fig}
        self._last_op = fig
        values = {
            "posts_published": period["posts_published"],
            "accounts_alive": fig["accounts_alive"],
            "followers_gained": period["followers"],
            "reported_engagements": period["reported_engagements"],
            "reported_impressions": period["reported_impressions"],
            "organic_engagements": period["organic_engagements"],
            "organic_impressions": period["organic_impressions"],
            "organic_followers_gained": period["organic_followers"],
        }
        reward = sum(w * portable.log1p(np.maximum(values[k], 0.0))
                     for k, w in self.weights.items())
        for i, op in enumerate(m.operators):
            row = {"period": len(self.reports), "end_tick": m.tick + 1, "operator": i,
                   **{k: float(v[i]) for k, v in values.items()}, "kpi": float(reward[i])}
            if op.learner is not None:
                row.update({f"share_{t}": float(x) for t, x in
                            zip(TACTICS, op.learner.allocation, strict=True)})
                op.learner.update(float(reward[i]))
            self.operator_reports.append(row)
        return np.asarray(reward, float)
