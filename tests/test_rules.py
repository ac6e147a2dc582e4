"""Each organic and moderation rule of docs/model.md (Section 7), stated as a test that fails
when the rule is broken.

Three kinds of check:

- **The engagement formula** (Section 7.3), on numbers: the engine's formula
  (``sim.organic.engagement``) against the per-agent reference's own restatement
  (``sim.reference.engagement_probs``) on random inputs, against a case computed by hand from
  the document, and the direction of each factor's effect.
- **Recounts at the end of a small busy run**: every counter of the ledger is recounted from
  what the run left behind (the post table's rows and per-post counters, the follow edges, the
  accounts), never from the counter itself; and the rules that leave a trace in that record are
  checked on it (one reshare per user and root, cross-posts to the poster's other platforms,
  operators post only on shift, reader follows and follow-backs are the followers gained).
- **Moderation's effect on reading**: users removed from a platform never read there again;
  planted replies of demoted or removed accounts are not shown.

The worlds are small (1,500-3,000 users, 1-3 days) and set so that real users do engage,
reshare, cross-post and follow (the defaults give almost none at this size). Everything that
reaches past the public entry points into the model's arrays is in the section "model
internals" below, so a renaming touches one place.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from conftest import world_scope
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sim
from sim.ledger import (
    COUNTERS,
    account_followers,
    breakout_category,
    kidding_ratio,
    log_kidding_ratio,
    top_share,
)
from sim.model import InfluenceModel
from sim.moderation import STATUS_DEMOTED, STATUS_OK, STATUS_REMOVED
from sim.organic.engagement import Coefficients, action_probs
from sim.posts import (
    KIND_OP_POST,
    KIND_OP_REPLY,
    KIND_OP_SHARE,
    KIND_ORGANIC,
    KIND_RESHARE,
    PostStore,
    most_engaged,
    most_engaged_parallel,
)
from sim.reference import engagement_probs
from sim.runner import resolve_config

BUSY = {
    "moderation.enabled": False,
    "operation.scale_with_users": False,
    "operation.n_operators": 3,
    "operation.fluency_mean": 0.8,
    "operation.content_lag_hours": 6.0,
    "operation.hijacked_share": 0.5,
    "operation.hijacked_audience_mean": 60,
    "operation.follows_per_account_day": 20,
    "population.like_prob": 0.3,
    "population.reshare_prob": 0.15,
    "population.reply_prob": 0.05,
    "population.follow_prob": 0.05,
    "engagement.cross_post_prob": 0.3,
    "engagement.reshare_memory": 64,  # more than anyone reshares here: no root twice
}
"""A small world where real users engage with, reshare, cross-post and follow the operation."""


# ==== model internals (the one place that reaches past sim.run / InfluenceModel.step) ==========

def posts_table(m: InfluenceModel) -> dict[str, np.ndarray]:
    """Every post held, column by column. In these short runs nothing has aged out, so a post's
    index is its global id (checked)."""
    n = m.posts.n
    cols = m.posts.held()
    assert (cols["gid"] == np.arange(n)).all(), "a compaction happened: run shorter"
    return cols


def follow_edges(m: InfluenceModel) -> list[np.ndarray]:
    """Per platform, the sorted keys ``account * n_users + user`` of organic follows of troll
    accounts."""
    return [pf.op_keys.copy() for pf in m.platforms]


def busy_model(users: int = 2000, days: float = 3, seed: int = 5, **overrides):
    """A busy world run to its end, with the follow edges it started with."""
    cfg = resolve_config(sim.Config(), users=users, days=days, overrides={**BUSY, **overrides})
    m = InfluenceModel(cfg, seed=seed)
    start = follow_edges(m)
    m.run()
    return m, start


def busy_hours(users: int, hours: int, seed: int, overrides: dict | None = None
               ) -> InfluenceModel:
    """A busy world run for its first ``hours`` (under a day: nothing compacted yet)."""
    cfg = resolve_config(sim.Config(), users=users, days=1,
                         overrides={**BUSY, **(overrides or {})})
    m = InfluenceModel(cfg, seed=seed)
    m.run(hours)
    return m


# ==== the engagement formula (docs/model.md 7.3) ===============================================

def _config(**engagement) -> sim.Config:
    return resolve_config(sim.Config(), overrides={f"engagement.{k}": v
                                                    for k, v in engagement.items()})


unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def formula_cases(draw):
    comp = [[draw(unit) for _ in range(3)] for _ in range(3)]
    overrides = {
        "engagement.cross_topic_factor": draw(unit),
        "engagement.comprehension": comp,
        "engagement.quality_exponent": draw(st.floats(0.0, 4.0)),
        "engagement.freshness_halflife_hours": draw(st.floats(0.5, 48.0)),
        "engagement.social_proof_weight": draw(st.floats(0.0, 2.0)),
        "engagement.followed_author_factor": draw(st.floats(0.0, 4.0)),
        "population.like_prob": draw(unit), "population.reshare_prob": draw(unit),
        "population.reply_prob": draw(unit), "population.follow_prob": draw(unit),
        "population.report_prob": draw(unit),
    }
    read = dict(reader_comm=draw(st.integers(0, 4)), reader_lang=draw(st.integers(0, 2)),
                propensity=draw(st.floats(0.0, 5.0)), topic=draw(st.integers(0, 4)),
                item_lang=draw(st.integers(0, 2)), quality=draw(st.floats(0.01, 1.0)),
                timeliness=draw(st.floats(0.0, 1.0)), age=float(draw(st.integers(0, 200))),
                visible=draw(st.integers(0, 5000)), followed=draw(st.booleans()),
                is_op=draw(st.booleans()))
    return overrides, read


def engine_probs(cfg: sim.Config, r: dict) -> np.ndarray:
    """The engine's formula (``engagement.action_probs``) for one read: a reader and a root
    made for it, the root ``age`` hours old now."""
    posts = PostStore(capacity=1)  # (a post kept in the sparse columns: any timeliness)
    posts.add(topic=r["topic"], language=r["item_lang"], quality=r["quality"],
              timeliness=r["timeliness"], created=0, eng_visible=r["visible"],
              is_op=r["is_op"], kind=KIND_OP_POST)
    zero = np.zeros(1, np.int32)  # reader 0 read post 0
    return action_probs(Coefficients.from_config(cfg), zero, zero, np.array([r["followed"]]),
                        np.array([r["reader_comm"]], np.int8),
                        np.array([r["reader_lang"]], np.int8),
                        np.array([r["propensity"]], np.float32), posts.columns(),
                        int(r["age"]))[0]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(formula_cases())
def test_engine_formula_agrees_with_the_reference_restatement(case) -> None:
    """The vectorised formula and the reference's scalar restatement give the same five
    probabilities for any read (single against double precision: relative 1e-4)."""
    overrides, r = case
    cfg = resolve_config(sim.Config(), overrides=overrides)
    want = engagement_probs(cfg, r["reader_comm"], r["reader_lang"], r["propensity"],
                            r["topic"], r["item_lang"], float(np.float32(r["quality"])),
                            float(np.float32(r["timeliness"])), r["age"], r["visible"],
                            r["followed"], r["is_op"])
    np.testing.assert_allclose(engine_probs(cfg, r), want, rtol=1e-4, atol=1e-7)


HAND = dict(reader_comm=0, reader_lang=0, propensity=2.0, topic=1, item_lang=1, quality=0.64,
            timeliness=0.5, age=3.0, visible=3, followed=True, is_op=True)
HAND_CONFIG = {
    "engagement.cross_topic_factor": 0.5, "engagement.comprehension": [[1, 0.4, 0],
                                                                        [0, 1, 0], [0, 0, 1]],
    "engagement.quality_exponent": 1.5, "engagement.freshness_halflife_hours": 3.0,
    "engagement.social_proof_weight": 0.5, "engagement.followed_author_factor": 2.0,
    "population.like_prob": 0.1, "population.reshare_prob": 0.02,
    "population.reply_prob": 0.05, "population.follow_prob": 0.3,
    "population.report_prob": 0.1,
}


@pytest.mark.parametrize("formula", ["engine", "reference"])
def test_formula_on_a_case_worked_by_hand(formula) -> None:
    """docs/model.md 7.3 by hand: off-topic (0.5) x comprehension 0.4 x 0.64^1.5 (= 0.512)
    x timeliness 0.5 x one freshness half-life (0.5) x (1 + 0.5 ln 4) x followed 2 = 0.0866891;
    times propensity 2 and each base probability; the report is 0.1 x 2 x (1 - 0.64) x 0.4."""
    cfg = resolve_config(sim.Config(), overrides=HAND_CONFIG)
    r = HAND
    got = engine_probs(cfg, r) if formula == "engine" else engagement_probs(cfg, **r)
    np.testing.assert_allclose(got, [0.0173378, 0.00346757, 0.00866891, 0.0520135, 0.0288],
                               rtol=1e-5)
    not_op = engine_probs(cfg, {**r, "is_op": False}) if formula == "engine" else \
        engagement_probs(cfg, **{**r, "is_op": False})
    assert not_op[3] == 0.0 and not_op[4] == pytest.approx(0.0288)  # follows: troll accounts


def test_each_factor_moves_engagement_the_documented_way() -> None:
    """On topic beats off topic by 1 / cross_topic_factor; an item in a language the reader
    reads poorly is engaged with (and reported) less; a followed author is engaged with
    ``followed_author_factor`` times more; older and staler items less; visible engagement
    more; reports scale with 1 - quality and ignore topic, age and the author."""
    cfg = resolve_config(sim.Config(), overrides=HAND_CONFIG)
    base = engine_probs(cfg, HAND)

    def ratio(**change):
        return engine_probs(cfg, {**HAND, **change}) / base

    np.testing.assert_allclose(ratio(topic=0)[:4], 2.0, rtol=1e-5)  # 1 / 0.5
    np.testing.assert_allclose(ratio(followed=False)[:4], 0.5, rtol=1e-5)
    np.testing.assert_allclose(ratio(item_lang=0)[:5], 2.5, rtol=1e-5)  # 1 / 0.4, reports too
    np.testing.assert_allclose(ratio(age=6.0)[:4], 0.5, rtol=1e-5)  # a second half-life
    np.testing.assert_allclose(ratio(timeliness=0.25)[:4], 0.5, rtol=1e-5)
    assert (ratio(visible=30)[:4] > 1.5).all() and (ratio(visible=0)[:4] < 1).all()
    np.testing.assert_allclose(ratio(quality=0.82)[4], 0.18 / 0.36, rtol=1e-5)
    np.testing.assert_allclose(ratio(quality=0.82)[:4], (0.82 / 0.64) ** 1.5, rtol=1e-5)
    for change in ({"topic": 0}, {"age": 40.0}, {"followed": False}, {"visible": 0}):
        assert ratio(**change)[4] == pytest.approx(1.0)
    fixed = resolve_config(sim.Config(), overrides={**HAND_CONFIG,
                                                    "engagement.fixed_reshare_prob": 0.37})
    np.testing.assert_allclose(engine_probs(fixed, HAND), [0, 0.37, 0, 0, 0])


def test_the_engine_reads_the_formula_inputs_from_the_right_places() -> None:
    """``OrganicUsers.action_probs`` gathers each read's reader and root fields from the
    population and the post table: on a busy run's posts it equals the reference formula fed
    with the same fields by hand."""
    m, _ = busy_model(users=1500, days=1)
    p = posts_table(m)
    rng = np.random.default_rng(0)
    roots = np.flatnonzero(p["root"] == np.arange(p["root"].size))
    roots = rng.choice(roots, 400).astype(np.int32)
    users = rng.integers(0, m.pop.n, roots.size).astype(np.int32)
    followed = rng.random(roots.size) < 0.5
    got = m.organic.action_probs(users, roots, followed)
    pop = m.pop
    for i in range(roots.size):
        u, r = int(users[i]), int(roots[i])
        want = engagement_probs(m.cfg, int(pop.community[u]), int(pop.language[u]),
                                float(pop.propensity[u]), int(p["topic"][r]),
                                int(p["language"][r]), float(p["quality"][r]),
                                float(p["timeliness"][r]), float(m.tick - p["created"][r]),
                                int(p["eng_visible"][r]), bool(followed[i]),
                                bool(p["is_op"][r]))
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-7)
    assert p["is_op"][roots].any() and (~p["is_op"][roots]).any()
    assert (p["eng_visible"][roots] > 0).any() and (p["timeliness"][roots] < 1).any()


# ==== the ledgers, recounted (docs/model.md 7.12) ==============================================

@pytest.fixture(scope=world_scope)
def busy():
    return busy_model()


def recount(m: InfluenceModel, start: list[np.ndarray]) -> dict[str, int]:
    """Every counter of the ledger, recounted from the post table, the follow edges and the
    population; none reads a ledger total."""
    p = posts_table(m)
    kind, is_op, root = p["kind"], p["is_op"], p["root"]
    op_root = is_op & (root == np.arange(root.size))
    likes, resh, reps = (p[k][op_root].astype(np.int64).sum()
                         for k in ("likes_organic", "reshares_organic", "replies_organic"))
    op_reshares = np.flatnonzero((kind == KIND_RESHARE) & is_op)
    cross = op_reshares[p["platform"][op_reshares] != p["platform"][p["parent"][op_reshares]]]
    kept = np.setdiff1d(op_reshares, cross)  # reshares made where the item was read
    resharer = p["author"][kept]
    new_edges = sum(np.setdiff1d(end, begin).size
                    for end, begin in zip(follow_edges(m), start, strict=True))
    return {
        "posts_published": int(np.isin(kind, (KIND_OP_POST, KIND_OP_REPLY,
                                              KIND_OP_SHARE)).sum()),
        "hijack_replies": int((kind == KIND_OP_REPLY).sum()),
        "organic_impressions": int(p["imp_organic"][op_root].sum()),
        "reported_impressions": int((p["imp_organic"][op_root].astype(np.int64)
                                     + p["imp_op"][op_root] + p["imp_fake"][op_root]).sum()),
        "in_network_engagements": int(p["eng_op"][op_root].sum()),
        "reported_engagements": int(likes + resh + reps + p["eng_op"][op_root].sum()),
        "organic_likes": int(likes),
        "organic_reshares": int(kept.size),
        "organic_replies": int(reps),
        "organic_engagements": int(likes + resh + reps),
        "organic_reports": int(p["reports"][op_root].sum()),
        "organic_cross_posts": int(cross.size),
        "organic_followers_gained": int(new_edges),
        "organic_posts": int((kind == KIND_ORGANIC).sum()),
        "media_amplifications": int(m.pop.is_media[resharer].sum()),
        "high_profile_amplifications": int(m.pop.is_high_profile[resharer].sum()),
    }


def delivered(m: InfluenceModel, pf, p: dict[str, np.ndarray], start: list[np.ndarray]
              ) -> tuple[int, int]:
    """Bounds on the feed writes of the run's posts on ``pf``: a post by an organic author goes
    to every follower in the static graph; one by a troll account to its followers at the
    time, which (without moderation) only grow: between its followers at the start and at the
    end. Planted replies are not delivered."""
    n = m.pop.n
    here = (p["platform"] == pf.index) & (p["kind"] != KIND_OP_REPLY)
    organic = p["author"][here & (p["author"] < n)]
    exact = int(np.diff(pf.graph.indptr)[organic].sum())
    troll = p["author"][here & (p["author"] >= n)] - n
    n_acc = m.operation.accounts.n
    low = np.bincount(start[pf.index] // n, minlength=n_acc)[troll].sum()
    high = np.bincount(pf.op_keys // n, minlength=n_acc)[troll].sum()
    return exact + int(low), exact + int(high)


def test_every_ledger_counter_equals_its_recount(busy) -> None:
    """A dropped or doubled increment anywhere in the tick shows up here. ``deliveries`` is
    bracketed (troll accounts' audiences grow during the run, see ``delivered``)."""
    m, start = busy
    want = recount(m, start)
    got = dict(m.ledger.totals)
    assert set(got) == set(COUNTERS)
    deliveries = got.pop("deliveries")
    assert got == want
    bounds = [delivered(m, pf, posts_table(m), start) for pf in m.platforms]
    assert sum(lo for lo, _ in bounds) <= deliveries <= sum(hi for _, hi in bounds)
    # the world is busy enough that every counter is exercised
    for k in ("organic_likes", "organic_reshares", "organic_replies", "organic_cross_posts",
              "organic_followers_gained", "organic_reports", "hijack_replies"):
        assert want[k] >= 5, (k, want[k])


MODERATION_OFF = dict(organic_accounts_removed=0, organic_followers_lost=0,
                      moderation_precision=None, moderation_recall=None,
                      median_removal_delay_hours=None, moderation_actions=0,
                      accounts_removed_per_action=0.0)
"""Moderation's summary figures in a run without moderation: nothing removed, no scores."""


def test_summary_figures_are_their_definitions(busy) -> None:
    """The summary's derived figures from the per-user arrays and the accounts: distinct
    exposed users, reported followers (organic + bought + live siblings), the shares."""
    m, _ = busy
    s = m.ledger.summary(m)
    exposure = m.ledger.op_exposure
    assert exposure.sum() == s["organic_impressions"]
    assert s["organic_exposed_users"] == int((exposure > 0).sum())
    acc = m.operation.accounts
    followers = 0
    for k in np.flatnonzero(acc.alive):
        pf = m.platforms[acc.platform[k]]
        organic = int(((pf.op_keys // m.pop.n) == k).sum())
        siblings = int((acc.alive & (acc.operator == acc.operator[k])
                        & (acc.platform == acc.platform[k])).sum()) - 1
        followers += organic + int(acc.fake_followers[k]) + siblings
    assert s["reported_followers"] == followers
    assert s["accounts_alive"] == acc.n == s["accounts_run"]
    assert s["in_network_engagement_share"] == pytest.approx(
        s["in_network_engagements"] / s["reported_engagements"])
    top = np.sort(exposure)[::-1][: math.ceil(0.01 * m.pop.n)].sum()
    assert s["exposure_top1pct_share"] == pytest.approx(top / exposure.sum())
    assert s["kidding_ratio"] == pytest.approx(s["reported_engagements"]
                                               / s["organic_engagements"])
    assert s["log_kidding_ratio"] == pytest.approx(math.log10(s["kidding_ratio"]))
    engaged = m.ledger.engaged
    assert engaged.any() and engaged.sum() <= s["organic_engagements"]
    last = m.ledger.rows[-1]
    assert last["kidding_ratio"] == pytest.approx(s["kidding_ratio"])
    assert last["kidding_ratio_impressions"] == pytest.approx(s["kidding_ratio_impressions"])
    assert s["moderation"] is False
    assert {k: s[k] for k in MODERATION_OFF} == MODERATION_OFF


def test_ledger_helpers_on_hand_built_cases() -> None:
    """Breakout categories, kidding ratios and top shares on cases worked by hand."""
    none = np.zeros((2, 3), bool)
    one = none.copy()
    one[0, 1] = True
    two_comm = one.copy()
    two_comm[0, 2] = True
    two_plat = one.copy()
    two_plat[1, 1] = True
    both = two_comm.copy()
    both[1, 0] = True
    assert [breakout_category(r, 0, 0) for r in (none, one, two_comm, two_plat, both)] == \
        [1, 1, 2, 2, 3]
    assert breakout_category(none, 1, 0) == 4 and breakout_category(both, 1, 0) == 4
    assert breakout_category(none, 0, 1) == 5 and breakout_category(both, 3, 2) == 5
    assert kidding_ratio(30, 10) == 3.0 and kidding_ratio(5, 0) is None
    assert kidding_ratio(30, 1) == 30.0
    counts = np.array([50, 0, 10, 20, 5, 5, 0, 0, 0, 10] * 10 + [0])  # 101 users: top 2
    assert top_share(counts) == pytest.approx(100 / 1000)
    assert top_share(np.zeros(5)) == 0.0
    assert top_share(np.array([1, 3]), 0.5) == 0.75
    assert top_share(np.array([4])) == 1.0  # one user holds it all
    # log10 of the ratio, each count floored at 1
    assert log_kidding_ratio(30, 10) == pytest.approx(math.log10(3))
    assert log_kidding_ratio(30, 1) == pytest.approx(math.log10(30))
    assert log_kidding_ratio(30, 0) == pytest.approx(math.log10(30))
    assert log_kidding_ratio(1, 1) == 0.0 and log_kidding_ratio(0, 0) == 0.0


def test_summary_of_an_operation_that_never_posts() -> None:
    """No reported engagement: the in-network share is 0, the kidding ratio undefined and its
    logarithm 0 (docs/outputs.md); in the time series the undefined ratios are NaN, a float."""
    r = sim.run(sim.Config(), seed=1, users=300, days=1,
                overrides={"operation.posts_per_account_day": 0.0})
    s = r.summary
    assert s["posts_published"] == 0 and s["reported_engagements"] == 0
    assert s["in_network_engagement_share"] == 0.0
    assert s["kidding_ratio"] is None and s["log_kidding_ratio"] == 0.0
    for col in ("kidding_ratio", "kidding_ratio_impressions"):
        ts = r.timeseries[col]
        assert ts.dtype == np.float64 and ts.isna().any(), col


def test_ledger_refuses_undeclared_counters(busy) -> None:
    m, _ = busy
    with pytest.raises(KeyError, match="unknown counter"):
        m.ledger.add(organic_likez=1)


# ==== organic rules that leave a trace in the record ===========================================

def test_reader_follows_are_real_followers_gained() -> None:
    """With no audience building and no hijacked audiences, every follow edge at the end was
    made by a reader of the operation's content (here mostly of planted replies, the only way
    its posts reach anyone), and all of them count as gained; with both,
    the gain is exactly the new edges (the hijacked audiences it started with excluded)."""
    m, start = busy_model(users=1500, days=2, **{"operation.follows_per_account_day": 0,
                                                 "operation.hijacked_share": 0.0,
                                                 "operation.hijack_fraction": 0.8,
                                                 "engagement.reply_view_prob": 1.0,
                                                 "population.follow_prob": 1.0})
    edges = sum(e.size for e in follow_edges(m))
    assert sum(s.size for s in start) == 0
    assert edges >= 10 and m.ledger.totals["organic_followers_gained"] == edges
    m, start = busy_model(users=1500, days=2, **{"population.follow_prob": 0.3})
    begin = sum(s.size for s in start)
    assert begin > 0
    new = sum(np.setdiff1d(e, s).size for e, s in zip(follow_edges(m), start, strict=True))
    assert m.ledger.totals["organic_followers_gained"] == new > 0


def test_a_reader_can_follow_only_live_troll_accounts_there_not_yet_followed() -> None:
    """Organic users' graph is fixed: of the authors read, only a live troll account on this
    platform that the reader does not follow yet can be followed."""
    m = busy_hours(600, 1, 3)
    n, acc = m.pop.n, m.operation.accounts
    q = int(acc.platform[0])
    other = int(np.flatnonzero(acc.platform != q)[0])
    dead = int(np.flatnonzero(acc.platform == q)[1])
    acc.alive[dead] = False
    authors = np.array([5, n, n, n + other, n + dead])  # organic, account 0 twice, elsewhere, dead
    followed = np.array([False, False, True, False, False])
    got = m.organic.followable(m.platforms[q], np.arange(5), authors, followed)
    assert got.tolist() == [False, True, False, False, False]


def test_one_reshare_per_user_and_root(busy) -> None:
    """With a reshare memory longer than anyone's reshares, no user reshares a root twice on
    the platform where they read it, although many read the same root more than once."""
    m, _ = busy
    p = posts_table(m)
    res = np.flatnonzero(p["kind"] == KIND_RESHARE)
    here = res[p["platform"][res] == p["platform"][p["parent"][res]]]
    pairs = p["author"][here].astype(np.int64) * p["root"].size + p["root"][here]
    assert here.size > 100
    assert np.unique(pairs).size == pairs.size


def test_first_reshares_remember_across_hours(busy) -> None:
    """A reshare stands once per (user, root) in a batch, and the memory carries it to the
    next batch; a root the user has forgotten (pushed out of a short memory) may be reshared
    again."""
    m, _ = busy
    o = m.organic
    users = np.array([3, 3, 4, 3], np.int32)
    roots = np.array([7, 7, 7, 8], np.int32)
    mem = o.memory
    saved = mem.items.copy(), mem.ptr.copy(), mem.row_of.copy(), mem.n
    try:
        mem.row_of[[3, 4]] = -1  # nothing remembered yet
        first = o.first_reshares(users, roots, np.ones(4, bool))
        assert first.tolist() == [True, False, True, True]
        again = o.first_reshares(users[:1], roots[:1], np.ones(1, bool))
        assert again.tolist() == [False]
        assert not o.first_reshares(users, roots, np.zeros(4, bool)).any()
    finally:
        mem.items, mem.ptr, mem.row_of, mem.n = saved


def test_cross_posts_go_to_another_platform_the_user_is_on(busy) -> None:
    m, _ = busy
    p = posts_table(m)
    res = np.flatnonzero(p["kind"] == KIND_RESHARE)
    cross = res[p["platform"][res] != p["platform"][p["parent"][res]]]
    assert cross.size >= 20
    assert m.pop.member[p["author"][cross], p["platform"][cross]].all()
    # each is a second copy, made in the same hour as a reshare of the same root where read
    original = {(int(a), int(r), int(t)) for a, r, t in zip(
        p["author"][res], p["root"][res], p["created"][res], strict=True)}
    assert all((int(p["author"][i]), int(p["root"][i]), int(p["created"][i])) in original
               for i in cross)
    # all the user's other platforms are used, not only the first
    assert np.unique(p["platform"][cross]).size == len(m.platforms)


def test_operators_post_only_on_shift(busy) -> None:
    """With the office-hours schedule (UTC+8, 9-12, 14-17, 19-22), every operation post,
    planted reply and self-share is made in a working hour, and every working hour of the run
    has some."""
    m, _ = busy
    p = posts_table(m)
    op = np.isin(p["kind"], (KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE))
    local = (p["created"][op] + 8) % 24
    assert np.isin(local, [9, 10, 11, 14, 15, 16, 19, 20, 21]).all()
    hours = np.unique(p["created"][op])
    assert hours.size == 9 * 3


@pytest.mark.parametrize("weekends_off", [False, True])
def test_shift_hours_and_weekends(weekends_off) -> None:
    """An operator is on shift in its work blocks, local time (UTC + ``utc_offset``); with
    ``weekends_off``, never on local days 5 and 6 of each week (the run starts on day 0)."""
    cfg = resolve_config(sim.Config(), users=300, days=1, overrides={
        **BUSY, "operation.utc_offset": -5, "operation.work_blocks": [[8, 12], [13, 17]],
        "operation.weekends_off": weekends_off})
    staff = InfluenceModel(cfg, seed=1).staff
    for tick in range(24 * 15):
        local = tick - 5
        day, hour = (local // 24) % 7, local % 24
        want = (8 <= hour < 12 or 13 <= hour < 17) and not (weekends_off and day >= 5)
        assert staff.on_shift(tick) == want, tick


@pytest.mark.parametrize(("blocks", "scheduled"), [([[9, 10]], False), ([[8, 12], [13, 17]], False),
                                                ([[8, 12], [13, 17]], True)])
def test_a_days_posts_spread_over_the_shift_or_round_the_clock(blocks, scheduled) -> None:
    """An account's ``posts_per_account_day`` are spread evenly over its operator's shift
    hours, or over all 24 with a scheduler; follows over the shift hours in any case."""
    cfg = resolve_config(sim.Config(), users=300, days=1, overrides={
        **BUSY, "operation.work_blocks": blocks, "operation.schedule_posts": scheduled,
        "operation.posts_per_account_day": 12.0, "operation.follows_per_account_day": 6.0})
    shift = sum(b - a for a, b in blocks)
    staff = InfluenceModel(cfg, seed=1).staff
    assert staff.post_rate == pytest.approx(12.0 / (24 if scheduled else shift))
    assert staff.follow_rate == pytest.approx(6.0 / shift)


def test_operation_posts_record_first_activity_and_parents() -> None:
    """An account's first activity is the hour of its first post (hour 0 included, with a
    scheduler posting round the clock), never moved by later posts; its posts have no parent,
    its planted replies the thread they sit under."""
    m = busy_hours(800, 10, 2, {"operation.schedule_posts": True,
                                "operation.hijack_fraction": 0.3})
    p = posts_table(m)
    acc = m.operation.accounts
    mine = np.isin(p["kind"], (KIND_OP_POST, KIND_OP_REPLY))
    first = np.full(acc.n, 10**9)
    np.minimum.at(first, p["author"][mine] - m.pop.n, p["created"][mine])
    first[first == 10**9] = -1  # never posted
    np.testing.assert_array_equal(acc.first_post, first)
    assert (first == 0).any() and (first > 0).any()
    posts, replies = p["kind"] == KIND_OP_POST, p["kind"] == KIND_OP_REPLY
    assert (p["parent"][posts] == -1).all() and replies.any()
    assert (p["kind"][p["parent"][replies]] == KIND_ORGANIC).all()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.integers(1, 45), st.booleans())
def test_replies_go_under_the_most_engaged_threads(seed, n, k, by_topic) -> None:
    """The threads a reply can go under are, per platform (and topic, if on topic), the
    ``hijack_pool`` most engaged organic originals of the last day (of equal ones, the earlier
    posted): the first ``k`` of a stable sort by engagement, in posting order; the same when
    the posts are split among threads."""
    rng = np.random.default_rng(seed)
    kind = rng.choice([KIND_ORGANIC, KIND_ORGANIC, KIND_OP_POST], n).astype(np.int8)
    platform = rng.integers(0, 3, n).astype(np.int8)
    topic = rng.integers(-1, 4, n).astype(np.int8)  # (-1: no topic, never a target on topic)
    eng = (rng.geometric(rng.uniform(0.2, 0.9), n) - 1).astype(np.int32)  # many ties
    lo = int(rng.integers(0, n + 1))
    n_topics = 4 if by_topic else 0
    ids, count = most_engaged(kind, platform, topic, eng, lo, n, 3, n_topics, k)
    for p in range(3):
        for t in range(n_topics) if by_topic else [-1]:
            j = p * n_topics + t if by_topic else p
            mine = lo + np.flatnonzero((kind[lo:] == KIND_ORGANIC) & (platform[lo:] == p)
                                       & ((topic[lo:] == t) | (t < 0)))
            want = mine[np.sort(np.argsort(-eng[mine], kind="stable")[:k])]
            np.testing.assert_array_equal(ids[j, : count[j]], want)
    for parts in range(1, 6):
        ids_p, count_p = most_engaged_parallel(kind, platform, topic, eng, lo, n, 3, n_topics, k,
                                               parts)
        np.testing.assert_array_equal(count_p, count)
        for j, c in enumerate(count):
            np.testing.assert_array_equal(ids_p[j, :c], ids[j, :c])


def test_each_authors_posts_are_counted(busy) -> None:
    """The per-user post counts behind the activity figures (O1, O3) are the organic posts
    each user wrote on each platform."""
    m, _ = busy
    p = posts_table(m)
    mine = p["kind"] == KIND_ORGANIC
    want = np.zeros_like(m.ledger.posts_by_user)
    np.add.at(want, (p["platform"][mine], p["author"][mine]), 1)
    np.testing.assert_array_equal(m.ledger.posts_by_user, want)
    assert want.max() > 1
    # 16-bit counts (at most one post an hour) widen before the hour they could wrap
    ledger = copy.deepcopy(m.ledger)
    ledger.record(2**16 - 2, m.operation.accounts, m.platforms)
    assert ledger.posts_by_user.dtype == np.uint16
    ledger.posts_by_user[0, 0] = 2**16 - 1
    ledger.record(2**16 - 1, m.operation.accounts, m.platforms)
    ledger.posts_by_user[0, 0] += 1
    assert ledger.posts_by_user[0, 0] == 2**16


def test_an_injected_post_is_the_authors_on_that_platform() -> None:
    """A post seeded by hand (cascade experiments) is an organic post by its author on the
    platform named, of the author's community and language unless told, created now; its author
    counts as having shared it, and it reaches the author's followers there at the hour's end."""
    m = busy_hours(600, 2, 3, {"engagement.cross_post_prob": 0.0})
    m.outbox.flush(m.platforms)  # what the last hour left queued
    pf = m.platforms[1]
    g = pf.graph
    author = int(pf.members[np.argmax(np.diff(g.indptr)[pf.members])])  # most followed there
    plain = m.organic.inject_post(author, pf.index, m.tick)
    told = m.organic.inject_post(author, pf.index, m.tick - 1, topic=3, quality=0.25, is_op=True)
    c = m.posts.cols
    for i, topic, quality, is_op, created in ((plain, m.pop.community[author], 1.0, False, m.tick),
                                              (told, 3, 0.25, True, m.tick - 1)):
        assert (c["author"][i], c["platform"][i], c["kind"][i]) == (author, pf.index,
                                                                    KIND_ORGANIC)
        assert (c["topic"][i], c["language"][i]) == (topic, m.pop.language[author])
        assert (c["is_op"][i], c["created"][i]) == (is_op, created)
        assert c["quality"][i] == pytest.approx(quality)
        assert i in m.organic.memory.row(author)
    followers = g.indptr[author + 1] - g.indptr[author]
    assert followers > 0
    assert m.outbox.flush(m.platforms) == 2 * followers


def test_users_with_a_higher_propensity_post_more() -> None:
    """A session's post probability is ``post_prob`` x the user's propensity to post."""
    m = busy_hours(1000, 12, 3, {"population.post_propensity_sigma": 1.5,
                                 "population.always_active": True})
    rho = stats.spearmanr(m.pop.post_propensity, m.ledger.posts_by_user.sum(axis=0)).statistic
    assert rho > 0.3, rho


def test_bought_followers_change_only_the_vanity_ledger() -> None:
    """Followers bought at creation and daily, and their fake views, leave the real ledger
    draw for draw the same; reported followers differ by exactly the followers bought."""
    kw = dict(seed=3, users=1500, days=2, overrides=BUSY)
    a = sim.run(sim.Config(), **kw)
    b = sim.run(sim.Config(), **{**kw, "overrides": {
        **BUSY, "operation.fake_followers_mean": 0, "operation.fake_followers_per_day": 0,
        "operation.fake_view_prob": 0}})
    real = ["organic_exposed_users", "organic_impressions", "organic_engagements",
            "organic_reshares", "organic_followers_gained", "posts_published"]
    assert a.timeseries[real].equals(b.timeseries[real])
    assert a.posts["organic_impressions"].tolist() == b.posts["organic_impressions"].tolist()
    assert b.accounts["fake_followers"].sum() == 0 < a.accounts["fake_followers"].sum()
    assert a.summary["reported_followers"] - b.summary["reported_followers"] == \
        a.accounts["fake_followers"].sum()
    assert a.summary["reported_impressions"] > b.summary["reported_impressions"]
    assert a.summary["organic_engagements"] > 20


def test_a_lone_reader_reads(monkeypatch) -> None:
    """An hour with a single member online is an hour like any other for that member (the
    hour's decisions taken one by one, so that going online can be replaced)."""
    m = busy_hours(600, 3, 3)
    monkeypatch.setattr(m.organic, "reading", m.organic.reading_step_by_step)
    monkeypatch.setattr(m.organic, "online", lambda pf: np.array([0]))
    m.run(1)
    assert all(pf.last_session[0] == m.tick for pf in m.platforms)


def test_attention_caps_the_items_read_per_session() -> None:
    """Every member online every hour: with attention limited to one item a session, the
    items read (organic impressions of every post) are at most one per member-hour; without
    the limit, a session reads up to the feed's capacity, so many more."""
    reads = {}
    for limited in (True, False):
        m = busy_hours(600, 6, 2, {"population.always_active": True,
                                   "population.attention_mean": 1.0,
                                   "population.attention_limited": limited})
        reads[limited] = int(posts_table(m)["imp_organic"].sum())
        member_hours = 6 * sum(pf.members.size for pf in m.platforms)
    assert 0 < reads[True] <= member_hours < reads[False]


@pytest.mark.parametrize(("platforms", "prob"), [(2, 0.3), (3, 0.0)])
def test_cross_posts_need_a_probability_and_a_second_platform(platforms, prob) -> None:
    """Cross-posting (a reshare on another platform than its parent's) happens with two
    platforms or more, and never with probability 0."""
    preset = sim.Config()
    over = {**BUSY, "engagement.cross_post_prob": prob}
    cfg = resolve_config(preset.model_copy(update={"platforms": preset.platforms[:platforms]}),
                         users=800, days=1, overrides=over)
    m = InfluenceModel(cfg, seed=4)
    m.run(12)
    p = posts_table(m)
    shares = np.flatnonzero(p["kind"] == KIND_RESHARE)
    n = int((p["platform"][shares] != p["platform"][p["parent"][shares]]).sum())
    assert (n > 0 and m.ledger.totals["organic_cross_posts"] > 0) if prob > 0 else n == 0


def test_bought_views_go_to_a_share_of_posts_and_change_only_the_vanity_ledger() -> None:
    """Bought views (view bots): a ``bought_views_share`` of the operation's posts, never its
    planted replies, get log-normal views (here sigma 0: exactly the median, 100) on the public
    counter and in reported impressions, drawn from the vanity stream, so the real ledger is
    draw for draw the same as without them."""
    over = {"operation.fake_view_prob": 0.0, "operation.bought_views_median": 100.0,
            "operation.bought_views_sigma": 0.0}
    off, on = (busy_hours(1500, 20, 5, {**over, "operation.bought_views_share": share})
               for share in (0.0, 0.4))
    vanity = {"reported_impressions", "kidding_ratio_impressions"}
    assert {k: v for k, v in on.ledger.rows[-1].items() if k not in vanity} == \
        {k: v for k, v in off.ledger.rows[-1].items() if k not in vanity}
    p_on, p_off = posts_table(on), posts_table(off)
    assert (p_off["imp_fake"] == 0).all()
    bought = p_on["imp_fake"]
    posts, replies = p_on["kind"] == KIND_OP_POST, p_on["kind"] == KIND_OP_REPLY
    assert set(np.unique(bought[posts])) == {0, 100} and (bought[~posts] == 0).all()
    assert replies.sum() > 0
    k = int((bought[posts] > 0).sum())
    assert stats.binomtest(k, int(posts.sum()), 0.4).pvalue > 0.001
    # post by post: an hour's posts (published together) mix bought and not
    hours = p_on["created"][posts]
    mixed = [np.unique(bought[posts][hours == h] > 0).size == 2
             for h in np.unique(hours) if (hours == h).sum() >= 10]
    assert len(mixed) >= 5 and np.mean(mixed) > 0.5
    assert on.ledger.totals["reported_impressions"] - off.ledger.totals[
        "reported_impressions"] == bought.sum()
    # log-normal post by post
    m = busy_hours(1500, 6, 5, {**over, "operation.bought_views_share": 1.0,
                                "operation.bought_views_sigma": 1.0})
    p = posts_table(m)
    views = p["imp_fake"][p["kind"] == KIND_OP_POST]
    assert np.unique(views).size > 0.5 * views.size > 10
    assert np.median(views) == pytest.approx(100, rel=0.35)
    # bought views add to the fake followers' views
    m = busy_hours(1500, 20, 5, {**over, "operation.bought_views_share": 1.0,
                                 "operation.fake_view_prob": 0.5})
    p = posts_table(m)
    fake = p["imp_fake"][p["kind"] == KIND_OP_POST]
    assert (fake >= 100).all() and (fake > 100).any()
    # a post's bought views are capped at 10^8 (a median of 10^7 with sigma 5 often exceeds it)
    m = busy_hours(1500, 6, 5, {**over, "operation.bought_views_share": 1.0,
                                "operation.bought_views_median": 1e7,
                                "operation.bought_views_sigma": 5.0})
    p = posts_table(m)
    views = p["imp_fake"][p["kind"] == KIND_OP_POST]
    assert views.max() == 100_000_000 and (views == views.max()).sum() > 1


# ==== moderation and reading (docs/model.md 7.15) ==============================================

@pytest.fixture(scope=world_scope)
def strict():
    """A moderated world with a strict threshold and immediate review: organic users are
    wrongly removed from platforms, and operation accounts taken down."""
    cfg = resolve_config(sim.Config(), users=3000, days=3, overrides={
        **BUSY, "moderation.enabled": True, "moderation.threshold": 0.12,
        "moderation.review_delay_hours": 0, "moderation.counterfactual": False,
        "population.always_active": True})
    m = InfluenceModel(cfg, seed=2)
    m.run(36)
    return m


def test_removed_users_never_read_there_again(strict) -> None:
    """After a wrongful removal from a platform, the user never opens it again: no session,
    no read (no unread flag of their feed is cleared), while everyone else reads on."""
    m = strict
    mod = m.moderation
    banned = {p: np.flatnonzero(m.platforms[p].removed) for p in mod.by_platform}
    assert sum(b.size for b in banned.values()) > 0
    before = {p: (m.platforms[p].feeds.unread.copy(), m.platforms[p].last_session.copy())
              for p in banned}
    m.run(12)
    for p, rows in banned.items():
        pf = m.platforms[p]
        unread, last = before[p]
        cleared = unread & ~pf.feeds.unread  # only reading clears a flag (a delivery sets it)
        assert not cleared[rows].any()
        np.testing.assert_array_equal(pf.last_session[rows], last[rows])
        others = np.setdiff1d(np.arange(pf.members.size), rows)
        assert (pf.last_session[others] > last[others]).all()  # always active: all the rest


def test_hidden_replies_of_demoted_and_removed_accounts(strict) -> None:
    """Readers of a hijacked thread see its newest planted reply (``reply_view_prob`` = 1
    here) unless the reply, or its root, is demoted or removed."""
    m = strict
    p = posts_table(m)
    threads = np.flatnonzero((p["hijack_reply"] >= 0) & (p["kind"] == KIND_ORGANIC))
    assert threads.size > 0
    t = int(threads[-1])
    pf = m.platforms[int(p["platform"][t])]
    reply = int(p["hijack_reply"][t])
    status = m.moderation.status
    ec = m.cfg.engagement
    saved = int(status[reply]), ec.reply_view_prob
    readers = np.array([0, 1, 2], np.int32)
    items = np.full(3, t, np.int32)
    try:
        ec.reply_view_prob = 1.0
        shown = {}
        for s in (STATUS_OK, STATUS_DEMOTED, STATUS_REMOVED):
            status[reply] = s
            who, replies = m.organic.reply_views(pf, readers, items)
            shown[s] = (who.tolist(), replies.tolist())
    finally:
        status[reply], ec.reply_view_prob = saved
    assert shown[STATUS_OK] == ([0, 1, 2], [reply] * 3)
    assert shown[STATUS_DEMOTED] == shown[STATUS_REMOVED] == ([], [])


def test_removed_accounts_lose_followers_and_their_posts_leave_feeds(strict) -> None:
    """Taken-down operation accounts are not alive, have no followers left (none to report
    either), and every post
    they made on the platform is marked removed; content of flagged accounts on demotion
    platforms is at least demoted."""
    m = strict
    acc = m.operation.accounts
    gone = np.flatnonzero(~acc.alive)
    assert gone.size > 0 and (acc.removed_tick[gone] >= 0).all()
    assert (acc.removed_tick[acc.alive] == -1).all()
    for pf in m.platforms:
        assert not np.isin(pf.op_keys // m.pop.n, gone).any()
    organic, reported = account_followers(acc, m.platforms)
    assert (organic[gone] == 0).all() and (reported[gone] == 0).all()
    alive = acc.alive
    assert (reported[alive] == organic[alive] + acc.fake_followers[alive]
            + acc.team_followers(len(m.platforms))[alive]).all()
    p = posts_table(m)
    theirs = np.flatnonzero(np.isin(p["author"], m.pop.n + gone))
    assert theirs.size and (m.moderation.status[theirs] == STATUS_REMOVED).all()
    living = np.flatnonzero(p["is_op"] & np.isin(p["author"],
                                                  m.pop.n + np.flatnonzero(acc.alive)))
    assert (m.moderation.status[living] != STATUS_REMOVED).all()


def test_removal_table_records_each_removal_as_it_happened(strict) -> None:
    """Each removal's row: the platform, the ground truth, the flag and removal hours (review
    is immediate here), followers lost (an organic user's in-degree there), first activity; a
    wrongly removed user's recent posts on that platform are removed, and only there."""
    m = strict
    df = m.moderation.removal_table()
    n = m.pop.n
    names = [pf.name for pf in m.platforms]
    assert set(df["platform"]) <= set(names) and len(df) == df["account"].size
    assert (df["operation"] == (df["account"] >= n)).all()
    assert (df["flagged_tick"] == df["removed_tick"]).all()
    assert (df["review_delay_hours"] == 0).all()
    org, op = df[~df["operation"]], df[df["operation"]]
    assert len(org) > 0 and len(op) > 0
    p = posts_table(m)
    status = m.moderation.status
    for row in org.itertuples():
        pf = m.platforms[names.index(row.platform)]
        u = row.account
        assert row.followers_lost == pf.graph.indptr[u + 1] - pf.graph.indptr[u]
        assert row.first_active_tick == -1 and np.isnan(row.removal_delay_hours)
        assert pf.removed[pf.row_of[u]]
        mine = (p["author"] == u) & (p["created"] <= row.removed_tick)
        there = mine & (p["platform"] == pf.index)
        assert (status[np.flatnonzero(there)] == STATUS_REMOVED).all()
        elsewhere = np.flatnonzero(mine & (p["platform"] != pf.index))
        gone_elsewhere = org[(org["account"] == u) & (org["platform"] != row.platform)]
        if gone_elsewhere.empty:
            assert (status[elsewhere] != STATUS_REMOVED).all()
    acc = m.operation.accounts
    k = op["account"].to_numpy() - n
    first = np.where(acc.first_post[k] >= 0, acc.first_post[k], acc.created[k])
    assert (op["first_active_tick"].to_numpy() == first).all()
    assert (op["removal_delay_hours"] == op["removed_tick"] - op["first_active_tick"]).all()
    followers_at_start = (op["followers_lost"] > 0).any()
    assert followers_at_start  # hijacked accounts lose their audiences


def test_moderation_summary_agrees_with_its_tables() -> None:
    """The summary's moderation figures, recomputed from the removal and account tables:
    actions and removals per action, replacements acquired (of the configured kinds only, with
    bought followers), per-platform precision and recall."""
    r = sim.run(sim.Config(), seed=4, users=3000, days=2, overrides={
        **BUSY, "moderation.enabled": True, "moderation.review_delay_hours": 0,
        "moderation.threshold": 0.15, "moderation.counterfactual": False,
        "operation.replacements_per_day": 12,
        "operation.replacement_mix": {"fresh": 0.4, "hijacked": 0.4, "bought": 0.2}})
    s, df, acc = r.summary, r.removals, r.accounts
    assert set(MODERATION_OFF) <= set(s)  # the same figures with moderation on and off
    assert s["moderation_actions"] > 0 and df["operation"].any()
    assert s["accounts_removed_per_action"] == pytest.approx(len(df) / s["moderation_actions"])
    new = acc[acc["origin"] != "initial"]
    assert s["operation_accounts_acquired"] == len(new) > 0
    assert set(new["origin"]) == {"fresh", "hijacked", "bought"}  # the configured kinds
    assert (new["hijacked"] == (new["origin"] == "hijacked")).all()
    assert (new["fake_followers"] > 0).all() and new["fake_followers"].nunique() > 1
    assert (new["created_tick"] > 0).all()
    oc = sim.Config().operation  # replacements are bought on shift only
    local = (new["created_tick"].to_numpy() + oc.utc_offset) % 24
    assert all(any(a <= h < b for a, b in oc.work_blocks) for h in local)
    for name, per in s["moderation_by_platform"].items():
        here = df[df["platform"] == name]
        n_op = int(here["operation"].sum())
        assert per["operation_accounts_removed"] == n_op
        assert per["organic_accounts_removed"] == len(here) - n_op
        assert per["moderation_recall"] == pytest.approx(
            n_op / (acc["platform"] == name).sum())
        if len(here):
            assert per["moderation_precision"] == pytest.approx(n_op / len(here))


def test_demotion_marks_an_accounts_posts_old_and_new() -> None:
    """With ``action = "demote"``, a flagged account's content is demoted, and posts it makes
    afterwards are demoted from the start; nothing is removed and the accounts live on."""
    cfg = resolve_config(sim.Config(), users=2000, days=2, overrides={
        **BUSY, "moderation.enabled": True, "moderation.action": "demote",
        "moderation.review_delay_hours": 0, "moderation.threshold": 0.15,
        "moderation.counterfactual": False})
    m = InfluenceModel(cfg, seed=3)
    m.run()
    status = m.moderation.status
    p = posts_table(m)
    assert m.operation.accounts.alive.all() and (status[: p["gid"].size] != STATUS_REMOVED).all()
    status = status[: p["gid"].size]
    n_later = 0
    for q, mod in m.moderation.by_platform.items():
        here = p["platform"] == q
        op = mod.demoted[mod.demoted >= m.pop.n]
        theirs = np.flatnonzero(np.isin(p["author"], op) & here)
        assert (status[theirs] == STATUS_DEMOTED).all()
        # nobody else's: every demoted post here is by an account demoted here
        assert np.isin(p["author"][here & (status == STATUS_DEMOTED)], mod.demoted).all()
        n_later += sum(p["created"][i] > mod.flag_tick[int(p["author"][i])] for i in theirs)
    assert n_later > 0  # posts made after the flag were demoted from the start
    assert (p["is_op"] & (status == STATUS_OK)).any()  # not everything


def linked_observation(links: bool = True):
    """Accounts 10..15: 10<->11 and 11<->12 engage each other; 13 and 14 co-post content 7 in
    one window; 15 engages 10 one way only; 12 and 13 post unique content (-1) in one window,
    which links nobody. Without ``links``: no engagement and no shared content."""
    from sim.moderation.detection import Observation

    e = 5 if links else 0
    return Observation(
        now=48, post_author=np.array([13, 14, 15, 12, 13]),
        post_created=np.array([40, 41, 40, 40, 40]), post_original=np.ones(5, bool),
        post_fingerprint=np.array([7, 7, -1, -1, -1]) if links else np.full(5, -1),
        post_language=np.zeros(5, np.int8), post_quality=np.ones(5, np.float32),
        eng_src=np.array([10, 11, 11, 12, 15])[:e], eng_dst=np.array([11, 10, 12, 11, 10])[:e],
        eng_tick=np.full(e, 40), report_dst=np.zeros(0, np.int64),
        born=np.zeros(16, np.int64), claimed_community=np.zeros(16, np.int8),
        main_language=np.zeros(1, np.int8))


def test_network_takedowns_join_linked_suspects() -> None:
    """Accounts linked by engagement (either way) or by co-posting one content in one window
    form one takedown with a flagged member, if each scores at least ``network_threshold``;
    with no links, each flagged account is a takedown of its own; engagement with anyone not
    scored links nobody."""
    from sim.config import ModerationConfig
    from sim.moderation.detection import Scores, linked_groups

    obs = linked_observation()
    accounts = np.arange(10, 16)
    cfg = ModerationConfig(enabled=True, mode="network", network_threshold=0.5,
                           sync_window_hours=6)

    def groups(score, flagged_ids, eligible=None):
        s = Scores(accounts, np.ones(6, np.int64), np.zeros((6, 8)), np.array(score),
                   np.ones(6, bool) if eligible is None else np.array(eligible))
        got = linked_groups(obs, s, cfg, np.isin(accounts, flagged_ids))
        return sorted(sorted(accounts[g].tolist()) for g in got)

    high = [0.9] * 6
    assert groups(high, [10]) == [[10, 11, 12, 15]]
    assert groups(high, [13]) == [[13, 14]]
    assert groups(high, [10, 13]) == [[10, 11, 12, 15], [13, 14]]
    assert groups([0.9, 0.9, 0.4, 0.9, 0.9, 0.9], [10]) == [[10, 11, 15]]  # 12 below: out
    assert groups([0.9, 0.5, 0.9, 0.9, 0.9, 0.9], [10]) == [[10, 11, 12, 15]]  # at: in
    assert groups(high, [10], [True, False, True, True, True, True]) == [[10, 15]]
    assert groups([0.1, 0.9, 0.9, 0.9, 0.4, 0.9], [10, 13]) == [[10, 11, 12, 15], [13]]
    obs = linked_observation(links=False)
    assert groups(high, [10, 13]) == [[10], [13]]
    # engagement with an account not scored (9, 13.5 -> 16, beyond) links nobody
    s = Scores(np.array([10, 12, 14]), np.ones(3, np.int64), np.zeros((3, 8)), np.full(3, 0.9),
               np.ones(3, bool))
    obs = dataclasses.replace(obs, eng_src=np.array([10, 9, 12, 12]),
                              eng_dst=np.array([11, 12, 13, 16]), eng_tick=np.full(4, 40))
    got = linked_groups(obs, s, cfg, np.array([True, False, False]))
    assert [g.tolist() for g in got] == [[0]]


@pytest.mark.parametrize("threshold", [0.15, 1.0])
def test_account_mode_takes_one_account_per_action(threshold) -> None:
    """In ``account`` mode each flagged account is one action, flagged once; with immediate
    review every action is a removal. A threshold nobody reaches flags nobody: no action, and
    0 removals per action."""
    r = sim.run(sim.Config(), seed=6, users=2000, days=2, overrides={
        **BUSY, "moderation.enabled": True, "moderation.mode": "account",
        "moderation.review_delay_hours": 0, "moderation.threshold": threshold,
        "moderation.counterfactual": False})
    s, df = r.summary, r.removals
    assert s["moderation_actions"] == s["accounts_flagged"] == len(df)
    assert not df.duplicated(["platform", "account"]).any()
    if threshold == 1.0:
        assert len(df) == 0 and s["accounts_removed_per_action"] == 0.0
    else:
        assert len(df) > 0 and s["accounts_removed_per_action"] == 1.0
