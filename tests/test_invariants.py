"""Properties that must hold for every valid configuration, checked on random small worlds.

Hypothesis draws whole scenarios (population, 1-3 platforms, engagement, operation tactics,
reporting period) and runs each for a few simulated hours or days. Every run must keep the two
ledgers consistent: the real ledger never exceeds the vanity ledger where both count the same
thing, cumulative series never fall, the per-post table adds up to the run
totals, shares are shares, and the last row of the time series is the summary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.config import LANGUAGES
from sim.runner import resolve_config

COMMUNITIES = ("us_politics", "chinese_diaspora", "sport_fitness", "tech", "entertainment")

# (real, vanity) pairs that count the same thing; the real figure can never exceed the vanity one
REAL_LE_VANITY = (
    ("organic_impressions", "reported_impressions"),
    ("organic_engagements", "reported_engagements"),
    ("organic_followers_gained", "reported_followers"),
    ("in_network_engagements", "reported_engagements"),
)
# cumulative columns of the time series that can never fall
CUMULATIVE = ("posts_published", "reported_impressions", "reported_engagements",
              "organic_exposed_users", "organic_impressions", "organic_engagements",
              "organic_reshares", "organic_followers_gained")
# per-post columns that add up to a run total of the same name
POST_SUMS = ("reported_impressions", "reported_engagements", "organic_impressions",
             "organic_engagements", "organic_likes", "organic_reshares", "organic_replies",
             "in_network_engagements")
# per-period deltas of the paymaster's reports that add up to the final figure
REPORT_DELTAS = ("posts_published", "reported_followers", "reported_engagements",
                 "organic_engagements", "organic_exposed_users", "organic_followers_gained")

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                             print_blob=True, suppress_health_check=[HealthCheck.too_slow])


def unit(lo: float = 0.0, hi: float = 1.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def platforms(draw) -> list[dict]:
    n = draw(st.integers(1, 3))
    return [{
        "name": f"p{i}",
        "membership": draw(unit(0.15, 1.0)),
        "usage_share": draw(unit(0.2, 3.0)),
        "graph": draw(st.sampled_from(["chung_lu", "erdos_renyi"])),
        "followees_mean": draw(unit(1.0, 60.0)),
        "homophily": draw(unit()),
        "ranking": draw(st.sampled_from(["chronological", "engagement"])),
        "engagement_weight": draw(unit(0.0, 3.0)),
        "recency_halflife_hours": draw(unit(0.5, 48.0)),
        "feed_capacity": draw(st.integers(1, 64)),
    } for i in range(n)]


@st.composite
def work_blocks(draw) -> list[list[int]]:
    cuts = sorted(draw(st.sets(st.integers(0, 24), min_size=2, max_size=6)))
    return [[a, b] for a, b in zip(cuts[::2], cuts[1::2], strict=False)] or [[9, 17]]


@st.composite
def configs(draw) -> dict:
    plats = draw(platforms())
    names = [p["name"] for p in plats]
    personas = draw(st.lists(st.sampled_from(COMMUNITIES), min_size=1, max_size=3, unique=True))
    weighted = draw(st.booleans())
    fixed = draw(st.one_of(st.none(), unit(0.0, 0.08)))
    return {
        "run": {"seed": draw(st.integers(0, 2**32)), "days": draw(unit(0.5, 2.0))},
        "population": {
            "n_users": draw(st.integers(200, 1500)),
            "own_topic_prob": draw(unit()),
            "sessions_per_day_median": draw(unit(0.3, 8.0)),
            "sessions_per_day_sigma": draw(unit(0.0, 1.5)),
            "attention_mean": draw(unit(1.0, 12.0)),
            "attention_limited": draw(st.booleans()),
            "always_active": draw(st.booleans()),
            "post_prob": draw(unit(0.0, 0.4)),
            "like_prob": draw(unit(0.0, 0.3)),
            "reshare_prob": draw(unit(0.0, 0.08)),
            "reply_prob": draw(unit(0.0, 0.1)),
            "follow_prob": draw(unit(0.0, 0.3)),
            "follow_back_prob": draw(unit()),
            "report_prob": draw(unit(0.0, 0.2)),
            "propensity_sigma": draw(unit(0.0, 1.5)),
            "popularity_exponent": draw(unit(1.5, 4.0)),
            "n_high_profile_per_community": draw(st.integers(0, 5)),
            "n_media_per_community": draw(st.integers(0, 3)),
        },
        "platforms": plats,
        "engagement": {
            "cross_topic_factor": draw(unit()),
            "social_proof_weight": draw(unit(0.0, 2.0)),
            "followed_author_factor": draw(unit(0.0, 4.0)),
            "reply_view_prob": draw(unit()),
            "cross_post_prob": draw(unit(0.0, 0.5)),
            "fixed_reshare_prob": fixed,
            "reshare_memory": draw(st.integers(1, 16)),
            "freshness_halflife_hours": draw(unit(0.5, 48.0)),
        },
        "operation": {
            "enabled": draw(st.sampled_from([True, True, True, False])),
            "n_operators": draw(st.integers(0, 6)),
            "accounts_per_operator": draw(st.integers(1, 12)),
            "scale_with_users": draw(st.booleans()),
            "reference_users": draw(st.integers(200, 5000)),
            "platform_weights": ({n: draw(unit(0.01, 1.0)) for n in names} if weighted else {}),
            "utc_offset": draw(st.integers(-12, 14)),
            "work_blocks": draw(work_blocks()),
            "weekends_off": draw(st.booleans()),
            "persona_communities": {c: draw(unit(0.05, 1.0)) for c in personas},
            "persona_languages": [draw(unit(0.0, 1.0)), draw(unit(0.0, 1.0)), 0.1],
            "fluency_mean": draw(unit(0.02, 0.98)),
            "posts_per_account_day": draw(unit(0.0, 30.0)),
            "hijack_fraction": draw(unit()),
            "hijack_pool": draw(st.integers(1, 100)),
            "self_amp_per_post": draw(unit(0.0, 8.0)),
            "self_amp_share_fraction": draw(unit()),
            "follows_per_account_day": draw(unit(0.0, 40.0)),
            "targeting": draw(unit()),
            "content_lag_hours": draw(unit(0.0, 96.0)),
            "hijacked_share": draw(unit()),
            "hijacked_audience_mean": draw(unit(0.0, 80.0)),
            "fake_followers_mean": draw(unit(0.0, 1000.0)),
            "fake_followers_per_day": draw(unit(0.0, 50.0)),
            "fake_view_prob": draw(unit()),
        },
        "paymaster": {"report_period_days": draw(st.integers(1, 2))},
        "breakout": {"min_engaged_users": draw(st.integers(1, 8))},
    }


def check_real_within_vanity(s: dict) -> None:
    for real, vanity in REAL_LE_VANITY:
        assert s[real] <= s[vanity], f"{real}={s[real]} exceeds {vanity}={s[vanity]}"
    n = s["n_users"]
    assert s["organic_exposed_users"] <= n, "more users exposed than exist"
    assert s["organic_exposed_users"] <= s["organic_impressions"], \
        "more distinct exposed users than organic impressions"
    assert s["organic_reshares"] <= s["organic_engagements"]
    assert s["organic_cross_posts"] <= s["organic_reshares"]
    assert s["media_amplifications"] + s["high_profile_amplifications"] <= s["organic_reshares"]
    assert s["hijack_replies"] <= s["posts_published"]


def check_time_series(s: dict, ts: pd.DataFrame, ticks: int) -> None:
    assert len(ts) == ticks
    assert ts["tick"].tolist() == list(range(1, ticks + 1))
    np.testing.assert_allclose(ts["day"], ts["tick"] / 24)
    for c in CUMULATIVE:
        steps = np.diff(ts[c].to_numpy())
        assert (steps >= 0).all(), f"cumulative {c} decreases at tick {np.argmin(steps) + 2}"
    last = ts.iloc[-1]
    for c in ts.columns.drop(["tick", "day"]):
        if s[c] is None:  # undefined ratios: null in the summary, NaN in the series
            assert np.isnan(last[c]), f"last timeseries row {c}={last[c]}, summary null"
        else:
            assert last[c] == s[c], f"last timeseries row {c}={last[c]} != summary {s[c]}"
    assert (ts["accounts_alive"] <= s["n_accounts"]).all()


def check_post_table(s: dict, posts: pd.DataFrame, ticks: int) -> None:
    for c in POST_SUMS:
        assert posts[c].sum() == s[c], f"posts.{c} sums to {posts[c].sum()}, summary {s[c]}"
    assert (posts["reported_engagements"]
            == posts["organic_engagements"] + posts["in_network_engagements"]).all()
    assert (posts["organic_engagements"]
            == posts["organic_likes"] + posts["organic_reshares"]
            + posts["organic_replies"]).all()
    assert (posts["organic_impressions"] <= posts["reported_impressions"]).all()
    assert posts["post_id"].is_unique
    replies = posts["kind"] == "op_hijack_reply"
    assert int(replies.sum()) == s["hijack_replies"]
    assert set(posts["kind"].astype(str)) <= {"op_post", "op_hijack_reply"}
    # self-shares are published but live on their root's row
    assert len(posts) <= s["posts_published"]
    if "thread_post_id" in posts:
        assert (posts.loc[~replies, "thread_post_id"] == -1).all()
        assert (posts.loc[replies, "thread_post_id"] >= 0).all()
        assert (posts.loc[replies, "thread_post_id"] < posts.loc[replies, "post_id"]).all()
    assert posts["created_tick"].between(0, ticks - 1).all()
    assert posts["quality"].between(0, 1).all()
    assert posts["timeliness"].between(0, 1).all()
    assert set(posts["language"].astype(str)) <= set(LANGUAGES)
    assert (posts["account"] < s["n_accounts"]).all()
    assert (posts["operator"] < max(s["n_operators"], 1)).all()


def check_totals(s: dict) -> None:
    assert s["reported_engagements"] == s["organic_engagements"] + s["in_network_engagements"]
    assert s["organic_engagements"] == (s["organic_likes"] + s["organic_reshares"]
                                        + s["organic_replies"])
    for k in ("in_network_engagement_share", "exposure_top1pct_share"):
        assert 0.0 <= s[k] <= 1.0, f"{k}={s[k]} is not a share"
    if s["reported_engagements"]:
        assert math.isclose(s["in_network_engagement_share"],
                            s["in_network_engagements"] / s["reported_engagements"])
    if s["organic_impressions"]:
        assert s["exposure_top1pct_share"] > 0
    # the category from what was reached (hand-built cases: tests/test_rules.py)
    n_p, n_c = len(s["platforms_reached"]), len(s["communities_reached"])
    if s["high_profile_amplifications"]:
        assert s["breakout_category"] == 5
    elif s["media_amplifications"]:
        assert s["breakout_category"] == 4
    else:
        assert s["breakout_category"] == 1 + (n_p > 1 or n_c > 1) + (n_p > 1 and n_c > 1)
    assert set(s["platforms_reached"]) <= set(s["follower_edges"])
    assert set(s["communities_reached"]) <= set(COMMUNITIES)
    assert s["accounts_alive"] <= s["n_accounts"]
    if s["n_accounts"] == 0:  # no operation: nothing to report and nothing reached
        for k in ("posts_published", "reported_followers", "reported_impressions",
                  "reported_engagements", "organic_impressions", "organic_exposed_users"):
            assert s[k] == 0, f"{k}={s[k]} without any troll account"


def check_reports(s: dict, reports: pd.DataFrame, ticks: int, period_days: int) -> None:
    period = 24 * period_days
    assert len(reports) == math.ceil(ticks / period)
    assert reports["period"].tolist() == list(range(len(reports)))
    assert reports["end_tick"].is_monotonic_increasing
    assert reports["end_tick"].iloc[-1] == ticks
    if s["n_accounts"]:
        assert reports["survival_rate"].between(0, 1).all()
    else:  # no accounts, no survival rate
        assert reports["survival_rate"].isna().all()
    assert reports["accounts_alive"].iloc[-1] == s["accounts_alive"]
    for k in REPORT_DELTAS:
        assert reports[k].sum() == s[k], f"report deltas of {k} do not add up to the total"


@PROPERTY_SETTINGS
@given(raw=configs())
def test_ledgers_are_consistent(raw: dict) -> None:
    cfg = resolve_config(raw)
    r = sim.run(cfg)
    s, ts, posts, reports = r.summary, r.timeseries, r.posts, r.reports
    assert s["ticks"] == cfg.ticks
    assert s["n_users"] == cfg.population.n_users
    check_real_within_vanity(s)
    check_time_series(s, ts, cfg.ticks)
    check_post_table(s, posts, cfg.ticks)
    check_totals(s)
    check_reports(s, reports, cfg.ticks, cfg.paymaster.report_period_days)


def test_disabled_operation_leaves_both_ledgers_empty() -> None:
    r = sim.run(sim.Config(), users=400, days=1,
                overrides={"operation.enabled": False, "run.seed": 5})
    s = r.summary
    assert s["n_accounts"] == 0 and r.posts.empty
    for k in ("posts_published", "reported_followers", "reported_impressions",
              "reported_engagements", "organic_exposed_users", "organic_impressions",
              "organic_engagements", "organic_reshares", "organic_followers_gained"):
        assert s[k] == 0, k
    assert s["breakout_category"] == 1
    assert s["organic_posts"] > 0, "organic life goes on without the operation"


# A valid configuration can leave a platform without members (membership is a probability, and
# members-less users go to the likeliest platform); troll accounts placed there must not crash.
EMPTY_PLATFORM = {
    "run": {"seed": 1, "days": 1},
    "population": {"n_users": 10},
    "platforms": [{"name": "big", "membership": 1.0}, {"name": "empty", "membership": 0.001}],
    "operation": {"scale_with_users": False, "n_operators": 1, "accounts_per_operator": 3,
                  "platform_weights": {"empty": 1.0}, "hijacked_share": 0.0,
                  "follows_per_account_day": 0.0},
}


def _empty_platform_run(overrides: dict) -> sim.RunResult:
    cfg = resolve_config(EMPTY_PLATFORM, overrides=overrides)
    model = sim.InfluenceModel(cfg)
    assert [pf.members.size for pf in model.platforms] == [10, 0]
    return sim.run(cfg)


def test_accounts_on_a_platform_without_members_can_post() -> None:
    s = _empty_platform_run({}).summary
    assert s["posts_published"] > 0
    assert s["organic_impressions"] == 0 and s["organic_exposed_users"] == 0


def test_audience_building_on_a_platform_without_members() -> None:
    s = _empty_platform_run({"operation.follows_per_account_day": 24.0}).summary
    assert s["organic_followers_gained"] == 0


def test_hijacked_account_on_a_platform_without_members() -> None:
    r = _empty_platform_run({"operation.hijacked_share": 1.0,
                             "operation.hijacked_audience_mean": 5.0})
    # no members, so no audience: bought followers and the two siblings of each account
    assert r.summary["reported_followers"] == r.accounts["fake_followers"].sum() + 3 * 2
    assert r.summary["organic_followers_gained"] == 0
