"""The operation's troll accounts: one row each, and how they are made.

Accounts are rows of :class:`TrollAccounts`, created at the start (``make_accounts``) and as
replacements of removed ones (``new_accounts`` with an origin: bought from sellers, hijacked,
or freshly opened). Bought (fake) followers are drawn from the vanity stream: they only inflate
counts, so buying them cannot perturb the real world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..config import Config
from ..population import beta_params, categorical, category_of
from ..posts import resized

ORIGIN_NAMES = ("initial", "bought", "hijacked", "fresh")
"""How an account came to the operation: at the start, or as a replacement of each kind."""


@dataclass
class TrollAccounts:
    platform: np.ndarray  # int8
    operator: np.ndarray  # int32
    community: np.ndarray  # int8 persona community
    language: np.ndarray  # int8
    fluency: np.ndarray  # float32, quality of its content
    created: np.ndarray  # int32 tick the operation started running it
    hijacked: np.ndarray  # bool: arrived with an old audience
    origin: np.ndarray  # int8 index into ORIGIN_NAMES
    buys_followers: np.ndarray  # bool: its followers are bought (follower_buying_share)
    follows_team: np.ndarray  # bool: it follows its team-mates (team_follow_share)
    born: np.ndarray = field(init=False)  # int32 tick the account was registered (<= created)
    alive: np.ndarray = field(init=False)
    fake_followers: np.ndarray = field(init=False)  # int64 bought followers
    removed_tick: np.ndarray = field(init=False)  # int32, -1 while alive
    first_post: np.ndarray = field(init=False)  # int32 tick of its first post, -1 if none
    # followers by where they came from (the public counter adds them up; see sim.analyst)
    followers_won: np.ndarray = field(init=False)  # int64 organic users it won (real)
    followers_inherited: np.ndarray = field(init=False)  # int64 a hijacked account's audience
    team_followers_at_removal: np.ndarray = field(init=False)  # int64, -1 while alive

    def __post_init__(self) -> None:
        n = self.platform.size
        self.born = self.created.copy()
        self.alive = np.ones(n, bool)
        self.fake_followers = np.zeros(n, np.int64)
        self.removed_tick = np.full(n, -1, np.int32)
        self.first_post = np.full(n, -1, np.int32)
        self.followers_won = np.zeros(n, np.int64)
        self.followers_inherited = np.zeros(n, np.int64)
        self.team_followers_at_removal = np.full(n, -1, np.int64)
        self._storage: dict[str, np.ndarray] = {}  # see extend

    @property
    def n(self) -> int:
        return int(self.platform.size)

    def extend(self, new: TrollAccounts) -> np.ndarray:
        """Append ``new`` accounts (replacements); returns their ids.

        Each field is a view of the first ``n`` entries of a larger storage array, grown by a
        quarter when full, so the few replacements operators make each hour cost no copy of
        every account (appending by concatenation made replacing accounts quadratic in the
        size of the operation, which grows with the population)."""
        n0, n1 = self.n, self.n + new.n
        for name in self.__dataclass_fields__:
            field_now, store = getattr(self, name), self._storage.get(name)
            if store is None or store.size < n1 or field_now.base is not store:
                store = self._storage[name] = resized(field_now, int(1.25 * n1), n0, 0)
            store[n0:n1] = getattr(new, name)
            setattr(self, name, store[:n1])
        return np.arange(n0, n1)

    def team(self, n_platforms: int) -> np.ndarray:
        """Each account's team: the accounts of the same operator on the same platform, which
        amplify and follow one another (a key ``operator * n_platforms + platform``)."""
        return self.operator.astype(np.int64) * n_platforms + self.platform

    def team_followers(self, n_platforms: int) -> np.ndarray:
        """Followers each account has in its team now: live team-mates that follow their team
        (0 once removed)."""
        team = self.team(n_platforms)
        follows = self.alive & self.follows_team
        k = np.bincount(team[follows], minlength=int(team.max(initial=0)) + 1)[team]
        return np.where(self.alive, k - follows, 0)

    def won(self, ids: np.ndarray) -> int:
        """Organic users started following accounts ``ids`` (one entry per new follower, by
        follow-back or after reading their content): real followers gained. Returns how many."""
        np.add.at(self.followers_won, ids, 1)
        return int(ids.size)

    def retire(self, ids: np.ndarray, tick: int, n_platforms: int) -> None:
        """Accounts ``ids`` are removed now; the team followers they had are kept for the
        public counters (what a platform showed when it disabled them)."""
        self.team_followers_at_removal[ids] = self.team_followers(n_platforms)[ids]
        self.alive[ids] = False
        self.removed_tick[ids] = tick

    def buy_followers(self, ids: np.ndarray, mean: np.ndarray | float,
                      vanity_rng: np.random.Generator) -> np.ndarray:
        """Bought followers for accounts ``ids`` (Poisson; none for accounts that do not buy):
        returns how many each got."""
        got = vanity_rng.poisson(mean, ids.size) if np.ndim(mean) == 0 \
            else vanity_rng.poisson(mean)
        return self.bought(ids, got)

    def bought(self, ids: np.ndarray, got: np.ndarray) -> np.ndarray:
        """Followers the accounts ``ids`` bought, of the ``got`` drawn for each: none for the
        accounts that do not buy."""
        return np.where(self.buys_followers[ids], got, 0)


def n_operators(cfg: Config) -> int:
    oc = cfg.operation
    if not oc.enabled:
        return 0
    if oc.scale_with_users:
        return max(1, round(oc.n_operators * cfg.population.n_users / oc.reference_users)) \
            if oc.n_operators else 0
    return oc.n_operators


def make_accounts(cfg: Config, rng: np.random.Generator,
                  vanity_rng: np.random.Generator) -> TrollAccounts:
    """The operation's first accounts: ``accounts_per_operator`` per operator, spread over
    platforms by ``platform_weights``, each with bought followers."""
    oc = cfg.operation
    n_ops = n_operators(cfg)
    n = n_ops * oc.accounts_per_operator
    names = [p.name for p in cfg.platforms]
    w = np.array([oc.platform_weights.get(nm, 0.0 if oc.platform_weights else 1.0)
                  for nm in names])
    platform = categorical(rng, w, n).astype(np.int8)
    accounts = new_accounts(cfg, draw_personas(cfg, rng, vanity_rng, n, hijacked=True), platform,
                            np.repeat(np.arange(n_ops, dtype=np.int32), oc.accounts_per_operator),
                            hijacked=None, tick=0)
    accounts.fake_followers[:] = accounts.buy_followers(np.arange(n), oc.fake_followers_mean,
                                                        vanity_rng)
    return accounts


class PersonaDraws(NamedTuple):
    """The random numbers behind new accounts' personas (:func:`draw_personas`), kept apart
    from what they make (:func:`new_accounts`) so that many small batches, each drawn in turn,
    become accounts in one go."""

    community: np.ndarray  # uniforms
    language: np.ndarray  # uniforms
    fluency: np.ndarray  # beta draws
    hijacked: np.ndarray  # uniforms (empty: the caller decides)
    buys_followers: np.ndarray  # vanity uniforms (empty: every account buys)
    follows_team: np.ndarray  # vanity uniforms (empty: every account follows its team)


def draw_personas(cfg: Config, rng: np.random.Generator, vanity_rng: np.random.Generator,
                  n: int, hijacked: bool) -> PersonaDraws:
    """Draw ``n`` accounts' personas, in this order: community, language, fluency and (if
    ``hijacked``) whether each was hijacked, with ``hijacked_share``; then, from the vanity
    stream, whether each buys followers and follows its team. Those two traits only shape what
    an account can show, and are drawn only when a share is below 1, so that the default world
    is unchanged."""
    a, b = beta_params(cfg.operation.fluency_mean, cfg.operation.fluency_concentration)
    community, language = rng.random(n), rng.random(n)
    fluency = rng.beta(a, b, n)
    hij = rng.random(n) if hijacked else np.zeros(0)
    return PersonaDraws(community, language, fluency, hij, *draw_vanity_traits(cfg, vanity_rng, n))


def draw_vanity_traits(cfg: Config, vanity_rng: np.random.Generator, n: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The vanity stream's part of :func:`draw_personas`: whether each of ``n`` accounts buys
    followers and follows its team (uniforms; none drawn, empty, for a share of 1)."""
    oc = cfg.operation
    none = np.zeros(0)
    return (vanity_rng.random(n) if oc.follower_buying_share < 1 else none,
            vanity_rng.random(n) if oc.team_follow_share < 1 else none)


def new_accounts(cfg: Config, draws: PersonaDraws, platform: np.ndarray, operator: np.ndarray,
                 hijacked: np.ndarray | None, tick: int,
                 origin: np.ndarray | None = None) -> TrollAccounts:
    """Accounts with the personas ``draws`` stand for under the operation's config
    (``hijacked=None``: from the draws, with ``hijacked_share``, as at the start)."""
    oc = cfg.operation
    n = platform.size
    cw = [oc.persona_communities.get(c.name, 0.0) for c in cfg.population.communities]
    if hijacked is None:
        hijacked = draws.hijacked < oc.hijacked_share
    return TrollAccounts(
        platform=platform, operator=operator,
        community=category_of(cw, draws.community).astype(np.int8),
        language=category_of(oc.persona_languages, draws.language).astype(np.int8),
        fluency=draws.fluency.astype(np.float32), created=np.full(n, tick, np.int32),
        hijacked=hijacked, origin=np.zeros(n, np.int8) if origin is None else origin,
        buys_followers=_trait(oc.follower_buying_share, draws.buys_followers, n),
        follows_team=_trait(oc.team_follow_share, draws.follows_team, n))


def _trait(share: float, u: np.ndarray, n: int) -> np.ndarray:
    """Which of ``n`` accounts have a trait held by ``share`` of them (uniforms ``u``, none
    drawn when all do)."""
    return np.ones(n, bool) if share >= 1 else u < share
