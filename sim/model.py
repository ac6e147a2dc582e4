"""The model: one tick is one hour, and :meth:`InfluenceModel.step` is the whole tick, in order.

State lives in arrays (population, follower graphs, feeds, posts, troll accounts); the Mesa
agents are the few decision-makers: operators (:mod:`sim.operation.operators`, whose hour the
staff works in arrays, one entry per operator), each moderating platform's moderators
(:mod:`sim.moderation.enforcement`, driven through an agent set) and the paymaster
(:mod:`sim.incentives`). What organic users
do is :class:`~sim.organic.OrganicUsers`; what operators' plans do is
:class:`~sim.operation.Operation`. Mesa's step count is the clock: hour ``steps - 1`` is being
simulated during a step (Mesa counts a step before running it).
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
from mesa.agent import AgentSet

from .analyst import OrganicPosts
from .config import LANGUAGES, Config
from .feeds import Outbox
from .incentives import Paymaster
from .ledger import Ledger
from .memory import keep_freed_memory
from .moderation import Moderation
from .network import make_follower_graph
from .operation import Operation, Operator, Staff
from .operation.accounts import n_operators
from .organic import OrganicUsers
from .platform import Platform
from .population import make_population
from .posts import PostStore, mark_roots


class InfluenceModel(mesa.Model):
    COMPACT_EVERY_HOURS = 24  # how often old posts leave memory (no effect on results)
    organic_cls = OrganicUsers  # the per-agent reference swaps in its own restatements
    platform_cls = Platform

    def __init__(self, cfg: Config, seed: int | None = None) -> None:
        seed = cfg.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        keep_freed_memory(cfg.population.n_users)  # large worlds reuse memory (sim/memory.py)
        # Draws that only feed the vanity ledger (bought followers, fake views) use their own
        # stream, derived from the same seed: buying followers cannot perturb the real world.
        self.vanity_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        self.cfg = cfg
        self.seed = seed
        rng = self.rng
        # --- the world: users, graphs, platforms, posts -------------------------------------
        pop, fitness = make_population(cfg, rng)  # fitness: for the graphs alone
        self.pop = pop
        usage = pop.member * np.array([p.usage_share for p in cfg.platforms])
        usage_frac = usage / usage.sum(axis=1, keepdims=True)
        self.platforms: list[Platform] = []
        for j, pcfg in enumerate(cfg.platforms):
            members = np.flatnonzero(pop.member[:, j]).astype(np.int32)
            graph = make_follower_graph(pcfg, members, pop.community, fitness, pop.n, rng)
            rate = pop.sessions_per_day[members] * usage_frac[members, j] / 24.0
            self.platforms.append(self.platform_cls(j, pcfg, members, graph, rate,
                                                    pop.utc_offset, pop.n,
                                                    cfg.engagement.feed_max_age_hours))
        self.posts = PostStore(capacity=1 << 16)
        self.analyst_posts = OrganicPosts()  # organic posts' final counters, as they age out
        self.ledger = Ledger(pop.n, len(self.platforms))
        self.outbox = Outbox()
        # --- the operation: accounts, operators, paymaster ----------------------------------
        self.operation = Operation(cfg, pop, self.platforms, self.posts, self.ledger,
                                   self.outbox, rng, self.vanity_rng)
        self.operators = AgentSet([Operator(self) for _ in range(n_operators(cfg))],
                                  random=self.random)
        self.staff = Staff(self)
        self.paymaster = Paymaster(self)
        # --- platforms' moderation: its own random stream (off: nothing else changes) --------
        self.moderation = Moderation(self) if any(
            cfg.moderation_of(j) for j in range(len(cfg.platforms))) else None
        self.operation.moderation = self.moderation
        self.organic = self.organic_cls(cfg, pop, self.posts, self.ledger, self.outbox,
                                        self.operation.accounts, rng, self.moderation)

    @property
    def tick(self) -> int:
        """The hour being simulated (during a step) or last simulated (between steps)."""
        return self.steps - 1

    def user(self, index: int) -> UserView:
        """A read-only view of organic user ``index`` (for inspection; registers nothing)."""
        return UserView(self, index)

    # ==== one tick ==============================================================================
    def step(self) -> None:
        """One hour of the world."""
        now = self.tick
        self.posts.start_hour()
        # 1. Operators decide their hour (buy followers; if on shift: replace removed accounts,
        #    build audience, post, plant replies, amplify); the plan is carried out in one pass.
        self.operation.carry_out(self.staff.plan_hour(), now)
        # 2. Organic users online on each platform read their ranked feeds, engage and post.
        self.organic.hour(self.platforms, now)
        # 3. Everything posted this hour reaches followers' feeds (readable from next hour on).
        self.ledger.add(deliveries=self.outbox.flush(self.platforms))
        # 4. Platforms moderate: scan for suspicious accounts, act on reviews that are due.
        if self.moderation is not None:
            self.moderation.step()
        # 5. The paymaster receives the period's report; the ledgers record the hour.
        self.paymaster.step()
        self.ledger.record(self.steps, self.operation.accounts, self.platforms)
        # 6. Once a day, posts too old for any feed leave memory (the ledgers keep their totals).
        if self.steps % self.COMPACT_EVERY_HOURS == 0:
            self.age_out(self.steps - self.cfg.engagement.feed_max_age_hours)

    def run(self, ticks: int | None = None, progress=None) -> None:
        for _ in range(self.cfg.ticks if ticks is None else ticks):
            self.step()
            if progress is not None:
                progress.update(1)

    def age_out(self, cutoff: int) -> None:
        """Drop from memory the posts created before ``cutoff`` (invisible in feeds from now on,
        see ``feeds.read``), except operation content (for the posts table) and the roots of
        posts kept; every array holding post indices is remapped. Changes no result: a run
        compacting every hour equals one never compacting (``tests/test_posts.py``)."""
        first = self.posts.first_since(cutoff)
        if first == 0:
            return
        c = self.posts.cols
        n = self.posts.n
        keep = np.ones(n, bool)
        keep[:first] = c["is_op"][:first]
        mark_roots(keep, c["root"][:n])
        self.analyst_posts.add(self.posts, np.flatnonzero(~keep[:first]))
        renumbered = self.posts.compact(keep)
        for pf in self.platforms:
            pf.feeds.remap(renumbered)
        self.organic.memory.remap(renumbered)
        if self.moderation is not None:
            self.moderation.compact(renumbered.new)


@dataclass(frozen=True)
class UserView:
    """A read-only view of one organic user (the population's state lives in arrays)."""

    model: InfluenceModel
    index: int

    def __repr__(self) -> str:
        return f"UserView({', '.join(f'{k}={v}' for k, v in self.describe().items())})"

    def describe(self) -> dict:
        m, i = self.model, self.index
        pop = m.pop
        return {
            "index": i,
            "community": pop.community_names[pop.community[i]],
            "language": LANGUAGES[pop.language[i]],
            "utc_offset": int(pop.utc_offset[i]),
            "sessions_per_day": float(pop.sessions_per_day[i]),
            "attention": int(pop.attention[i]),
            "propensity": float(pop.propensity[i]),
            "media": bool(pop.is_media[i]),
            "high_profile": bool(pop.is_high_profile[i]),
            "platforms": [pf.name for pf in m.platforms if pop.member[i, pf.index]],
            "operation_items_read": int(m.ledger.op_exposure[i]),
        }
