"""The operation: its accounts and tactics, its paymaster's KPI, adaptive operators."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from .base import LANGUAGES, F, Hour, Strict, check_weights


class OperationConfig(Strict):
    """The covert operation: its operators, their accounts and tactics."""

    enabled: bool = F(True, "Whether the operation runs at all.")
    n_operators: int = F(34, "Operators (staff running accounts).", unit="operators",
                         ge=0, le=10_000,
                         source="DOJ 2023 complaint: 34 officers of the 912 group")
    accounts_per_operator: int = F(10, "Troll accounts each operator runs.", ge=1, le=10_000,
                                   source="assumption")
    scale_with_users: bool = F(True, "Scale the number of operators with n_users / "
                               "reference_users (so --users keeps the operation's share).")
    reference_users: int = F(100_000, "Population at which n_operators applies.", ge=1,
                             le=50_000_000)
    platform_weights: dict[str, float] = Field(
        default_factory=dict, description="Share of accounts created on each platform "
        "(by name); empty = equal shares.")
    utc_offset: int = F(8, "Operators' time zone.", unit="hours from UTC", ge=-12, le=14,
                        source="Meta 2023: working pattern on Beijing time")
    work_blocks: list[tuple[Hour, Hour]] = Field(
        default=[(9, 12), (14, 17), (19, 22)],
        description="Working hours [start, end) in local time; gaps are meal breaks. "
        "Default after Meta 2023: mid-morning and early-afternoon bursts, breaks for lunch and "
        "supper, a final evening burst.")
    weekends_off: bool = F(False, "Operators rest on Saturday and Sunday (day 5 and 6).")
    persona_communities: dict[str, float] = Field(
        default_factory=lambda: {"us_politics": 0.5, "chinese_diaspora": 0.5},
        description="Weights of persona communities (by community name).")
    persona_languages: list[float] = F([0.6, 0.4, 0.0], "Weights of persona language "
                                       "(en, zh, other).",
                                       source="Meta 2023: English and Mandarin mixed")
    fluency_mean: float = F(0.3, "Mean fluency (post quality) of accounts (Beta).", gt=0,
                            le=0.99, source="assumption; Meta 2023 notes weak idiomatic English")
    fluency_concentration: float = F(10.0, "Beta concentration of fluency.", gt=0, le=1000)
    posts_per_account_day: float = F(8.0, "Posts per account per working day.",
                                     unit="posts/account/day", ge=0, le=1000)
    hijack_fraction: float = F(0.2, "Share of posts that are replies planted under popular "
                               "organic threads of any topic.", ge=0, le=1,
                               source="Meta 2023: replies under unrelated popular questions")
    hijack_on_topic: bool = F(False, "Planted replies go under threads on the persona's own "
                              "topic only (default: popular threads of any topic).")
    hijack_pool: int = F(50, "Replies target the N most-engaged recent organic posts.", ge=1,
                         le=100_000)
    self_amp_per_post: float = F(3.0, "Mean engagements each post gets from sibling accounts.",
                                 unit="engagements/post", ge=0, le=1000,
                                 source="Meta 2023: many comments came from the operation's "
                                 "own accounts")
    self_amp_share_fraction: float = F(0.2, "Share of sibling engagements that are reshares "
                                       "(delivered to the sharer's followers).", ge=0, le=1)
    self_amp_comment_fraction: float = F(0.5, "Share of the other sibling engagements that are "
                                         "comments (the rest are likes). Only splits the public "
                                         "like and comment counters; nothing else depends on it.",
                                         ge=0, le=1, source="assumption; Meta 2023: many "
                                         "comments came from the operation's own accounts")
    team_follow_share: float = F(1.0, "Share of accounts that follow the other accounts of "
                                 "their team (same operator, same platform); followed accounts "
                                 "count them among their followers.", ge=0, le=1,
                                 source="assumption")
    follows_per_account_day: float = F(2.0, "Organic users each account follows per working day "
                                       "(audience building).", ge=0, le=1000)
    targeting: float = F(0.5, "Share of audience-building follows aimed at persona-community "
                         "members (the rest random).", ge=0, le=1)
    content_lag_hours: float = F(48.0, "Mean lag between an event and the post about it "
                                 "(exponential).", unit="hours", ge=0, le=10_000,
                                 source="assumption; Meta 2023: content published long after "
                                 "the events it previewed")
    hijacked_share: float = F(0.2, "Share of accounts that are hijacked and arrive with an old "
                              "audience.", ge=0, le=1, source="Graphika 2019")
    hijacked_audience_mean: float = F(40.0, "Mean old audience of a hijacked account "
                                      "(geometric), drawn from random members.",
                                      unit="followers", ge=0, le=1e6)
    follower_buying_share: float = F(1.0, "Share of accounts whose followers are bought "
                                     "(at creation and daily); the others are disposable "
                                     "accounts that never buy any.", ge=0, le=1,
                                     source="assumption; Google TAG 2024: most disabled "
                                     "channels had no subscribers at all")
    fake_followers_mean: float = F(580.0, "Mean bought (fake) followers per buying account at "
                                   "creation (Poisson).", unit="followers", ge=0, le=1e7,
                                   source="Meta 2023: ~560,000 followers over 954 Pages, "
                                   "mostly fake")
    fake_followers_per_day: float = F(5.0, "Bought followers added per buying account per day.",
                                      ge=0, le=1e6)
    fake_view_prob: float = F(0.05, "Share of an author's fake followers counted as a view "
                              "of each post.", ge=0, le=1)
    bought_views_share: float = F(0.0, "Share of the operation's posts (not planted replies) "
                                  "given bought views, which no follower produced (view bots).",
                                  ge=0, le=1, source="assumption; Google TAG 2024: 30% of "
                                  "DRAGONBRIDGE videos had no views though 80% of the channels "
                                  "had no subscribers")
    bought_views_median: float = F(100.0, "Median bought views of a post that gets them "
                                   "(log-normal).", unit="views", ge=1, le=1e7,
                                   source="assumption")
    bought_views_sigma: float = F(1.0, "Spread (sigma of the log) of a post's bought views.",
                                  ge=0, le=5, source="assumption")
    narratives_per_day: int = F(10, "Content directions issued to the whole operation each "
                                "day; posts on the same direction are near-duplicates.", ge=1,
                                le=100_000, source="Meta 2023: operators centrally provisioned "
                                "with content directions")
    paraphrase_prob: float = F(0.0, "Evasion: share of posts rewritten so they no longer match "
                               "other accounts' posts on the same direction.", ge=0, le=1)
    schedule_posts: bool = F(False, "Evasion: a scheduler spreads posts evenly over all 24 "
                             "hours instead of the office hours (other work stays on shift).")
    initial_account_age_days: float = F(60.0, "Mean age of the operation's accounts at the "
                                        "start (exponential; hijacked accounts are as old as "
                                        "organic ones).", unit="days", ge=0, le=10_000)
    replacement_budget: int = F(300, "Accounts each operator may acquire over the run to "
                                "replace removed ones.", unit="accounts", ge=0, le=1_000_000,
                                source="assumption; Google TAG 2023: accounts bought in bulk")
    replacements_per_day: float = F(10.0, "Most accounts an operator can acquire per day.",
                                    unit="accounts/day", ge=0, le=10_000)
    replacement_mix: dict[str, float] = Field(
        default_factory=lambda: {"bought": 0.6, "hijacked": 0.2, "fresh": 0.2},
        description="Weights of replacement kinds: bought (aged accounts from sellers, with "
        "bought followers), hijacked (old account with an old audience), fresh (new, empty).")
    bought_account_age_days: float = F(365.0, "Mean age of bought accounts (exponential).",
                                       unit="days", ge=0, le=10_000,
                                       source="Google TAG 2023: some bought accounts had been "
                                       "used by spammers before")

    @field_validator("persona_languages")
    @classmethod
    def _langs(cls, v: list[float]) -> list[float]:
        check_weights("persona_languages", v, len(LANGUAGES))
        return v

    @field_validator("persona_communities")
    @classmethod
    def _personas(cls, v: dict[str, float]) -> dict[str, float]:
        check_weights("persona_communities", list(v.values()))
        return v

    @field_validator("replacement_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - {"bought", "hijacked", "fresh"}
        if unknown:
            raise ValueError(f"unknown replacement kinds {sorted(unknown)}; allowed: bought, "
                             "hijacked, fresh")
        check_weights("replacement_mix", list(v.values()))
        return v

    @field_validator("platform_weights")
    @classmethod
    def _platforms(cls, v: dict[str, float]) -> dict[str, float]:
        if v:  # empty means equal shares
            check_weights("platform_weights", list(v.values()))
        return v

    @field_validator("work_blocks", mode="before")
    @classmethod
    def _blocks_from_arrays(cls, v: Any) -> Any:
        """TOML and JSON have arrays, not tuples: ``[[9, 12]]`` is a list of (start, end)."""
        if isinstance(v, list):
            return [tuple(b) if isinstance(b, list) else b for b in v]
        return v

    @field_validator("work_blocks")
    @classmethod
    def _blocks(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for a, b in v:
            if not a < b:
                raise ValueError(f"work block ({a}, {b}) must have start < end")
        return v


REPORT_QUANTITIES: dict[str, str] = {
    "posts_published": "vanity", "accounts_alive": "vanity", "followers_gained": "vanity",
    "reported_engagements": "vanity", "reported_impressions": "vanity",
    "organic_engagements": "real", "organic_impressions": "real",
    "organic_followers_gained": "real"}
"""Per-operator, per-period quantities a KPI can weigh, and which ledger each belongs to."""

KPI_PRESETS: dict[str, dict[str, float]] = {
    "tender": {"posts_published": 1.0, "accounts_alive": 1.0, "followers_gained": 1.0},
    "posts": {"posts_published": 1.0},
    "reported_engagement": {"reported_engagements": 1.0},
    "organic_engagement": {"organic_engagements": 1.0},
    "organic_reach": {"organic_impressions": 1.0},
}
"""Named KPIs: ``tender`` follows the 2021 Pudong police tender (posts, surviving accounts,
follower growth); the ``organic_*`` ones are the counterfactual, real-ledger paymasters."""

TACTICS: tuple[str, ...] = ("volume", "amplification", "buying", "hijacking", "audience",
                            "timeliness")
"""Tactics an adaptive operator allocates its budget among (see ``Adaptation``)."""


class PaymasterConfig(Strict):
    """What the operation reports upwards, how often, and how the paymaster scores it."""

    report_period_days: int = F(7, "Length of a reporting period.", unit="days", ge=1, le=365,
                                source="2021 Pudong police tender (NYT, secondary): weekly "
                                "post counts and survival rates")
    kpi: Literal["tender", "posts", "reported_engagement", "organic_engagement",
                 "organic_reach"] = F(
        "tender", "The key performance indicator each operator is rewarded on per period: "
        "sum over its quantities of weight x log(1 + per-operator value). tender = posts + "
        "accounts alive + follower growth; reported_engagement (in-network included); the real "
        "counterfactuals organic_engagement and organic_reach (organic impressions).",
        source="tender: 2021 Pudong police tender (NYT, secondary)")
    kpi_weights: dict[str, float] = Field(
        default_factory=dict, description="Custom KPI weights by quantity (posts_published, "
        "accounts_alive, followers_gained, reported_engagements, reported_impressions, "
        "organic_engagements, organic_impressions, organic_followers_gained); replaces `kpi` "
        "when not empty.")

    @field_validator("kpi_weights")
    @classmethod
    def _kpi(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(REPORT_QUANTITIES)
        if unknown:
            raise ValueError(f"unknown KPI quantities {sorted(unknown)}; allowed: "
                             f"{sorted(REPORT_QUANTITIES)}")
        if v:
            check_weights("kpi_weights", list(v.values()))
        return v

    def weights(self) -> dict[str, float]:
        return self.kpi_weights or KPI_PRESETS[self.kpi]


class AdaptationConfig(Strict):
    """Adaptive operators: each splits a fixed budget among tactics and learns, from its
    paymaster's rewards, which split pays (an epsilon-greedy bandit over candidate splits).

    A tactic's intensity is its share of the budget times its full-budget level: posts per
    account-day, sibling engagements per post, followers bought per account-day, planted
    replies per account-day, follows per account-day (with a fluency bonus for the personas:
    fluent writers), and the share of the content lag removed (timely content)."""

    enabled: bool = F(False, "Operators adapt their tactics; otherwise they use [operation].")
    arms: Literal["focused", "pairs"] = F(
        "focused", "Candidate splits: focused = for each tactic, 60% on it and the rest spread "
        "evenly, plus the even split (7 arms); pairs = also every 50/50 pair (22 arms).")
    epsilon: float = F(0.2, "Chance of trying a random candidate split in a period instead of "
                       "the best so far (after each has been tried once).", ge=0, le=1)
    fixed_split: int | None = F(None, "Play this candidate split (index into the arms: 0 = "
                                "even, 1..6 = focused on volume, amplification, buying, "
                                "hijacking, audience, timeliness) all run, without learning: "
                                "measures what each split yields.", ge=0, le=21)
    full_volume: float = F(30.0, "Posts per account-day with the whole budget on volume.",
                           unit="posts/account/day", ge=0, le=10_000)
    full_amplification: float = F(12.0, "Sibling engagements per post with the whole budget on "
                                  "self-amplification.", ge=0, le=1000)
    full_buying: float = F(200.0, "Followers bought per account-day with the whole budget on "
                           "buying.", ge=0, le=1e6)
    full_hijacking: float = F(20.0, "Planted replies per account-day with the whole budget on "
                              "reply-hijacking.", ge=0, le=10_000)
    full_audience: float = F(40.0, "Follows per account-day with the whole budget on audience "
                             "building.", ge=0, le=10_000)
    full_fluency_bonus: float = F(0.6, "Quality added to posts with the whole budget on "
                                  "audience building (fluent persona writers).", ge=0, le=1)




