"""The analyst's view: public counters add up from where they came from, never fall below the real
ones, and the organic tally counts every post once whenever memory is freed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.ledger import account_followers
from sim.model import InfluenceModel
from sim.posts import KIND_OP_SHARE
from sim.runner import collect, resolve_config

OVERRIDES = {"operation.scale_with_users": False, "operation.n_operators": 4,
             "moderation.review_delay_hours": 2.0, "operation.hijacked_share": 0.5,
             "operation.follows_per_account_day": 20.0,
             "population.follow_back_prob": 0.6, "moderation.counterfactual": False,
             "engagement.feed_max_age_hours": 24, "moderation.window_hours": 24}


@pytest.fixture(scope="module")
def model(preset):
    cfg = resolve_config(preset, users=3000, days=3, overrides=OVERRIDES)
    m = InfluenceModel(cfg, seed=11)
    m.run()
    return m


@pytest.fixture(scope="module")
def result(model):
    return collect(model, runtime=0.0)


def test_public_followers_add_up_and_cover_the_real_ones(model, result) -> None:
    a = result.accounts
    parts = a["followers_real"] + a["followers_bought"] + a["followers_team"] \
        + a["followers_inherited"]
    assert (a["followers_public"] == parts).all()
    assert (a["followers_public"] >= a["followers_real"]).all()
    assert a["followers_real"].sum() == result.summary["organic_followers_gained"] > 0
    assert a["followers_inherited"].sum() > 0 and (a["fate"] == "removed").any()
    # live accounts: what they won or inherited is exactly their organic follower edges, and
    # the public counter is what the operation reports
    acc = model.operation.accounts
    edges = sum(pf.op_follower_counts(acc.n) for pf in model.platforms)
    alive = acc.alive
    np.testing.assert_array_equal((a["followers_real"] + a["followers_inherited"])[alive],
                                  edges[alive])
    np.testing.assert_array_equal(a["followers_public"][alive],
                                  account_followers(acc, model.platforms)[1][alive])
    # removed accounts keep the counter they showed when they were taken down
    gone = a["fate"] == "removed"
    assert (a.loc[gone, "followers_public"] >= a.loc[gone, "followers_bought"]).all()
    assert (a.loc[gone, "lifetime_hours"] == a.loc[gone, "removed_tick"]
            - a.loc[gone, "created_tick"]).all()


def test_public_post_counters_split_the_reported_engagements(model, result) -> None:
    p = result.posts
    assert (p["public_likes"] + p["public_comments"] + p["public_shares"]
            == p["reported_engagements"]).all()
    for public, real in (("public_likes", "organic_likes"),
                         ("public_comments", "organic_replies"),
                         ("public_shares", "organic_reshares"),
                         ("public_views", "organic_impressions")):
        assert (p[public] >= p[real]).all(), public
    # in-network shares are the self-share posts of each original
    c = model.posts.cols
    shares = c["kind"][: model.posts.n] == KIND_OP_SHARE
    per_root = pd.Series(c["gid"][c["root"][: model.posts.n][shares]]).value_counts()
    got = (p["public_shares"] - p["organic_reshares"]).to_numpy()
    want = per_root.reindex(p["post_id"]).fillna(0).to_numpy()
    np.testing.assert_array_equal(got, want)
    assert want.sum() > 0
    # each account's engagements are those of its posts
    assert result.accounts["engagements_public"].sum() == p["reported_engagements"].sum()


def test_comment_share_splits_only_the_public_counters(preset) -> None:
    runs = {f: sim.run(preset, seed=3, users=2000, days=2,
                       overrides={"operation.self_amp_comment_fraction": f,
                                  "moderation.enabled": False}) for f in (0.0, 1.0)}
    none, every = runs[0.0].posts, runs[1.0].posts
    assert (none["public_comments"] == none["organic_replies"]).all()
    assert (every["public_likes"] == every["organic_likes"]).all()
    assert every["public_comments"].sum() > every["organic_replies"].sum()
    pd.testing.assert_frame_equal(runs[0.0].timeseries, runs[1.0].timeseries)


def test_disposable_accounts_show_no_followers_and_change_no_real_figure(preset) -> None:
    base = {"moderation.enabled": False, "operation.hijacked_share": 0.0}
    runs = {share: sim.run(preset, seed=5, users=2000, days=2, overrides={
        **base, "operation.follower_buying_share": share, "operation.team_follow_share": share})
        for share in (1.0, 0.0)}
    buying, disposable = runs[1.0], runs[0.0]
    a = disposable.accounts
    assert (a["followers_bought"] == 0).all() and (a["followers_team"] == 0).all()
    assert disposable.summary["op_accounts_zero_followers_public"] == pytest.approx(
        (a["followers_real"] == 0).mean())
    assert buying.summary["op_accounts_zero_followers_public"] == 0
    assert disposable.summary["reported_followers"] < buying.summary["reported_followers"]
    for k in ("organic_impressions", "organic_engagements", "organic_exposed_users",
              "organic_followers_gained", "posts_published"):
        assert disposable.summary[k] == buying.summary[k], k


class Hourly(InfluenceModel):
    COMPACT_EVERY_HOURS = 1


class Never(InfluenceModel):
    COMPACT_EVERY_HOURS = 10**9


def test_organic_posts_are_tallied_once_whenever_they_leave_memory(preset) -> None:
    cfg = resolve_config(preset, users=2000, days=3, overrides={
        "engagement.feed_max_age_hours": 24, "moderation.window_hours": 24,
        "population.reshare_prob": 0.2})
    stats = []
    for cls in (Hourly, Never):
        m = cls(cfg, seed=2)
        m.run()
        stats.append({k: v for k, v in collect(m, runtime=0.0).summary.items()
                      if k.startswith("organic_posts_")})
        if cls is Hourly:
            assert m.analyst_posts.n > 0  # most posts were tallied as they left memory
            held = int((m.posts.cols["kind"][: m.posts.n] == 0).sum())
            assert m.analyst_posts.n + held == m.ledger.totals["organic_posts"]
    assert stats[0] == stats[1]
    assert 0 < stats[0]["organic_posts_zero_views"] < 1
