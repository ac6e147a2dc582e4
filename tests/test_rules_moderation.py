"""Edges of the moderation, operation and ledger rules (docs/model.md 7.10, 7.14-7.17) that the
broad rule tests (``test_rules.py``, ``test_moderation.py``) do not pin down: each test here was
written against a planted fault (a mutant, README "Validation") that survived them, and fails
when that fault is put back.

- detection: every signal on observations built by hand (the age signal from hours to days);
- what a platform observes: its posts of the window, its logs (kept for exactly
  ``window_hours``), each read's engagement and report, reports only where it moderates;
- a scan on scores set by hand: the threshold, network groups, review delays under an hour;
- moderation's own stream (registration dates), content directions and paraphrase, the
  demotion penalty per ranking, a wrongful removal of the user with the highest id;
- ``demote_then_remove``: demoted at the flag, removed after the review delay, and the removal
  table's ``flagged_tick`` is the hour of the flag;
- fan groups: same-community groups in a stable order, slogans, likes from fellow members;
- replacement accounts: kinds, registration dates, bought followers, hijacked audiences
  (geometric, with the configured mean);
- audience building: targets inside the persona community at the configured share, follow-backs
  only from users actually drawn; planted replies on the persona's topic when asked;
- the replacement token bucket; adaptive operators' learners, reported splits, restated plan,
  schedule and purchase hour, and the fluency bonus of audience building; operators scaled
  with the population; team followers and followers won;
- the Breakout Scale's "reached" threshold (its share branch) and removals at hour 0.

The worlds are tiny (a few hundred to 2,000 users, hours to a day and a half) or built by hand.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import world_scope
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from test_rules import BUSY, linked_observation

import sim
import sim.moderation.enforcement as enforcement
import sim.operation.tactics as tactics
from sim.config import TACTICS, ModerationConfig
from sim.incentives import Learner, candidate_splits
from sim.ledger import Ledger
from sim.model import InfluenceModel
from sim.moderation import STATUS_DEMOTED, STATUS_REMOVED, UNIQUE, Observation, score_accounts
from sim.moderation.detection import Scores
from sim.operation import ORIGIN_NAMES, TrollAccounts
from sim.population import beta_params, category_of, category_range
from sim.posts import KIND_OP_REPLY, KIND_ORGANIC, KIND_RESHARE
from sim.runner import resolve_config

HIJACKED, FRESH, BOUGHT = (ORIGIN_NAMES.index(k) for k in ("hijacked", "fresh", "bought"))


def model(users: int, seed: int = 1, **overrides) -> InfluenceModel:
    cfg = resolve_config(sim.Config(), users=users, days=2, overrides={
        "operation.scale_with_users": False, "operation.n_operators": 3, **overrides})
    return InfluenceModel(cfg, seed=seed)


# ==== model internals (the one place that reaches past sim.run / InfluenceModel.step) ==========

def moderator(m: InfluenceModel, p: int = 0):
    """Platform ``p``'s moderation team (eng_log, report_log, pending, flag_tick, demoted)."""
    return m.moderation.by_platform[p]


def operators(m: InfluenceModel) -> list:
    return list(m.operators)


def post_columns(m: InfluenceModel) -> dict[str, np.ndarray]:
    """Every post held; in these short runs nothing has aged out (a post's index is its id)."""
    n = m.posts.n
    cols = m.posts.held()
    assert (cols["gid"] == np.arange(n)).all(), "a compaction happened: run shorter"
    return cols


def follower_keys(m: InfluenceModel, p: int) -> np.ndarray:
    """Organic follows of troll accounts on platform ``p``: keys ``account * n_users + user``."""
    return m.platforms[p].op_keys.copy()


# ==== detection: the young-account signal (7.15) ===============================================

def test_age_signal_counts_days_from_hours() -> None:
    """``exp(-age / age_scale_days)`` with the age in days = hours / 24, and an account
    registered after the scan (a clock that disagrees) counts as age 0."""
    now = 10 * 24
    born = np.array([now, 0, now - 6, now + 30])  # age 0, 10 days, 6 hours, "future"
    obs = Observation(
        now=now, post_author=np.arange(4), post_created=np.full(4, now),
        post_original=np.ones(4, bool), post_fingerprint=np.full(4, UNIQUE, np.int32),
        post_language=np.zeros(4, np.int8), post_quality=np.ones(4, np.float32),
        eng_src=np.zeros(0, np.int64), eng_dst=np.zeros(0, np.int64),
        eng_tick=np.zeros(0, np.int64), report_dst=np.zeros(0, np.int64), born=born,
        claimed_community=np.zeros(4, np.int8), main_language=np.zeros(1, np.int8))
    cfg = ModerationConfig(enabled=True, age_scale_days=5.0)
    age = score_accounts(obs, cfg).signals[:, 0]
    np.testing.assert_allclose(age, [1.0, np.exp(-2.0), np.exp(-0.25 / 5.0), 1.0], rtol=1e-12)


def test_signals_by_hand() -> None:
    """Every signal but age (tested above) on an observation worked by hand.

    - rate: ``1 - exp(-posts per day / rate_scale_per_day)``, posts per day = posts x 24 /
      ``window_hours``;
    - sync and duplicate: the share of an account's originals whose content
      ``copost_min_accounts`` accounts posted in one sync window (or ``duplicate_min_accounts``
      in the window), with a pseudo-count of one post. Account 0 posts content 7 at hours 0, 1,
      5 and 9 and content 8 at hour 2; account 1 posts 7 at hour 1 and 8 at hour 9; account 2
      posts 7 at hour 9 (sync windows of 4 hours: 0-3, 4-7, 8-11);
    - cluster: the share of engagement received from accounts it engaged with (pseudo-count
      one): 0 and 1 engage each other, 2 engages 0;
    - language: mean over originals of 1 in a foreign language, else 1 - quality;
    - reports: ``1 - exp(-reports / report_scale)``;
    - coengagement: the share of engagements given to an account that ``copost_min_accounts``
      accounts engaged with in one sync window (1 and 2 both engage 0 at hour 5);
    - scored ("eligible") with at least ``min_posts`` posts."""
    author = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    created = np.array([0, 1, 9, 2, 5, 1, 9, 9])
    content = np.array([7, 7, 7, 8, 7, 7, 8, 7], np.int32)
    language = np.array([0, 0, 0, 0, 0, 1, 1, 0], np.int8)
    quality = np.array([0.8] * 5 + [0.5, 0.5, 0.6], np.float32)
    obs = Observation(
        now=12, post_author=author, post_created=created, post_original=np.ones(8, bool),
        post_fingerprint=content, post_language=language, post_quality=quality,
        eng_src=np.array([1, 0, 2]), eng_dst=np.array([0, 1, 0]), eng_tick=np.full(3, 5),
        report_dst=np.array([0, 0, 2]), born=np.zeros(3, np.int64),
        claimed_community=np.zeros(3, np.int8), main_language=np.zeros(1, np.int8))
    cfg = ModerationConfig(enabled=True, window_hours=12, rate_scale_per_day=5.0,
                           sync_window_hours=4, copost_min_accounts=2,
                           duplicate_min_accounts=3, report_scale=3.0, min_posts=2,
                           weight_coengagement=1.0)
    s = score_accounts(obs, cfg)
    sig = s.signals
    posts = np.array([5, 2, 1])
    np.testing.assert_allclose(sig[:, 1], 1 - np.exp(-(posts * 24 / 12) / 5.0), rtol=1e-12)
    # sync: 7 at hours 0-3 (accounts 0, 1) and at 8-11 (0, 2), not at 4-7; 8 never together
    np.testing.assert_allclose(sig[:, 2], [3 / 6, 1 / 3, 1 / 2], rtol=1e-12)
    # duplicate: 7 posted by three accounts in the window, 8 by two
    np.testing.assert_allclose(sig[:, 3], [4 / 6, 1 / 3, 1 / 2], rtol=1e-12)
    np.testing.assert_allclose(sig[:, 4], [1 / 3, 1 / 2, 0.0], rtol=1e-12)
    np.testing.assert_allclose(sig[:, 5], [0.2, 1.0, 0.4], rtol=1e-6)
    np.testing.assert_allclose(sig[:, 6], 1 - np.exp(-np.array([2, 0, 1]) / 3.0), rtol=1e-12)
    np.testing.assert_allclose(sig[:, 7], [0.0, 1 / 2, 1 / 2], rtol=1e-12)
    assert s.n_posts.tolist() == [5, 2, 1] and s.eligible.tolist() == [True, True, False]
    w = np.array([cfg.weight_age, cfg.weight_rate, cfg.weight_sync, cfg.weight_duplicate,
                  cfg.weight_cluster, cfg.weight_language, cfg.weight_reports,
                  cfg.weight_coengagement])
    np.testing.assert_allclose(s.score, sig @ w / w.sum(), rtol=1e-12)
    # with no weight, co-engagement is not computed (it stays 0); nothing else changes
    quiet = score_accounts(obs, cfg.model_copy(update={"weight_coengagement": 0.0})).signals
    assert (quiet[:, 7] == 0).all()
    np.testing.assert_array_equal(quiet[:, :7], sig[:, :7])


# ==== a moderator's window (7.15) ==============================================================

def test_moderator_logs_keep_exactly_the_window() -> None:
    """After the hour ``t`` a moderator keeps the engagements and reports of hours
    ``t + 1 - window_hours .. t`` and forgets older ones."""
    m = model(400, **{"moderation.enabled": True, "moderation.window_hours": 4,
                      "moderation.scan_interval_hours": 720})
    m.run(8)
    mod = moderator(m)
    t = m.tick
    pair = np.array([1, 2], np.int64)
    mod.eng_log.clear()
    mod.report_log.clear()
    for h in range(t - 5, t + 1):
        mod.eng_log.append((h, pair, pair[::-1]))
        mod.report_log.append((h, pair))
    mod.step()  # the end of hour t: no scan is due; trims the logs
    assert [e[0] for e in mod.eng_log] == list(range(t - 3, t + 1))
    assert [r[0] for r in mod.report_log] == list(range(t - 3, t + 1))


def test_a_platform_observes_its_own_posts_of_the_window_and_its_logs() -> None:
    """The observation after hour ``t``: the posts made on that platform in hours
    ``t + 1 - window_hours .. t``, and the engagement log row for row with each row's hour;
    with nothing logged, no engagement at all."""
    m = model(400, **{**BUSY, "moderation.enabled": True, "moderation.window_hours": 4,
                      "moderation.scan_interval_hours": 720})
    m.run(10)
    mod = moderator(m)
    t = m.tick
    c = post_columns(m)
    want = np.flatnonzero((c["platform"] == mod.p) & (c["created"] >= t - 3))
    obs = m.moderation.observe(mod)
    np.testing.assert_array_equal(obs.post_author, c["author"][want])
    np.testing.assert_array_equal(obs.post_created, c["created"][want])
    assert obs.now == t and (c["created"][want] == t - 3).any()
    assert obs.eng_src.size > 0
    np.testing.assert_array_equal(obs.eng_tick, np.concatenate(
        [np.full(src.size, h) for h, src, _ in mod.eng_log]))
    mod.eng_log.clear()
    obs = m.moderation.observe(mod)
    assert obs.eng_src.size == obs.eng_dst.size == obs.eng_tick.size == 0


@pytest.mark.parametrize("paraphrase", [0.0, 0.3])
def test_operation_content_follows_the_days_directions(paraphrase) -> None:
    """Each original the operation posts carries one of the day's ``narratives_per_day``
    content directions (codes ``day x N .. day x N + N - 1``), unless paraphrased (a share
    ``paraphrase_prob``): then it matches nobody's. Its reshares carry none. (Posting round
    the clock, so that the first hour of a day has posts.)"""
    m = model(600, **{**BUSY, "moderation.enabled": True, "moderation.scan_interval_hours": 720,
                      "operation.narratives_per_day": 5, "operation.schedule_posts": True,
                      "operation.paraphrase_prob": paraphrase})
    m.run(34)
    c = post_columns(m)
    op = np.flatnonzero(np.isin(c["kind"], (tactics.KIND_OP_POST, KIND_OP_REPLY,
                                            tactics.KIND_OP_SHARE)))
    fp = m.moderation.fingerprints(op)
    shares = c["kind"][op] == tactics.KIND_OP_SHARE
    assert shares.any() and (fp[shares] == UNIQUE).all()
    fp, day = fp[~shares], c["created"][op][~shares] // 24
    assert (c["created"][op][~shares] == 24).any()  # the first hour of day 1
    unique = fp == UNIQUE
    assert ((fp[~unique] >= day[~unique] * 5) & (fp[~unique] < day[~unique] * 5 + 5)).all()
    assert np.unique(fp[~unique] - day[~unique] * 5).size == 5
    if paraphrase == 0:
        assert not unique.any()
    else:
        assert stats.binomtest(int(unique.sum()), unique.size, paraphrase).pvalue > 0.001


def test_a_wrongful_removal_takes_exactly_that_users_recent_posts_there() -> None:
    """Removing the user with the highest id from a platform removes their recent posts on it
    and nothing else: not their posts elsewhere, not the first troll account's (whose id
    comes next), not anyone else's. (Seed 1: that user and troll account 0 share platform 1.)"""
    m = model(400, seed=1, **{"moderation.enabled": True, "moderation.scan_interval_hours": 720,
                              "operation.schedule_posts": True})
    m.run(4)
    n, q = m.pop.n, 1
    last = n - 1
    assert int(m.operation.accounts.platform[0]) == q and np.isin(last, m.platforms[q].members)
    mine = [m.organic.inject_post(last, pf.index, m.tick) for pf in m.platforms
            if np.isin(last, pf.members)]
    m.moderation.remove(moderator(m, q), np.array([last]))
    c = post_columns(m)
    removed = np.flatnonzero(m.moderation.status[: c["author"].size] == STATUS_REMOVED)
    assert removed.tolist() == [i for i in mine if c["platform"][i] == q]
    assert ((c["author"] == n) & (c["platform"] == q)).any()  # troll account 0 posted there
    assert m.platforms[q].removed[m.platforms[q].row_of[last]]
    # removed unflagged (by hand): recorded as flagged when removed, with no first activity
    assert m.moderation.removals[-1] | {"followers_lost": 0} == {
        "platform": m.platforms[q].name, "account": last, "operation": False,
        "flagged_tick": m.tick, "removed_tick": m.tick, "first_active_tick": -1,
        "followers_lost": 0}


def test_an_account_removed_before_it_posts_was_first_active_when_created() -> None:
    """The removal table's first activity of an operation account that never posted is the
    hour it was created; its removal is recorded as its own flag."""
    m = model(300, **{"moderation.enabled": True, "moderation.scan_interval_hours": 720})
    acc = m.operation.accounts
    assert (acc.first_post == -1).all()
    q = int(acc.platform[0])
    m.moderation.remove(moderator(m, q), np.array([m.pop.n]))
    row = m.moderation.removals[-1]
    assert (row["account"], row["operation"]) == (m.pop.n, True)
    assert row["first_active_tick"] == acc.created[0] == 0
    assert row["flagged_tick"] == row["removed_tick"] == m.tick
    assert not acc.alive[0]


def test_a_wrongful_removal_hides_reshares_of_the_users_older_posts() -> None:
    """A removed user's post older than any feed still reaches readers through recent
    reshares; removal hides it there too (an item is hidden when its root is)."""
    m = model(400, seed=1, **{"moderation.enabled": True, "moderation.scan_interval_hours": 720,
                              "engagement.feed_max_age_hours": 24})
    m.run(1)
    pf = m.platforms[0]
    user, sharer = (int(u) for u in pf.members[-2:])
    old = m.organic.inject_post(user, pf.index, m.tick)
    m.run(20)
    share = m.posts.add_copies(np.array([old]), np.array([old]), author=sharer,
                               platform=pf.index, kind=KIND_RESHARE, created=m.tick)
    m.run(10)  # the original is now older than any feed; the reshare is not
    old, share = (m.posts.index_of(int(g)) for g in (old, m.posts.cols["gid"][share[0]]))
    m.moderation.remove(moderator(m, pf.index), np.array([user]))
    assert m.moderation.visible_status(np.array([old, share])).tolist() == [STATUS_REMOVED] * 2


def test_moderation_draws_registration_ages_from_its_own_stream() -> None:
    """Registration dates, seen only by moderation, come from its own stream
    (``SeedSequence(seed, spawn_key=(2,))``): organic users' ages in days are
    ``account_age_median_days x exp(Z)``, then the first troll accounts' are hijacked ones
    like organic users', the others exponential with mean ``initial_account_age_days`` (none
    drawn when it is 0: they are registered as they start)."""
    seed = 7
    for mean in (40.0, 0.0):
        m = model(300, seed=seed, **{"moderation.enabled": True, "operation.hijacked_share": 0.5,
                                     "population.account_age_median_days": 500.0,
                                     "operation.initial_account_age_days": mean})
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
        organic = -(500.0 * np.exp(rng.standard_normal(m.pop.n)) * 24).astype(np.int32)
        np.testing.assert_array_equal(m.moderation.organic_born, organic)
        acc = m.operation.accounts
        k = acc.n
        like_organic = 500.0 * np.exp(rng.standard_normal(k))
        aged = rng.exponential(mean, k) if mean else np.zeros(k)
        assert acc.hijacked.any() and not acc.hijacked.all() and (acc.created == 0).all()
        days = np.where(acc.hijacked, like_organic, aged)
        np.testing.assert_array_equal(acc.born, (-days * 24).astype(np.int32))
        rng.exponential(size=m.pop.n)  # then fan groups are drawn, and the stream goes on
        assert rng.random() == m.moderation.rng.random()


def test_only_moderating_platforms_log_reports_and_bar_removed_users() -> None:
    """Users' reports (of any item) reach the moderation of the platform they were made on,
    every one (a window as long as the run); a platform that does not moderate logs nothing and bars
    nobody."""
    over = {**BUSY, "moderation.enabled": True, "moderation.window_hours": 168,
            "moderation.scan_interval_hours": 720, "population.report_prob": 0.3}
    logged = []
    for moderating in ([0, 1, 2], [0]):
        m = model(1500, **over, **{f"platforms.{q}.moderation": {"enabled": False}
                                   for q in range(3) if q not in moderating})
        m.run(20)
        assert sorted(m.moderation.by_platform) == moderating
        logs = {q: np.concatenate([r[1] for r in moderator(m, q).report_log])
                for q in moderating}
        logged.append({q: log.size for q, log in logs.items()})
        if len(moderating) == 3:  # reports are kept per post for operation content only
            on_op = sum(int((log >= m.pop.n).sum()) for log in logs.values())
            assert on_op == post_columns(m)["reports"].sum() > 0
            assert sum(logged[0].values()) > on_op
    assert logged[1] == {0: logged[0][0]}  # the same world: only platform 0 logs
    assert not m.platforms[1].removed.any()


def test_a_platform_sees_each_engagement_and_report_as_it_happens(monkeypatch) -> None:
    """Of the hour's reads on a moderating platform, a like, a reshare or a reply is logged
    once as (reader, author); a report is logged as the author reported; reading alone, or a
    report alone, is no engagement; a media account's reshare of operation content is a media
    amplification. (The engagement draws are fixed by hand, the batch's decisions taken one
    by one.)"""
    m = model(400, **{"moderation.enabled": True, "moderation.scan_interval_hours": 720})
    m.run(2)
    pf, mod = m.platforms[0], moderator(m)
    authors, readers = pf.members[:5], pf.members[5:10]
    items = np.array([m.organic.inject_post(a, 0, m.tick, is_op=True) for a in authors])
    m.pop.is_media[readers] = [False, True, False, False, False]  # a media account reshares
    media = m.ledger.totals["media_amplifications"]
    # columns: like, reshare, reply, follow, report
    acts = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0],
                     [0, 0, 0, 0, 1]], bool)
    monkeypatch.setattr(m.organic, "engagement", m.organic.engagement_step_by_step)
    monkeypatch.setattr(m.organic, "draw", lambda probs: acts.copy())
    mod.eng_log.clear()
    mod.report_log.clear()
    m.organic.engage(pf, readers, items, n_from_feed=0)  # read outside the feed
    (tick, src, dst), = mod.eng_log
    assert tick == m.tick
    np.testing.assert_array_equal(src, readers[:3])
    np.testing.assert_array_equal(dst, authors[:3])
    (tick, reported), = mod.report_log
    np.testing.assert_array_equal(reported, authors[4:])
    assert m.ledger.totals["media_amplifications"] == media + 1


@pytest.mark.parametrize("ranking", ["chronological", "engagement"])
def test_demotion_penalty_is_hours_of_age_in_the_ranking_units(ranking) -> None:
    """A demoted item ranks as if ``demotion_hours`` older: that many hours on a chronological
    feed, ``hours x ln 2 / recency_halflife_hours`` on an engagement-ranked one (a score
    decaying by half per half-life); nothing on a platform that does not moderate."""
    m = model(300, **{"moderation.enabled": True, "moderation.demotion_hours": 30.0,
                      "platforms.0.ranking": ranking, "platforms.0.recency_halflife_hours": 8.0,
                      "platforms.1.moderation": {"enabled": False}})
    want = 30.0 if ranking == "chronological" else 30.0 * np.log(2.0) / 8.0
    assert m.moderation.demotion_penalty(0) == pytest.approx(want)
    assert m.moderation.demotion_penalty(1) == 0.0
    # enforcement sets the status where reading finds it: in the posts' ranking record
    assert np.shares_memory(m.moderation.status, m.posts.columns().record)


# ==== demote_then_remove and the flag's hour (7.15) ============================================

@pytest.fixture(scope=world_scope)
def staged():
    """A moderated world (demote at the flag, remove after an exponential review delay) whose
    operators plant replies on their persona's topic only; checked hour by hour."""
    m = model(2000, seed=3, **{
        **BUSY, "operation.n_operators": 3, "operation.hijack_fraction": 0.5,
        "operation.hijack_on_topic": True, "moderation.enabled": True,
        "moderation.action": "demote_then_remove", "moderation.review_delay_hours": 6,
        "moderation.threshold": 0.15, "moderation.counterfactual": False})
    hours = []
    for _ in range(36):
        m.step()
        t = m.tick
        for p, mod in m.moderation.by_platform.items():
            new = [a for a, f in mod.flag_tick.items() if f == t]
            hours.append({"tick": t, "p": p, "flagged": new,
                          "demoted": bool(np.isin(new, mod.demoted).all()),
                          "due_left": [a[0] for a in mod.pending if a[0] <= t]})
    return m, hours


def _check_demote_then_remove(staged) -> None:
    """Each flagged account is demoted in the hour it is flagged; it is removed only once its
    review delay has passed (no action due stays pending); until then it lives on with its
    content demoted, afterwards its content is removed."""
    m, hours = staged
    assert sum(len(h["flagged"]) for h in hours) > 0
    assert all(h["demoted"] for h in hours)
    assert not any(h["due_left"] for h in hours)
    acc = m.operation.accounts
    n = m.pop.n
    p = post_columns(m)
    status = m.moderation.status[: p["gid"].size]
    waiting = removed = 0
    for q, mod in m.moderation.by_platform.items():
        here = p["platform"] == q
        queued = np.concatenate([a[1] for a in mod.pending] or [np.zeros(0, np.int64)])
        for a in queued[queued >= n]:
            assert acc.alive[a - n]
            theirs = here & (p["author"] == a)
            assert (status[theirs] == STATUS_DEMOTED).all()
            waiting += 1
        for a in np.asarray(mod.demoted):
            if a >= n and not acc.alive[a - n] and acc.platform[a - n] == q:
                assert (status[here & (p["author"] == a)] == STATUS_REMOVED).all()
                removed += 1
    assert waiting > 0 and removed > 0


def _check_flag_hour(staged) -> None:
    """With a review delay, each removal's ``flagged_tick`` is the hour its account was flagged
    (not the hour of removal), so ``review_delay_hours`` is the delay actually waited."""
    m, _ = staged
    df = m.moderation.removal_table()
    names = [pf.name for pf in m.platforms]
    assert len(df) > 0
    every = m.cfg.moderation.scan_interval_hours  # flags come from scans at the end of hours
    assert all((f + 1) % every == 0 for mod in m.moderation.moderators
               for f in mod.flag_tick.values())
    for row in df.itertuples():
        mod = moderator(m, names.index(row.platform))
        assert row.flagged_tick == mod.flag_tick[row.account] <= row.removed_tick
    assert (df["review_delay_hours"] > 0).sum() >= len(df) // 2


def _check_replies_on_topic(staged) -> None:
    """With ``hijack_on_topic``, every planted reply sits under a thread on its author's persona
    topic, although threads of other topics were there to take."""
    m, _ = staged
    p = post_columns(m)
    replies = np.flatnonzero(p["kind"] == KIND_OP_REPLY)
    assert replies.size > 50
    threads = p["parent"][replies]
    np.testing.assert_array_equal(p["topic"][threads], p["topic"][replies])
    persona = np.unique(m.operation.accounts.community)
    assert not np.isin(p["topic"][~p["is_op"]], persona).all()


def test_staged_review_and_on_topic_replies(staged) -> None:
    """The three checks of the staged world, in one test: a mutation tool that maps each
    function to the tests that call it sees the world's run only in the test that builds it."""
    _check_demote_then_remove(staged)
    _check_flag_hour(staged)
    _check_replies_on_topic(staged)


# ==== fan groups (7.15) ========================================================================

def _fan_world(share: float, size: int = 7, users: int = 600):
    return model(users, seed=4, **{"moderation.enabled": True,
                                   "population.fan_group_share": share,
                                   "population.fan_group_size": size,
                                   "population.fan_copost_prob": 0.5,
                                   "population.fan_likes_per_post": 12.0})


@pytest.mark.parametrize("share", [0.3, 1.0])
def test_fan_groups_are_same_community_groups_in_stable_order(share) -> None:
    """Members are listed community by community, by id within a community, and cut into
    groups of ``fan_group_size`` (the rest of a community left out); a member knows its group
    and place; everyone else is in no group. Fans are the keen users. Everyone is a candidate
    when the share is 1."""
    size = 7
    m = _fan_world(share, size)
    mod, pop = m.moderation, m.pop
    fans = mod.fan_members
    comm = pop.community[fans]
    assert fans.size % size == 0 and fans.size > 0
    assert (np.diff(comm) >= 0).all()
    for c in np.unique(comm):
        assert (np.diff(fans[comm == c]) > 0).all()
    assert (comm.reshape(-1, size) == comm[::size, None]).all()  # one community per group
    np.testing.assert_array_equal(mod.fan_group[fans], np.arange(fans.size) // size)
    np.testing.assert_array_equal(mod.position[fans], np.arange(fans.size) % size)
    others = np.setdiff1d(np.arange(pop.n), fans)
    assert (mod.fan_group[others] == -1).all()
    k = round(share * pop.n)
    n_comm = len(pop.community_names)
    assert k - n_comm * (size - 1) <= fans.size <= k
    if share == 1.0:  # every user drawn: the first whole groups of each community, by id
        want = np.concatenate([np.flatnonzero(pop.community == c)[
            : (pop.community == c).sum() // size * size] for c in range(n_comm)])
        np.testing.assert_array_equal(fans, want)
    else:
        assert pop.sessions_per_day[fans].mean() > 1.2 * pop.sessions_per_day[others].mean()
        # drawn in proportion to activity, not simply the most active
        assert (pop.sessions_per_day[fans] < np.median(pop.sessions_per_day)).mean() > 0.05


@pytest.mark.parametrize("share", [0.0, 0.005])
def test_no_fan_groups_when_too_few_fans(share) -> None:
    m = _fan_world(share, size=7, users=600)  # none, or 3 fans: no whole group
    assert m.moderation.fan_members.size == 0 and (m.moderation.fan_group == -1).all()


def test_fans_like_each_others_posts_on_the_platform_posted_on() -> None:
    """In a run, each fan post's likes from fellow members (12 on average here) are logged by
    the platform the post was made on."""
    m = _fan_world(0.3)
    m.run(20)
    c = post_columns(m)
    g = m.moderation.fan_group
    fan_post = (c["kind"] == KIND_ORGANIC) & (c["author"] < m.pop.n)
    fan_post[fan_post] = g[c["author"][fan_post]] >= 0
    for p, mod in m.moderation.by_platform.items():
        who = np.concatenate([e[1] for e in mod.eng_log])
        whose = np.concatenate([e[2] for e in mod.eng_log])
        mates = (whose < m.pop.n) & (who < m.pop.n)
        mates[mates] = (g[who[mates]] >= 0) & (g[who[mates]] == g[whose[mates]])
        posts = int((fan_post & (c["platform"] == p)).sum())
        assert posts > 10 and 8 * posts < mates.sum() < 16 * posts, p


def test_fan_posts_carry_the_slogan_and_fellow_members_like_them() -> None:
    """A fan's post carries its group's slogan of the day (a code below UNIQUE) with
    ``fan_copost_prob``; other posts stay unique. Each post gets ``Poisson(fan_likes_per_post)``
    likes, each from a fellow member of the author's group, never the author, and any fellow
    member can be the one."""
    m = _fan_world(0.3)
    m.run(49)  # the hour being 48: day 2
    mod = m.moderation
    size = 7
    fans = mod.fan_members
    eng = moderator(m).eng_log

    def post(authors):
        ids = np.arange(authors.size)
        mod.set_fingerprints(ids, UNIQUE)
        eng.clear()
        mod.organic_posts(0, ids, authors)
        g = mod.fan_group[authors]
        slogan = UNIQUE - 1 - (g.astype(np.int64) * 4096 + 2)
        fp = mod.fingerprints(ids)
        assert ((fp == slogan) & (g >= 0) | (fp == UNIQUE)).all()
        if not eng:
            return fp == slogan, np.zeros(0, np.int64), np.zeros(0, np.int64)
        (tick, who, whose), = eng
        assert tick == 48
        return fp == slogan, who, whose

    # every fan posts once, beside a few users in no group
    authors = np.concatenate([fans, np.setdiff1d(np.arange(m.pop.n), fans)[:20]])
    carried, who, whose = post(authors)
    assert 0.4 < carried[: fans.size].mean() < 0.6 and not carried[fans.size:].any()
    likes = np.bincount(np.searchsorted(fans, whose), minlength=fans.size)
    assert likes.mean() == pytest.approx(12.0, rel=0.1) and np.unique(likes).size > 5
    # fans of two groups, many posts each: likes come from every fellow member, never the author
    posted = fans[[0, 1, size, size + 6]]  # groups 0 and 1
    _, who, whose = post(np.repeat(posted, 40))
    assert (who != whose).all()
    assert (mod.fan_group[who] == mod.fan_group[whose]).all()
    for a in posted:
        mates = fans[mod.fan_group[fans] == mod.fan_group[a]]
        assert set(who[whose == a].tolist()) == set(mates.tolist()) - {int(a)}
    # a single fan posting is no exception
    for _ in range(5):
        carried, who, _ = post(fans[[size + 3]])
        if carried[0]:
            break
    assert carried[0] and who.size > 0


# ==== replacement accounts (7.16, 7.15 account ages, 5 hijacked audiences) =====================

@pytest.fixture
def acquired():
    """A large batch of replacement accounts of every kind, acquired at hour 5."""
    m = model(1500, seed=7, **{
        "moderation.enabled": True, "operation.n_operators": 10,
        "operation.accounts_per_operator": 20, "operation.hijacked_share": 0.5,
        "operation.initial_account_age_days": 1.0, "operation.bought_account_age_days": 100.0,
        "operation.hijacked_audience_mean": 1.0,
        "operation.replacement_mix": {"bought": 1, "hijacked": 1, "fresh": 1}})
    first = m.operation.accounts.n
    before = [follower_keys(m, p) for p in range(len(m.platforms))]
    ids = m.operation.acquire(np.full(60_000, 2, np.int32), np.arange(60_000) % len(m.platforms),
                              now=5)
    return m, first, ids, before


def test_replacements_get_their_kind_and_registration_date(acquired) -> None:
    """Each replacement is bought, hijacked or fresh (as ``replacement_mix`` weighs them); it is
    hijacked exactly if its kind says so; moderation sees fresh accounts born at acquisition,
    bought ones ``Exp(bought_account_age_days)`` old, hijacked ones as old as organic users; the
    first accounts are ``Exp(initial_account_age_days)`` old."""
    m, first, ids, _ = acquired
    acc = m.operation.accounts
    np.testing.assert_array_equal(ids, np.arange(first, first + 60_000))
    origin = acc.origin[ids]
    share = np.bincount(origin, minlength=4)[1:] / ids.size
    np.testing.assert_allclose(share, 1 / 3, atol=0.02)
    np.testing.assert_array_equal(acc.hijacked[ids], origin == HIJACKED)
    assert (acc.created[ids] == 5).all() and (acc.operator[ids] == 2).all()
    age = (acc.created[ids] - acc.born[ids]) / 24.0
    assert (age[origin == FRESH] == 0).all()
    bought = age[origin == BOUGHT]
    assert (bought > 0).all()
    assert bought.mean() == pytest.approx(100.0, rel=0.02)
    hij = age[origin == HIJACKED]
    median = m.cfg.population.account_age_median_days
    assert np.median(hij) == pytest.approx(median, rel=0.1)
    start = np.arange(first)
    own = (acc.created[start] - acc.born[start])[~acc.hijacked[start]] / 24.0
    assert own.size > 50 and 0.6 < own.mean() < 1.5


@pytest.mark.parametrize("share", [0.5, 1.0])
@given(st.lists(st.integers(1, 40), min_size=1, max_size=5))
@settings(max_examples=8, deadline=None)
def test_acquiring_for_many_operators_at_once_is_acquiring_for_each_in_turn(share,
                                                                            sizes) -> None:
    """One acquisition for several operators (ascending, as the staff makes it) leaves the
    accounts, the platforms' follower keys and every random stream as the same operators
    acquiring alone, one after another, would; and each operator draws, in turn, its accounts'
    kinds, their personas (community, language, fluency), their vanity traits (where their
    ``share`` is below 1) and bought followers, then the hijacked ones' old audiences: no more,
    no fewer, in that order."""
    base = model(600, seed=3, **{
        "moderation.enabled": True, "operation.n_operators": 6,
        "operation.hijacked_share": 0.5, "operation.hijacked_audience_mean": 3.0,
        "operation.follower_buying_share": share, "operation.team_follow_share": share,
        "operation.replacement_mix": {"bought": 1, "hijacked": 2, "fresh": 1}})
    ops = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    platform = (np.arange(ops.size) % len(base.platforms)).astype(np.int8)
    together, alone = copy.deepcopy(base), copy.deepcopy(base)
    together.operation.acquire(ops, platform, now=4)
    for o in range(len(sizes)):
        alone.operation.acquire(ops[ops == o], platform[ops == o], now=4)
    a, b = together.operation.accounts, alone.operation.accounts
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for p in range(len(base.platforms)):
        np.testing.assert_array_equal(follower_keys(together, p), follower_keys(alone, p))
    for x, y in ((together.rng, alone.rng), (together.vanity_rng, alone.vanity_rng),
                 (together.moderation.rng, alone.moderation.rng)):
        assert x.bit_generator.state == y.bit_generator.state

    oc = base.cfg.operation  # the draws restated, operator by operator
    rng, vanity = copy.deepcopy(base.rng), copy.deepcopy(base.vanity_rng)
    kinds = []
    for o, n in enumerate(sizes):
        kind = 1 + category_of([oc.replacement_mix[k] for k in ORIGIN_NAMES[1:]], rng.random(n))
        rng.random(2 * n)
        rng.beta(*beta_params(oc.fluency_mean, oc.fluency_concentration), n)
        if share < 1:
            vanity.random(2 * n)  # both traits
        vanity.poisson(oc.fake_followers_mean, n)
        hij = kind == ORIGIN_NAMES.index("hijacked")
        if hij.any():
            audience = rng.geometric(1 / (1 + oc.hijacked_audience_mean), hij.sum()) - 1
            for pf in base.platforms:
                k = audience[platform[ops == o][hij] == pf.index].sum()
                if k:
                    rng.integers(0, pf.members.size, k)
        kinds.append(kind)
    np.testing.assert_array_equal(a.origin[-ops.size:], np.concatenate(kinds))
    assert rng.bit_generator.state == together.rng.bit_generator.state
    assert vanity.bit_generator.state == together.vanity_rng.bit_generator.state


@given(st.lists(st.floats(0, 10), min_size=1, max_size=5).filter(lambda w: sum(w) > 0),
       st.data())
@settings(max_examples=50, deadline=None)
def test_a_category_range_holds_exactly_the_uniforms_of_its_category(weights, data) -> None:
    """``category_range`` (which an acquisition's turns use to find hijacked accounts) agrees
    with ``category_of`` everywhere, the cumulative weights themselves and their neighbours
    included."""
    k = data.draw(st.integers(0, len(weights) - 1))
    lo, hi = category_range(weights, k)
    cum = np.cumsum(np.array(weights) / sum(weights))
    u = np.concatenate([np.random.default_rng(0).random(500), cum, np.nextafter(cum, 0),
                        np.nextafter(cum, 2), [0.0, np.nextafter(1.0, 0)]])
    u = u[(u >= 0) & (u < 1)]
    np.testing.assert_array_equal(category_of(weights, u) == k, (u >= lo) & (u < hi))


def test_replacements_are_only_of_the_configured_kinds() -> None:
    """A kind missing from ``replacement_mix`` is never acquired; with
    ``follower_buying_share`` < 1 only some buy followers (a trait from the vanity stream);
    bought accounts of mean age 0 are registered at acquisition."""
    m = model(400, seed=9, **{
        "moderation.enabled": True, "operation.follower_buying_share": 0.5,
        "operation.bought_account_age_days": 0.0,
        "operation.replacement_mix": {"bought": 1, "fresh": 1}})
    acc = m.operation.accounts
    ids = m.operation.acquire(np.zeros(2000, np.int32), np.zeros(2000, np.int8), now=3)
    origin = acc.origin[ids]
    assert set(origin.tolist()) == {BOUGHT, FRESH} and not acc.hijacked[ids].any()
    assert (acc.born[ids] == 3).all()
    buys = acc.buys_followers[ids]
    assert 0.4 < buys.mean() < 0.6
    assert (acc.fake_followers[ids][~buys] == 0).all() and (acc.fake_followers[ids][buys] > 0).all()


def test_each_replacement_draws_its_own_bought_followers(acquired) -> None:
    m, _, ids, _ = acquired
    ff = m.operation.accounts.fake_followers[ids]
    assert (ff > 0).all() and np.unique(ff).size > 100
    assert ff.mean() == pytest.approx(m.cfg.operation.fake_followers_mean, rel=0.01)


def test_hijacked_audiences_are_geometric_with_the_configured_mean(acquired) -> None:
    """A hijacked account arrives with ``Geometric`` (from 0) random members as its old audience:
    mean ``hijacked_audience_mean`` (here 1, so half arrive with none); those followers are the
    ones it inherited. Other accounts inherit nobody."""
    m, _, ids, before = acquired
    acc = m.operation.accounts
    inherited = acc.followers_inherited[ids]
    hij = acc.hijacked[ids]
    assert (inherited[~hij] == 0).all()
    assert inherited[hij].mean() == pytest.approx(1.0, abs=0.08)
    assert (inherited[hij] == 0).mean() == pytest.approx(0.5, abs=0.03)
    gained = np.zeros(acc.n, np.int64)
    for p, keys in enumerate(before):
        new = np.setdiff1d(follower_keys(m, p), keys)
        assert (acc.platform[new // m.pop.n] == p).all()  # on the account's own platform
        assert np.isin(new % m.pop.n, m.platforms[p].members).all()
        gained += np.bincount(new // m.pop.n, minlength=acc.n)
    np.testing.assert_array_equal(gained[ids], inherited)


def test_a_single_hijacked_account_gets_its_audience(acquired) -> None:
    m, _, ids, _ = acquired
    acc = m.operation.accounts
    one = ids[acc.hijacked[ids]][:30]
    before = acc.followers_inherited[one].copy()
    for a in one:
        m.operation.seed_hijacked_audiences(np.array([a]))
    assert (acc.followers_inherited[one] - before).sum() > 10


# ==== audience building (7.10) =================================================================

@pytest.fixture
def certain_follow_back(monkeypatch):
    """Every user drawn follows back (the follow-back formula is the engagement rule's, tested
    in test_rules): what is left to see is who gets drawn."""
    monkeypatch.setattr(tactics, "match_factor", lambda c, comm, *a: np.full(comm.size, 1e9))


def _audience_world(targeting: float, persona: str = "tech"):
    return model(1500, seed=8, **{
        "operation.n_operators": 100, "operation.accounts_per_operator": 10,
        "operation.hijacked_share": 0.0, "operation.targeting": targeting,
        "operation.persona_communities": {persona: 1.0},
        "operation.platform_weights": {"social": 1.0}, "population.follow_back_prob": 1.0})


def _new_followers(m, accounts, follows, p: int = 0):
    before = [follower_keys(m, q) for q in range(len(m.platforms))]
    gained = m.ledger.totals["organic_followers_gained"]
    m.operation.build_audience(accounts, follows, np.zeros(accounts.size))
    new = [np.setdiff1d(follower_keys(m, q), b) for q, b in enumerate(before)]
    assert m.ledger.totals["organic_followers_gained"] - gained == sum(x.size for x in new)
    return new[p] // m.pop.n, new[p] % m.pop.n


@pytest.mark.parametrize("targeting", [0.0, 0.8, 1.0])
def test_audience_targets_the_persona_community_at_the_configured_share(
        targeting, certain_follow_back) -> None:
    """A follow targets the persona community's members with probability ``targeting``, else
    any member of the platform: with everyone following back, the share of new followers from
    the community is ``targeting + (1 - targeting) x`` its share of members; with many follows
    (all or none of them) every eligible member is drawn at least once, and nobody else."""
    m = _audience_world(targeting)
    pf = m.platforms[0]
    c = m.pop.community_names.index("tech")
    acc = np.arange(m.operation.accounts.n)
    _, users = _new_followers(m, acc, np.full(acc.size, 2))
    in_c = m.pop.community[users] == c
    c_share = (m.pop.community[pf.members] == c).mean()
    assert in_c.mean() == pytest.approx(targeting + (1 - targeting) * c_share, abs=0.04)
    assert np.isin(users, pf.members).all()
    if targeting == 0.8:
        return
    _new_followers(m, acc, np.full(acc.size, 30))
    users = np.unique(follower_keys(m, 0) % m.pop.n)
    eligible = pf.members[m.pop.community[pf.members] == c] if targeting == 1.0 else pf.members
    np.testing.assert_array_equal(users, eligible)
    assert targeting == 1.0 or 0 in pf.members  # user 0 can be drawn, and is


def test_targeting_an_absent_community_draws_from_everyone(certain_follow_back) -> None:
    """A persona community with no members on the platform: targeted follows go to any member
    (every member, with enough follows)."""
    communities = [c.model_dump() for c in sim.Config().population.communities]
    m = model(1500, seed=8, **{
        "operation.n_operators": 100, "operation.accounts_per_operator": 10,
        "operation.hijacked_share": 0.0, "operation.targeting": 1.0,
        "operation.persona_communities": {"ghosts": 1.0},
        "operation.platform_weights": {"social": 1.0}, "population.follow_back_prob": 1.0,
        "population.communities": [*communities[:2], {"name": "ghosts", "share": 1e-9},
                                   *communities[2:]]})
    assert not (m.pop.community == 2).any()  # between two communities with members
    acc = np.arange(m.operation.accounts.n)
    _new_followers(m, acc, np.full(acc.size, 20))
    users = np.unique(follower_keys(m, 0) % m.pop.n)
    np.testing.assert_array_equal(users, m.platforms[0].members)


# platform 0 has no members and platform 1 no operation accounts; operation accounts split
# between platforms 0 and 2
EMPTY_PLATFORM = {
    "operation.n_operators": 20,
    "operation.platform_weights": {"empty": 1.0, "social": 1.0},
    "platforms": [{"name": "empty", "membership": 1e-9}, {"name": "video"},
                  {"name": "social", "membership": 0.9}]}


def test_follow_backs_come_only_from_users_drawn(certain_follow_back) -> None:
    """One follow makes at most one follower; accounts on a platform nobody uses gain none, and
    neither that platform nor one without accounts stops the others' audience building."""
    m = model(1500, seed=8, **EMPTY_PLATFORM, **{"operation.hijacked_share": 0.0,
                                                 "population.follow_back_prob": 1.0})
    assert m.platforms[0].members.size == 0
    acc = m.operation.accounts
    on = [np.flatnonzero(acc.platform == p) for p in range(3)]
    assert on[0].size and on[2].size and not on[1].size
    who, _ = _new_followers(m, on[2][:1], np.array([1]), p=2)
    assert who.tolist() == [on[2][0]]
    both = np.concatenate((on[0], on[2]))
    who, users = _new_followers(m, both, np.full(both.size, 5), p=2)
    assert follower_keys(m, 0).size == 0 and follower_keys(m, 1).size == 0
    assert who.size > 4 * on[2].size and np.isin(users, m.platforms[2].members).all()


def test_hijacked_accounts_on_a_platform_nobody_uses_arrive_without_an_audience() -> None:
    """A hijacked account brings its old audience of the platform's members: on a platform
    with none it brings nobody, and accounts elsewhere still bring theirs."""
    m = model(1500, seed=8, **EMPTY_PLATFORM, **{"operation.hijacked_share": 0.5,
                                                 "operation.hijacked_audience_mean": 30.0})
    acc = m.operation.accounts
    assert m.platforms[0].members.size == 0
    assert (acc.hijacked & (acc.platform == 0)).any() and (acc.hijacked & (acc.platform == 2)).any()
    assert follower_keys(m, 0).size == 0 and acc.followers_inherited[acc.platform == 0].sum() == 0
    assert acc.followers_inherited[acc.hijacked & (acc.platform == 2)].mean() > 10


def test_fluent_writing_wins_follow_backs_up_to_perfect_fluency() -> None:
    """A target follows back like an engagement with the persona's writing, of quality
    fluency plus the operator's bonus, capped at 1: with the same draws, a bonus wins every
    follow-back won without it and more; above perfect fluency it wins nothing more."""
    m = model(1500, seed=8, **{"operation.hijacked_share": 0.0,
                               "population.follow_back_prob": 1.0})
    acc = m.operation.accounts
    ids = np.flatnonzero(acc.alive)

    def follow_backs(fluency: float, bonus: float) -> set[int]:
        w = copy.deepcopy(m)
        w.operation.accounts.fluency[ids] = fluency
        w.operation.build_audience(ids, np.full(ids.size, 100), np.full(ids.size, bonus))
        return set(np.concatenate([pf.op_keys for pf in w.platforms]).tolist())

    plain, fluent = follow_backs(0.2, 0.0), follow_backs(0.2, 0.5)
    assert plain < fluent and len(plain) > 20
    assert follow_backs(0.95, 0.1) == follow_backs(0.95, 0.5) == follow_backs(1.0, 0.0)


# ==== the replacement token bucket (7.16) ======================================================

@pytest.mark.parametrize("rate,cap", [(6.0, 6), (0.75, 1)])
def test_replacement_token_bucket(rate, cap) -> None:
    """Each working hour adds ``replacements_per_day / 24`` tokens (none at the start), at most
    ``max(replacements_per_day, 1)`` held; an acquisition spends one token and one unit of
    ``replacement_budget`` per account, on the platforms where accounts are missing, in platform
    order, and stops when the budget is spent."""
    per_account = round(24 / rate)

    def operator(budget):
        m = model(400, **{"operation.n_operators": 1, "operation.accounts_per_operator": 10,
                          "operation.replacements_per_day": rate,
                          "operation.replacement_budget": budget})
        return m, m.staff, m.operation.accounts

    first = np.array([0])
    m, staff, acc = operator(3)  # everything missing from the start; the budget binds
    acc.retire(np.arange(10), 0, len(m.platforms))
    got = []
    for _ in range(5 * per_account):
        staff.replace_removed(first)
        got.append(acc.n - 10)
    want = [min(c // per_account, 3) for c in range(1, 5 * per_account + 1)]
    assert got == want and staff.budget[0] == 0
    missing = np.bincount(acc.platform[:10], minlength=len(m.platforms))
    np.testing.assert_array_equal(acc.platform[10:],
                                  np.repeat(np.arange(missing.size), missing)[:3])
    m, staff, acc = operator(1)  # in a run: the last unit of budget is spent too
    acc.retire(np.arange(10), 0, len(m.platforms))
    m.run(24 * 5)
    assert acc.n == 11 and staff.budget[0] == 0

    m, staff, acc = operator(100)  # nothing missing: tokens pile up to the cap, then are spent
    for _ in range(200):
        staff.replace_removed(first)
    assert staff.tokens[0] == cap and acc.n == 10 and staff.budget[0] == 100
    acc.retire(np.arange(10), 0, len(m.platforms))
    staff.replace_removed(first)
    assert acc.n == 10 + cap and staff.tokens[0] == 0 and staff.budget[0] == 100 - cap


# ==== adaptive operators (7.17) ================================================================

def focused_on(tactic: str) -> tuple[int, float]:
    """The "focused" arm that puts most of the budget on ``tactic``: its index and share."""
    arms = candidate_splits("focused")
    k = int(np.argmax(arms[:, TACTICS.index(tactic)]))
    return k, float(arms[k, TACTICS.index(tactic)])


def test_adaptive_operators_post_on_shift_and_buy_at_midnight() -> None:
    """Adaptive operators keep the schedule: posts only in working hours, and the day's
    followers bought at midnight UTC only (a split with a share on buying)."""
    k, _ = focused_on("buying")
    m = model(500, **{"adaptation.enabled": True, "adaptation.fixed_split": k,
                      "operation.follower_buying_share": 1.0})
    acc = m.operation.accounts
    bought_at = []
    for _ in range(50):
        before = acc.fake_followers.sum()
        m.step()
        if acc.fake_followers.sum() > before:
            bought_at.append(m.tick)
    assert bought_at == [0, 24, 48]  # hours 0 to 49
    c = post_columns(m)
    made = c["created"][np.isin(c["kind"], (tactics.KIND_OP_POST, KIND_OP_REPLY))]
    assert made.size > 0 and all(m.staff.on_shift(int(t)) for t in np.unique(made))


def test_an_operator_with_one_account_works_it() -> None:
    """An operator down to its last live account still posts with it."""
    s = sim.run(sim.Config(), seed=1, users=300, days=1, overrides={
        "operation.scale_with_users": False, "operation.n_operators": 1,
        "operation.accounts_per_operator": 1}).summary
    assert s["accounts_run"] == 1 and s["posts_published"] > 0


@pytest.mark.parametrize(("n_ops", "users", "want"), [(34, 20_000, 7), (34, 1_000, 1),
                                                       (0, 20_000, 0), (10, 250_000, 25)])
def test_operators_scale_with_the_population(n_ops, users, want) -> None:
    """With ``scale_with_users``, ``n_operators`` is the number at ``reference_users`` users:
    ``round(n_operators x users / reference_users)``, at least 1 unless it is 0."""
    from sim.operation.accounts import n_operators

    cfg = resolve_config(sim.Config(), users=users, days=1, overrides={
        "operation.scale_with_users": True, "operation.n_operators": n_ops,
        "operation.reference_users": 100_000})
    assert n_operators(cfg) == want
    cfg = resolve_config(cfg, overrides={"operation.enabled": False})
    assert n_operators(cfg) == 0  # no operation, no operators


def test_team_followers_are_live_team_mates_that_follow_their_team() -> None:
    """An account's team followers: the live accounts of its team (operator and platform)
    that follow their team, itself excluded; none once it is removed, and what it had then is
    kept for the public counter."""
    accounts = TrollAccounts.__new__(TrollAccounts)
    accounts.operator = np.array([0, 0, 0, 0, 1, 1], np.int32)
    accounts.platform = np.array([0, 0, 0, 1, 0, 0], np.int8)
    accounts.follows_team = np.array([True, True, False, True, True, False])
    accounts.alive = np.array([True, True, True, True, True, False])
    assert accounts.team_followers(2).tolist() == [1, 1, 2, 0, 0, 0]
    accounts.team_followers_at_removal = np.zeros(6, np.int64)
    accounts.removed_tick = np.full(6, -1)
    accounts.retire(np.array([1]), 5, 2)
    assert accounts.team_followers(2).tolist() == [0, 0, 1, 0, 0, 0]
    assert accounts.team_followers_at_removal.tolist() == [0, 1, 0, 0, 0, 0]
    accounts.followers_won = np.zeros(6, np.int64)
    assert accounts.won(np.array([2, 2, 4])) == 3
    assert accounts.followers_won.tolist() == [0, 0, 2, 0, 1, 0]


def test_who_buys_followers_and_follows_the_team_is_a_vanity_draw() -> None:
    """A ``follower_buying_share`` of the accounts buy followers and a ``team_follow_share``
    follow their team-mates, account by account, drawn from the vanity stream: nothing real
    changes with them."""
    runs = []
    for share in (1.0, 0.5):
        m = model(800, **{**BUSY, "operation.n_operators": 10,
                          "operation.follower_buying_share": share,
                          "operation.team_follow_share": share})
        m.run(20)
        runs.append(m)
    acc = runs[1].operation.accounts
    assert acc.n > 50
    for trait in (acc.buys_followers, acc.follows_team):
        assert stats.binomtest(int(trait.sum()), acc.n, 0.5).pvalue > 0.001
    assert runs[0].operation.accounts.buys_followers.all()
    organic = [k for k in runs[0].ledger.totals if k.startswith("organic_")]
    assert [runs[0].ledger.totals[k] for k in organic] == \
        [runs[1].ledger.totals[k] for k in organic]
    assert runs[0].ledger.totals["organic_impressions"] > 0


def test_audience_building_adds_its_fluency_bonus_to_the_posts() -> None:
    """Fluent persona writers: a post's quality is the account's fluency plus the operator's
    bonus (``a_audience x full_fluency_bonus``) plus N(0, 0.05) noise, clipped to
    [0.01, 1]."""
    k, share = focused_on("audience")
    bonus = share * 0.5
    m = model(600, **{"adaptation.enabled": True, "adaptation.fixed_split": k,
                      "adaptation.full_fluency_bonus": 0.5, "operation.fluency_mean": 0.3})
    m.run(30)
    c = post_columns(m)
    own = np.isin(c["kind"], (tactics.KIND_OP_POST, KIND_OP_REPLY))
    fluency = m.operation.accounts.fluency[c["author"][own] - m.pop.n]
    inside = (fluency + bonus > 0.2) & (fluency + bonus < 0.8)  # clipping is far
    extra = c["quality"][own][inside] - fluency[inside]
    assert inside.sum() > 50 and bonus > 0.2
    assert extra.mean() == pytest.approx(bonus, abs=0.02) and 0.03 < extra.std() < 0.07


def test_a_reply_planted_under_the_first_post_held_is_a_reply(monkeypatch) -> None:
    """A planted reply is a reply whatever thread it lands under, the first post held (index
    0) included: it hangs under that thread and is not delivered to followers."""
    m = model(300)
    m.run(3)
    op = m.operation
    monkeypatch.setattr(op, "reply_targets", lambda p, topic, now: np.array([0]))
    ids = op.publish(np.array([0, 1]), np.array([True, False]), np.zeros(2), np.zeros(2), m.tick)
    c = m.posts.cols
    assert c["kind"][ids].tolist() == [KIND_OP_REPLY, tactics.KIND_OP_POST]
    assert m.posts.get("parent", ids[:1])[0] == c["gid"][0]
    assert m.posts.get("hijack_reply", np.array([0]))[0] == ids[0]
    assert m.outbox.flush(m.platforms) == m.platforms[int(op.accounts.platform[1])] \
        .op_follower_counts(op.accounts.n)[1]


def test_poor_writers_posts_are_clipped_and_fresh_content_is_timely() -> None:
    """A post's quality never falls below 0.01, however poor its writer; with no content lag
    every post is perfectly timely (timeliness 1)."""
    m = model(600, **{"operation.fluency_mean": 0.01, "operation.fluency_concentration": 1000.0,
                      "operation.content_lag_hours": 0.0})
    m.run(30)
    c = post_columns(m)
    own = np.isin(c["kind"], (tactics.KIND_OP_POST, KIND_OP_REPLY))
    q = c["quality"][own]
    assert own.sum() > 50 and q.min() == pytest.approx(0.01) and (q <= 0.0101).mean() > 0.3
    assert (c["timeliness"][own] == 1.0).all()


def test_adaptive_operators_learn_and_report_their_split() -> None:
    """With adaptation on, every operator has a learner over the configured arms, with the
    configured epsilon and fixed split, drawing from the model's stream; each operator report
    carries the split it played."""
    over = {"operation.scale_with_users": False, "operation.n_operators": 3,
            "adaptation.enabled": True, "adaptation.arms": "pairs", "adaptation.epsilon": 0.3,
            "adaptation.fixed_split": 10, "paymaster.report_period_days": 1}
    m = model(400, **over)
    arms = candidate_splits("pairs")
    for op in operators(m):
        lr = op.learner
        assert isinstance(lr, Learner) and lr.rng is m.rng
        assert lr.epsilon == 0.3 and lr.fixed == 10
        np.testing.assert_array_equal(lr.arms, arms)
    r = sim.run(sim.Config(), seed=2, users=400, days=1, overrides=over)
    ops = r.operators
    assert len(ops) == 3
    for t, x in zip(TACTICS, arms[10], strict=True):
        np.testing.assert_allclose(ops[f"share_{t}"], x)
        assert r.summary[f"allocation_{t}"] == pytest.approx(x)  # the best split played
    assert not any(op.learner for op in operators(model(400)))


# ==== the ledger: Breakout "reached" and removals at hour 0 (7.12, 7.14) =======================

def test_reached_needs_the_larger_of_the_count_and_the_share() -> None:
    """A community is reached on a platform with at least ``max(min_engaged_users,
    min_engaged_share x members there)`` engaged users: the share decides in a big community,
    the count in a small one."""
    community = np.array([0] * 10 + [1] * 2)
    pop = SimpleNamespace(community=community, community_names=("big", "small"))
    platforms = [SimpleNamespace(members=np.arange(12)), SimpleNamespace(members=np.arange(4))]
    b = SimpleNamespace(min_engaged_users=2, min_engaged_share=0.5)
    ledger = Ledger(12, 2)

    def reached(engaged):
        ledger.engaged[0] = np.isin(np.arange(12), engaged)
        ledger.engaged[1] = np.isin(np.arange(12), engaged) & (np.arange(12) < 4)  # members
        got = ledger.reached(pop, platforms, b)
        assert got[1].tolist() == [len(set(engaged) & {0, 1, 2, 3}) >= 2, False]
        return got[0].tolist()

    assert reached([0, 1, 2, 3]) == [False, False]  # 4 < 0.5 x 10
    assert reached([0, 1, 2, 3, 4]) == [True, False]  # 5 = 0.5 x 10
    assert reached([0, 1, 2, 3, 4, 10]) == [True, False]  # 1 < 2 (0.5 x 2 = 1)
    assert reached([10, 11]) == [False, True]


def _accounts(n: int, operator: int = 0) -> TrollAccounts:
    return TrollAccounts(platform=np.zeros(n, np.int8), operator=np.full(n, operator, np.int32),
                         community=np.zeros(n, np.int8), language=np.zeros(n, np.int8),
                         fluency=np.ones(n, np.float32), created=np.zeros(n, np.int32),
                         hijacked=np.zeros(n, bool), origin=np.zeros(n, np.int8),
                         buys_followers=np.ones(n, bool), follows_team=np.ones(n, bool))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12), st.data())
def test_appended_accounts_equal_concatenation(sizes, data) -> None:
    """Replacements appended batch by batch (into spare storage) leave every field as plain
    concatenation would, including writes made between appends, through a field or by
    reassigning one."""
    acc, expect = _accounts(sizes[0]), _accounts(sizes[0])
    for i, k in enumerate(sizes[1:], start=1):
        assert acc.extend(_accounts(k, i)).tolist() == list(range(expect.n, expect.n + k))
        for name in expect.__dataclass_fields__:
            setattr(expect, name, np.concatenate((getattr(expect, name),
                                                  getattr(_accounts(k, i), name))))
        if acc.n and data.draw(st.booleans()):
            j = data.draw(st.integers(0, acc.n - 1))
            acc.retire(np.array([j]), i, 1)
            expect.retire(np.array([j]), i, 1)
        if data.draw(st.booleans()):
            acc.fake_followers = acc.fake_followers + 1
            expect.fake_followers = expect.fake_followers + 1
    for name in expect.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(acc, name), getattr(expect, name), err_msg=name)


def test_accounts_removed_in_hour_zero_count_as_removed() -> None:
    acc = _accounts(4)
    acc.retire(np.array([0]), 0, 1)
    acc.retire(np.array([1]), 1, 1)
    snap = Ledger(5, 1).snapshot(acc, [])
    assert snap["operation_accounts_removed"] == 2 and snap["accounts_alive"] == 2


@pytest.mark.parametrize("schedule", [False, True])
def test_adaptive_plan_restates_the_split(schedule) -> None:
    """docs/model.md 7.17, restated: a split sets posts and planted replies per account-day
    (together the posting rate, spread over the shift's hours or, with a scheduler, over all
    24; the replies' share is the hijack fraction), sibling engagements per post, followers bought
    per account-day (at the day's purchase hour only), follows per account-day over the shift
    (on shift only) with a fluency bonus, and the content lag cut by the timeliness share. The
    self-share fraction stays the configured one."""
    over = {"adaptation.enabled": True, "adaptation.full_volume": 30.0,
            "adaptation.full_hijacking": 10.0, "adaptation.full_amplification": 12.0,
            "adaptation.full_buying": 200.0, "adaptation.full_audience": 40.0,
            "adaptation.full_fluency_bonus": 0.5, "operation.work_blocks": [[9, 12], [13, 18]],
            "operation.content_lag_hours": 20.0, "operation.self_amp_share_fraction": 0.3,
            "operation.schedule_posts": schedule}
    m = model(300, **over)
    op = operators(m)[0]
    split = dict(volume=0.3, amplification=0.25, buying=0.1, hijacking=0.15, audience=0.12,
                 timeliness=0.08)
    op.learner.arms = np.array([[split[t] for t in TACTICS]])
    op.learner.arm = 0
    posts, replies = 0.3 * 30.0, 0.15 * 10.0
    spread = 24 if schedule else 8  # an 8-hour shift

    def plan(working: bool, buying: bool) -> SimpleNamespace:  # the first operator's rates
        return SimpleNamespace(**{k: v[0] for k, v in m.staff.rates(working, buying).items()})

    for working in (False, True):
        for buying in (False, True):
            p = plan(working, buying)
            posting = working or schedule
            assert p.post_rate == pytest.approx((posts + replies) / spread if posting else 0.0)
            assert p.hijack_fraction == pytest.approx(replies / (posts + replies))
            assert p.self_amp_per_post == pytest.approx(0.25 * 12.0)
            assert p.self_amp_share_fraction == 0.3
            assert p.buy_followers == pytest.approx(0.1 * 200.0 if buying else 0.0)
            assert p.follow_rate == pytest.approx(0.12 * 40.0 / 8 if working else 0.0)
            assert p.content_lag_hours == pytest.approx(20.0 * (1 - 0.08))
            assert p.quality_bonus == pytest.approx(0.12 * 0.5)
    op.learner.arms = np.array([[0.0, 0.5, 0.5, 0.0, 0.0, 0.0]])  # no posts, no replies
    p = plan(True, False)
    assert p.post_rate == 0.0 and p.hijack_fraction == 0.0 and p.content_lag_hours == 20.0
    op.learner.arms = np.array([[split[t] for t in TACTICS]])
    op.learner.arms[0, TACTICS.index("hijacking")] = 0.9  # more replies than posts
    p = plan(True, False)
    assert p.hijack_fraction == pytest.approx(9.0 / (9.0 + 9.0))
    op.learner.arms[0, TACTICS.index("volume")] = 0.02  # under one post or reply a day
    op.learner.arms[0, TACTICS.index("hijacking")] = 0.02
    p = plan(True, False)
    assert p.hijack_fraction == pytest.approx(0.2 / (0.6 + 0.2))



# ==== a scan on a hand-built observation (7.15, 7.16) ==========================================

def scan_by_hand(monkeypatch, mode: str, score: list[float], eligible: list[bool],
                 delay: float = 0.0, first: int = 10) -> tuple:
    """Platform 0's moderator scans once, before the first hour, seeing the accounts 10..15 of
    ``linked_observation`` (or ``first``.. ``first + 5``) with the given scores (threshold 0.6,
    network threshold 0.5).
    Returns the moderator and a copy of the moderation stream as it was before the scan."""
    m = model(300, **{"moderation.enabled": True, "moderation.mode": mode,
                      "moderation.threshold": 0.6, "moderation.network_threshold": 0.5,
                      "moderation.review_delay_hours": delay})
    mod = moderator(m)
    s = Scores(np.arange(first, first + 6), np.ones(6, np.int64), np.zeros((6, 8)), np.array(score),
               np.array(eligible))
    monkeypatch.setattr(mod.owner, "observe", lambda _mod: linked_observation())
    monkeypatch.setattr(enforcement, "score_accounts", lambda obs, c, index=None: s)
    before = np.random.Generator(np.random.PCG64())
    before.bit_generator.state = mod.owner.rng.bit_generator.state
    mod.scan()
    return mod, before


def test_a_scan_flags_at_the_threshold_and_acts_per_group(monkeypatch) -> None:
    """An eligible account scoring exactly ``threshold`` is flagged. In network mode one action
    takes a flagged account's linked group: members eligible and scoring at least
    ``network_threshold`` (10 and 11 engage each other; 12 is linked but not eligible; 13 links
    14 but scores too little). In account mode, one action per flagged account."""
    score = [0.6, 0.9, 0.9, 0.3, 0.9, 0.1]  # accounts 10..15
    eligible = [True, True, False, True, True, True]
    for mode, want in (("network", [[10, 11], [14]]), ("account", [[10], [11], [14]])):
        mod, _ = scan_by_hand(monkeypatch, mode, score, eligible)
        assert sorted(sorted(ids.tolist()) for _, ids, _ in mod.pending) == want, mode
        assert mod.n_actions == len(want)
        assert set(mod.flag_tick) == {10, 11, 14}
        assert set(mod.flag_tick.values()) == {mod.model.tick}
    mod, _ = scan_by_hand(monkeypatch, "account", [0.9] * 6, [True] * 6, first=0)
    assert set(mod.flag_tick) == set(range(6))  # the first id is flagged like any other


def test_review_delays_are_drawn_for_any_positive_mean(monkeypatch) -> None:
    """Each action waits an exponential review delay with the configured mean, drawn from the
    moderation stream and rounded to the hour, even when the mean is under an hour; none
    waits with a mean of 0, and then nothing is drawn."""
    score, eligible = [0.9] * 6, [True] * 6
    mod, before = scan_by_hand(monkeypatch, "account", score, eligible)
    assert [due for due, _, _ in mod.pending] == [mod.model.tick] * 6
    assert mod.owner.rng.bit_generator.state == before.bit_generator.state  # nothing drawn
    mod, before = scan_by_hand(monkeypatch, "account", score, eligible, delay=0.9)
    want = np.round(before.exponential(0.9, 6)).astype(int).tolist()
    assert any(want)  # this seed draws some delay of an hour or more
    assert [due - mod.model.tick for due, _, _ in mod.pending] == want


def test_a_compaction_carries_fingerprints_with_their_posts_and_clears_the_rest() -> None:
    """Moderation's per-post fingerprints follow their posts through a compaction, and the
    indices it frees carry none (a post made there later has no content in common with
    anything unless it is given some); a fingerprint set again replaces the old one."""
    m = model(300, **{"moderation.enabled": True})
    m.run(3)
    mod, n = m.moderation, m.posts.n
    fp = np.arange(n, dtype=np.int32)  # a fingerprint of its own for every other post
    fp[1::2] = UNIQUE
    mod.set_fingerprints(np.arange(n), fp)
    keep = np.zeros(n, bool)
    keep[::3] = True
    keep[m.posts.cols["root"][:n][keep]] = True
    mod.compact(m.posts.compact(keep).new)
    k = int(keep.sum())
    assert 0 < k < n
    np.testing.assert_array_equal(mod.fingerprints(np.arange(n)),
                                  np.r_[fp[keep], [UNIQUE] * (n - k)])
    mod.set_fingerprints(np.array([k - 1, 0, 1]), np.array([7, UNIQUE, 9]))
    np.testing.assert_array_equal(mod.fingerprints(np.array([0, 1, k - 1])), [UNIQUE, 9, 7])


def test_the_fingerprint_given_last_stands() -> None:
    """Setting a post's fingerprint again replaces it, ``UNIQUE`` clears it, whether the post
    is the last one that has one, a new post, or repeated within one batch; the fingerprints
    read back as 32-bit codes, none for no posts."""
    m = model(300, **{"moderation.enabled": True})
    m.run(2)
    mod = m.moderation
    n = mod.n_fp
    last = int(mod.fp_posts[n - 1])
    assert n > 2 and last + 2 < m.posts.n
    mod.set_fingerprints(np.array([last]), np.array([5]))  # the last post that has one
    assert mod.fingerprints(np.array([last]))[0] == 5
    mod.set_fingerprints(np.array([last]), np.array([UNIQUE]))
    assert mod.fingerprints(np.array([last]))[0] == UNIQUE
    new = np.array([last + 1, last + 1, last + 2])  # new posts, one given twice
    mod.set_fingerprints(new, np.array([3, UNIQUE, 4]))
    got = mod.fingerprints(np.r_[new, last])
    assert got.dtype == np.int32 and got.tolist() == [UNIQUE, UNIQUE, 4, UNIQUE]
    empty = mod.fingerprints(np.zeros(0, np.int64))
    assert empty.dtype == np.int32 and empty.shape == (0,)
