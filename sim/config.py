"""Typed, validated configuration: every parameter of the model in one place.

A run is fully described by one :class:`Config` (loaded from TOML) and one integer seed. Each
field carries its unit, allowed range and, where a default comes from a public source, that source
(see ``../shared/reference`` summaries cited as [Meta 2023], [DOJ 2023], ...). Defaults without a
source are calibration assumptions and say so. ``sim config-docs`` renders this module as
``docs/config.md``.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

LANGUAGES: tuple[str, ...] = ("en", "zh", "other")
"""The modelled languages; per-language weights in the config are given in this order."""


class ConfigError(ValueError):
    """A configuration problem, with a message that names the offending field."""


def F(default: Any, doc: str, *, unit: str = "", ge: float | None = None,
      le: float | None = None, gt: float | None = None, source: str = "assumption") -> Any:
    """A documented field: unit, allowed range and source travel with the schema."""
    return Field(default, description=doc, ge=ge, le=le, gt=gt,
                 json_schema_extra={"unit": unit, "source": source})


class Strict(BaseModel):
    """Base of every config section: unknown keys, wrong types and non-finite numbers are
    refused, never coerced. ``true`` is not a number of days, ``"0.5"`` is not a probability and
    ``2.5`` is not a count (pydantic strict mode; an integer is accepted where a real number is
    meant); NaN and infinity (TOML ``nan``, ``inf``) are refused in every field."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              strict=True, allow_inf_nan=False)


Prob = Annotated[float, Field(ge=0.0, le=1.0)]
Hour = Annotated[int, Field(ge=0, le=24)]


def _check_weights(name: str, w: list[float], n: int | None = None) -> None:
    if n is not None and len(w) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(w)}")
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"{name} must be non-negative with a positive sum")


class Community(Strict):
    """An interest community: its share of users, languages and time zones."""

    name: str = Field(description="Community label (unique).", min_length=1)
    share: float = F(0.2, "Share of organic users in this community (normalised over all).",
                     gt=0.0, le=1.0)
    languages: list[float] = F([1.0, 0.0, 0.0], "Weights of the languages en, zh, other.")
    utc_offsets: list[int] = F([-5], "Time zones of members, hours from UTC (-12..14).")
    utc_weights: list[float] = F([1.0], "Weights of utc_offsets.")

    @model_validator(mode="after")
    def _valid(self) -> Community:
        _check_weights("languages", self.languages, len(LANGUAGES))
        _check_weights("utc_weights", self.utc_weights, len(self.utc_offsets))
        if any(not -12 <= z <= 14 for z in self.utc_offsets):
            raise ValueError("utc_offsets must lie in -12..14")
        return self


def _default_communities() -> list[Community]:
    us = ([-5, -6, -7, -8], [0.47, 0.29, 0.07, 0.17])
    return [
        Community(name="us_politics", share=0.25, languages=[0.95, 0.01, 0.04],
                  utc_offsets=us[0], utc_weights=us[1]),
        Community(name="chinese_diaspora", share=0.08, languages=[0.35, 0.6, 0.05],
                  utc_offsets=[-5, -8, 0, 8, 10], utc_weights=[0.25, 0.25, 0.15, 0.2, 0.15]),
        Community(name="sport_fitness", share=0.22, languages=[0.7, 0.05, 0.25],
                  utc_offsets=[-5, -8, 0, 1], utc_weights=[0.35, 0.15, 0.25, 0.25]),
        Community(name="tech", share=0.2, languages=[0.75, 0.1, 0.15],
                  utc_offsets=[-5, -8, 1, 5], utc_weights=[0.3, 0.3, 0.2, 0.2]),
        Community(name="entertainment", share=0.25, languages=[0.65, 0.05, 0.3],
                  utc_offsets=[-5, -8, 0, 1, 5], utc_weights=[0.3, 0.2, 0.15, 0.2, 0.15]),
    ]


def _default_diurnal() -> list[float]:
    # Local-hour activity weights: quiet at night, rising through the day, evening peak.
    return [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.6, 0.85, 0.9, 0.9, 0.95,
            1.0, 0.95, 0.9, 0.9, 0.95, 1.0, 1.1, 1.25, 1.35, 1.3, 1.0, 0.65]


class Population(Strict):
    """Organic users: who they are, when they are online and how they behave."""

    n_users: int = F(100_000, "Number of organic users.", unit="users", ge=10, le=50_000_000)
    communities: list[Community] = Field(default_factory=_default_communities,
                                         description="Interest communities (1 to 64).",
                                         min_length=1, max_length=64)
    own_topic_prob: float = F(0.8, "Probability that an organic post is on the author's own "
                              "community topic (otherwise a random topic).", ge=0, le=1)
    sessions_per_day_median: float = F(2.0, "Median sessions per day over all platforms "
                                       "(lognormal across users: heavy-tailed activity).",
                                       unit="sessions/day", gt=0, le=48)
    sessions_per_day_sigma: float = F(1.0, "Lognormal shape of sessions per day.", ge=0, le=3)
    diurnal: list[float] = Field(default_factory=_default_diurnal,
                                 description="24 weights of activity by local hour (0 = midnight);"
                                 " normalised to mean 1.")
    attention_mean: float = F(5.0, "Mean items a user reads per session (each user's "
                              "attention is 1 + Poisson(mean - 1), drawn once).",
                              unit="items/session", ge=1, le=500,
                              source="assumption; limited attention after Weng et al. 2012")
    attention_limited: bool = F(True, "If false, a session reads up to feed_capacity items: "
                                "every unread feed item unless outside items outrank it.")
    always_active: bool = F(False, "If true, every member opens every platform every hour "
                            "(validation mode for cascade theory).")
    post_prob: float = F(0.1, "Probability of writing an original post in a session.",
                         unit="1/session", ge=0, le=1)
    like_prob: float = F(0.04, "Base probability of liking a read item.", ge=0, le=1)
    reshare_prob: float = F(0.01, "Base probability of resharing a read item.", ge=0, le=1)
    reply_prob: float = F(0.005, "Base probability of replying to a read item.", ge=0, le=1)
    follow_prob: float = F(0.01, "Base probability of following the (operation) author of a "
                           "read item the user does not follow.", ge=0, le=1)
    follow_back_prob: float = F(0.19, "Base probability of following back an account that "
                                "followed the user, before language/topic/quality factors.",
                                ge=0, le=1,
                                source="Boshmaf et al. 2011: 19% of random targets accepted")
    report_prob: float = F(0.02, "Base probability of reporting a read operation item, scaled "
                           "by (1 - quality).", ge=0, le=1)
    propensity_sigma: float = F(0.7, "Lognormal spread of a user's engagement propensity "
                                "(multiplies all engagement probabilities).", ge=0, le=3)
    quality_mean: float = F(0.6, "Mean quality of organic posts (Beta distribution).",
                            gt=0, le=0.99)
    quality_concentration: float = F(8.0, "Beta concentration (a+b) of organic post quality.",
                                     gt=0, le=1000)
    n_high_profile_per_community: int = F(3, "High-profile accounts (celebrities, politicians) "
                                          "per community: the most-followed non-media users.",
                                          ge=0, le=1000)
    n_media_per_community: int = F(2, "Mainstream media accounts per community.", ge=0, le=1000)
    popularity_exponent: float = F(2.1, "Tail exponent of users' popularity (fitness), which "
                                   "sets in-degree on every platform; smaller = heavier tail.",
                                   gt=1.05, le=10,
                                   source="assumption; in-degree exponents ~2 are typical")
    media_fitness_boost: float = F(50.0, "Popularity multiplier of media accounts in follower "
                                   "attachment.", ge=1, le=1e6)
    account_age_median_days: float = F(900.0, "Median age of organic accounts at the start "
                                       "(lognormal, sigma 1); seen only by moderation.",
                                       unit="days", gt=0, le=10_000)
    fan_group_share: float = F(0.01, "Share of organic users in coordinated fan groups (drawn "
                               "in proportion to activity): their posts often carry the group's "
                               "slogan and fellow members like them. Seen only by moderation "
                               "(organic activity that looks coordinated).", ge=0,
                               le=1, source="assumption; issue brief: coordinated fan "
                               "communities as false positives")
    fan_group_size: int = F(20, "Members per fan group (same community).", unit="users", ge=2,
                            le=10_000)
    fan_copost_prob: float = F(0.5, "Probability that a fan-group member's post carries the "
                               "group's slogan of the day.", ge=0, le=1)
    fan_likes_per_post: float = F(3.0, "Mean likes a fan-group post gets from fellow members "
                                  "(logged for moderation; not added to ranking counts).",
                                  ge=0, le=1000)

    @field_validator("diurnal")
    @classmethod
    def _diurnal(cls, v: list[float]) -> list[float]:
        _check_weights("diurnal", v, 24)
        return v

    @model_validator(mode="after")
    def _valid(self) -> Population:
        names = [c.name for c in self.communities]
        if len(set(names)) != len(names):
            raise ValueError("community names must be unique")
        return self


class Moderation(Strict):
    """A platform's moderation: observable signals -> suspicion score -> review -> action.

    The detector sees what a platform can see (account age, posting, who engaged with whom,
    duplicated content, language and fluency of posts, user reports), never who runs an
    account. Signal weights and scales are assumptions to vary, not estimates."""

    enabled: bool = F(False, "Moderate at all. The top-level switch applies to every platform; "
                      "a platform's own override can only switch it off there.")
    scan_interval_hours: int = F(6, "Hours between detector scans.", unit="hours", ge=1, le=720)
    window_hours: int = F(24, "Activity window the signals are computed over.", unit="hours",
                          ge=1, le=720)
    min_posts: int = F(3, "Posts (any kind) in the window an account needs to be scored.",
                       unit="posts", ge=1, le=10_000)
    threshold: float = F(0.5, "Suspicion score (0-1) at or above which an account is flagged.",
                         ge=0, le=1)
    mode: Literal["account", "network"] = F(
        "network", "account: each flagged account is one action; network: a flagged account's "
        "linked accounts (reciprocal engagement, shared content) scoring at least "
        "network_threshold are taken down with it in one action.",
        source="Meta's takedowns of coordinated inauthentic behaviour remove networks")
    network_threshold: float = F(0.3, "Least score of a linked account for a network takedown.",
                                 ge=0, le=1)
    review_delay_hours: float = F(12.0, "Mean delay from flag to action (exponential; 0 = act "
                                  "at the scan).", unit="hours", ge=0, le=10_000,
                                  source="assumption; Graphika 2021: assets often removed "
                                  "within hours of posting")
    action: Literal["remove", "demote", "demote_then_remove"] = F(
        "remove", "What review does: remove the account; only demote its content in ranking; or "
        "demote at the flag and remove after review.")
    demotion_hours: float = F(24.0, "A demoted item ranks as if it were this many hours older; "
                              "planted replies of demoted accounts are collapsed (not shown).",
                              unit="hours", ge=0, le=10_000)
    weight_age: float = F(1.0, "Signal weight: young account (exp(-age / age_scale_days)).",
                          ge=0, le=100)
    weight_rate: float = F(1.0, "Signal weight: posting rate (1 - exp(-rate / rate_scale)).",
                           ge=0, le=100)
    weight_sync: float = F(2.0, "Signal weight: share of original posts co-posted (same "
                           "content by other accounts within sync_window_hours).", ge=0, le=100)
    weight_duplicate: float = F(1.0, "Signal weight: share of original posts duplicated by at "
                                "least duplicate_min_accounts accounts in the window.", ge=0,
                                le=100)
    weight_cluster: float = F(2.0, "Signal weight: share of engagement received from accounts "
                              "the account itself engaged with (a tight, reciprocal cluster).",
                              ge=0, le=100)
    weight_language: float = F(1.0, "Signal weight: posts in a language other than the claimed "
                               "community's main one, or poorly written (1 - quality).",
                               ge=0, le=100)
    weight_reports: float = F(2.0, "Signal weight: user reports (1 - exp(-reports / "
                              "report_scale)).", ge=0, le=100)
    weight_coengagement: float = F(0.0, "Signal weight: share of the engagements an account "
                                   "gave in step with copost_min_accounts or more others (same "
                                   "target account, same sync window). Off by default: fans "
                                   "of popular accounts do the same.", ge=0, le=100)
    age_scale_days: float = F(30.0, "Age scale of the young-account signal.", unit="days",
                              gt=0, le=10_000)
    rate_scale_per_day: float = F(20.0, "Rate scale of the posting-rate signal.",
                                  unit="posts/day", gt=0, le=10_000)
    report_scale: float = F(3.0, "Report count scale of the reports signal.", unit="reports",
                            gt=0, le=10_000)
    sync_window_hours: int = F(1, "Width of the co-posting window.", unit="hours", ge=1,
                               le=720)
    copost_min_accounts: int = F(3, "Accounts posting the same content in one sync window for "
                                 "it to count as co-posted.", unit="accounts", ge=2, le=10_000)
    duplicate_min_accounts: int = F(5, "Accounts posting the same content in the window for it "
                                    "to count as duplicated.", unit="accounts", ge=2,
                                    le=10_000)
    counterfactual: bool = F(False, "Also run the same seed with moderation off and report the "
                             "operation exposures moderation prevented (doubles run time).")

    @model_validator(mode="after")
    def _valid(self) -> Moderation:
        if self.enabled and self.weight_age + self.weight_rate + self.weight_sync \
                + self.weight_duplicate + self.weight_cluster + self.weight_language \
                + self.weight_reports + self.weight_coengagement <= 0:
            raise ValueError("at least one signal weight must be positive")
        return self


class Platform(Strict):
    """One platform: who is on it, how its follower graph is built, and how it ranks feeds."""

    name: str = Field(description="Platform label (unique).", min_length=1)
    membership: float = F(0.6, "Share of organic users with an account here (every user has at "
                          "least one platform).", gt=0, le=1)
    usage_share: float = F(1.0, "Relative share of a member's sessions spent here.", gt=0, le=100)
    graph: Literal["chung_lu", "erdos_renyi"] = F(
        "chung_lu", "Follower graph generator: heavy-tailed in-degree with community homophily "
        "(chung_lu), or a uniform random directed graph (erdos_renyi, for validation).")
    followees_mean: float = F(30.0, "Mean accounts followed per member.", unit="accounts",
                              gt=0, le=5000)
    homophily: float = F(0.85, "Share of follows that stay within the follower's community.",
                         ge=0, le=1)
    ranking: Literal["chronological", "engagement"] = F(
        "engagement", "Feed ranking: newest first, or engagement-weighted with recency decay.")
    engagement_weight: float = F(1.0, "Weight of log(1 + engagements) in the engagement score.",
                                 ge=0, le=100)
    recency_halflife_hours: float = F(6.0, "Half-life of an item's score with age "
                                      "(engagement ranking).", unit="hours", gt=0, le=10_000)
    feed_capacity: int = F(30, "Items kept in a user's feed (oldest dropped first).",
                           unit="items", ge=1, le=1024)
    external_items_per_hour: float = F(
        1.0, "Items per hour reaching a member's feed from accounts outside the simulated "
        "population (unsimulated friends, news, brands). They compete for the reader's attention "
        "at each session and are never operation content; 0 = a closed world.",
        unit="items/hour", ge=0, le=1000,
        source="assumption; makes attention bind as on real platforms, where users read a "
        "small share of their feed (Hodas & Lerman 2012)")
    external_engagement: float = F(5.0, "Visible engagement count of outside items (for "
                                   "engagement ranking).", unit="engagements", ge=0, le=1e9)
    moderation: dict[str, Any] = Field(
        default_factory=dict, description="Moderation fields that differ on this platform from "
        "the top-level [moderation] table, e.g. { threshold = 0.7 } or { enabled = false }.")


def _default_platforms() -> list[Platform]:
    return [
        Platform(name="social", membership=0.7, usage_share=1.5, followees_mean=30),
        Platform(name="microblog", membership=0.45, usage_share=1.0, followees_mean=40,
                 ranking="chronological"),
        Platform(name="video", membership=0.5, usage_share=1.0, followees_mean=15,
                 recency_halflife_hours=24),
    ]


class Engagement(Strict):
    """How content features scale an organic user's engagement probabilities."""

    cross_topic_factor: float = F(0.15, "Multiplier when the item's topic is not the reader's "
                                  "community.", ge=0, le=1)
    comprehension: list[list[float]] = Field(
        default=[[1.0, 0.05, 0.1], [0.3, 1.0, 0.05], [0.3, 0.05, 1.0]],
        description="Row = reader language, column = item language (en, zh, other): multiplier "
        "for understanding the item.")
    quality_exponent: float = F(1.5, "Engagement scales as quality ** exponent.", ge=0, le=10)
    freshness_halflife_hours: float = F(3.0, "Half-life of engagement probability with item "
                                        "age when read.", unit="hours", gt=0, le=10_000,
                                        source="assumption; engagement with a post concentrates "
                                        "in its first hours")
    news_halflife_hours: float = F(24.0, "Half-life of an item's timeliness with the lag between "
                                   "the event and the post.", unit="hours", gt=0, le=10_000)
    social_proof_weight: float = F(0.3, "Engagement multiplier 1 + w * log(1 + visible "
                                   "engagements), in-network ones included.", ge=0, le=10)
    followed_author_factor: float = F(2.0, "Multiplier when the reader follows the author of "
                                      "the original (root) post.", ge=0, le=100)
    reply_view_prob: float = F(0.05, "Probability that a reader of a thread also sees its newest "
                               "hijacking reply.", ge=0, le=1)
    cross_post_prob: float = F(0.05, "Probability that a reshare is also posted to another "
                               "platform of the resharer (the only way content crosses "
                               "platforms).", ge=0, le=1)
    fixed_reshare_prob: float | None = F(None, "If set, every read item is reshared with exactly "
                                         "this probability, ignoring all factors (validation "
                                         "mode: independent cascade).", ge=0, le=1)
    reshare_memory: int = F(8, "Recently reshared roots a user remembers (never reshares the "
                            "same item twice within this memory).", ge=1, le=64)
    feed_max_age_hours: int = F(168, "Items older than this leave every feed unread, and posts "
                                "older than this leave memory (operation content is kept for "
                                "the posts table; the ledgers keep all totals). Bounds memory "
                                "on long runs; must be at least every moderation window.",
                                unit="hours", ge=24, le=100_000,
                                source="assumption: a feed's inventory is its last week; at the "
                                "default freshness half-life a week-old item is 2^-56 as "
                                "engaging as a new one")

    @field_validator("comprehension")
    @classmethod
    def _matrix(cls, v: list[list[float]]) -> list[list[float]]:
        n = len(LANGUAGES)
        if len(v) != n or any(len(r) != n for r in v):
            raise ValueError(f"comprehension must be a {n}x{n} matrix")
        if any(not 0 <= x <= 1 for r in v for x in r):
            raise ValueError("comprehension entries must lie in [0, 1]")
        return v


class Operation(Strict):
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
    fake_followers_mean: float = F(580.0, "Mean bought (fake) followers per account at creation"
                                   " (Poisson).", unit="followers", ge=0, le=1e7,
                                   source="Meta 2023: ~560,000 followers over 954 Pages, "
                                   "mostly fake")
    fake_followers_per_day: float = F(5.0, "Bought followers added per account per day.",
                                      ge=0, le=1e6)
    fake_view_prob: float = F(0.05, "Share of an author's fake followers counted as a view "
                              "of each post.", ge=0, le=1)
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
        _check_weights("persona_languages", v, len(LANGUAGES))
        return v

    @field_validator("persona_communities")
    @classmethod
    def _personas(cls, v: dict[str, float]) -> dict[str, float]:
        _check_weights("persona_communities", list(v.values()))
        return v

    @field_validator("replacement_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - {"bought", "hijacked", "fresh"}
        if unknown:
            raise ValueError(f"unknown replacement kinds {sorted(unknown)}; allowed: bought, "
                             "hijacked, fresh")
        _check_weights("replacement_mix", list(v.values()))
        return v

    @field_validator("platform_weights")
    @classmethod
    def _platforms(cls, v: dict[str, float]) -> dict[str, float]:
        if v:  # empty means equal shares
            _check_weights("platform_weights", list(v.values()))
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


class Paymaster(Strict):
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
            _check_weights("kpi_weights", list(v.values()))
        return v

    def weights(self) -> dict[str, float]:
        return self.kpi_weights or KPI_PRESETS[self.kpi]


class Adaptation(Strict):
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




class Breakout(Strict):
    """Operational definition of Nimmo's Breakout Scale (see docs/model.md)."""

    min_engaged_users: int = F(5, "Least number of distinct organic users of a community who "
                               "must engage with operation content on a platform for that "
                               "community to count as reached there.", unit="users", ge=1,
                               le=1_000_000)
    min_engaged_share: float = F(0.005, "Share of the community's members on the platform who "
                                 "must engage for it to count as reached (the larger of the two "
                                 "thresholds applies, so the definition scales with population).",
                                 ge=0, le=1)


class Simsom(Strict):
    """SimSoM (Truong, Lou, Flammini & Menczer, PNAS Nexus 3:pgae258, 2024) as a configuration of
    this engine: humans and bad actors on a follower network, feeds of ``sigma`` items, and the
    average quality of human feeds relative to a run without bad actors (docs/simsom.md). When
    ``enabled``, ``sim.run`` runs this model instead of the influence-operation model and every
    other section is ignored except ``run.seed``."""

    enabled: bool = F(False, "Run the SimSoM model (sim/simsom.py) instead of the influence-"
                      "operation model.")
    n_humans: int = F(10_000, "Number of human agents.", unit="agents", ge=10, le=200_000,
                      source="Truong et al. 2024: empirical Twitter follower network of ~10^4 "
                      "nodes")
    graph: Literal["chung_lu", "erdos_renyi"] = F(
        "chung_lu", "Human follower graph: directed Chung-Lu with heavy-tailed in-degree (hubs), "
        "or uniform random (erdos_renyi).",
        source="assumption: synthetic stand-in for the paper's empirical network")
    followees_mean: float = F(180.0, "Mean number of humans each human follows (mean out- and "
                              "in-degree of the human graph before duplicate removal).",
                              unit="accounts", gt=0, le=5000,
                              source="our reading of the paper's network: core of a 58,048-node, "
                              "10.5 x 10^6-edge Twitter graph with mean degree kept (~181); "
                              "unverified, see docs/simsom.md")
    followees_sigma: float = F(1.0, "Spread of the number of humans each human follows: "
                               "lognormal shape of the out-degree (0 = Poisson, every human "
                               "reads about followees_mean friends).", ge=0, le=3,
                               source="assumption: friend counts on Twitter are broad; not "
                               "given for the paper's network (docs/simsom.md)")
    popularity_exponent: float = F(2.1, "Tail exponent of human popularity (Pareto fitness): "
                                   "in-degree ~ k^-exponent (chung_lu only).", gt=2, le=10,
                                   source="assumption: typical follower in-degree tail")
    beta: float = F(0.05, "Bad actors as a fraction of the number of humans.", ge=0, le=1,
                    source="Truong et al. 2024; SimSoM code DEFAULT_BETA = 0.05")
    gamma: float = F(0.01, "Infiltration: probability that a human follows a given bad actor.",
                     ge=0, le=1, source="Truong et al. 2024; SimSoM code DEFAULT_GAMMA = 0.01")
    theta: float = F(1.0, "Flooding: copies of each bad-actor message pushed to each follower; "
                     "copies collapse into one feed item whose share count (selection weight) "
                     "is theta.", unit="copies", ge=1, le=10_000,
                     source="Truong et al. 2024; SimSoM code DEFAULT_THETA = 1")
    phi: float = F(0.0, "Deception: probability that a bad-actor message has appeal 1 "
                   "(otherwise a human-like appeal draw).", ge=0, le=1,
                   source="Truong et al. 2024; SimSoM code DEFAULT_PHI = 0")
    bot_followees_mean: float = F(3.0, "Mean number of bad actors each bad actor follows "
                                  "(bad actors follow no humans).", unit="accounts", ge=0,
                                  le=1000, source="SimSoM code: bot random-walk network, k_out=3")
    mu: float = F(0.5, "Probability that an active agent posts a new message rather than "
                  "resharing (always new if its feed is empty).", ge=0, le=1,
                  source="Truong et al. 2024; SimSoM code DEFAULT_MU = 0.5")
    sigma: int = F(15, "Feed size: items kept per agent (youngest first).", unit="items", ge=1,
                   le=256, source="Truong et al. 2024; SimSoM code alpha/sigma = 15")
    lambda_quality: float = F(10.0, "Human message quality has density ~ exp(lambda q) on "
                              "[0, 1] (lambda > 0 favours high quality).", ge=-50, le=50,
                              source="SimSoM result files: 'quality exp q=10' (baseline mean "
                              "quality ~0.90)")
    appeal_exponent: float = F(5.0, "Human message appeal a = 1 - (1-u)^(1/exponent), density "
                               "exponent (1-a)^(exponent-1), independent of quality.", gt=0,
                               le=100, source="SimSoM result files: appeal_exp = 5")
    recency_scale: float = F(0.4, "Recency weight exp(-scale * age^exponent) of a feed item "
                             "in resharing.", ge=0, le=10,
                             source="Truong et al. 2024 after Wu & Huberman 2007")
    recency_exponent: float = F(0.4, "Exponent of age in the recency weight.", gt=0, le=2,
                                source="Truong et al. 2024 after Wu & Huberman 2007")
    activation_fraction: float = F(1.0, "Share of agents acting in a step (1 = all, "
                                   "synchronously, as in the published code).", gt=0, le=1,
                                   source="SimSoM code V4.6: synchronous steps")
    rho: float = F(0.8, "Weight of the previous value in the moving average of quality.", ge=0,
                   le=0.999, source="SimSoM code DEFAULT_RHO = 0.8")
    epsilon: float = F(1e-4, "Convergence: stop when the moving average changes by less than "
                       "this fraction in a step.", gt=0, le=1,
                       source="SimSoM code DEFAULT_EPSILON = 0.0001")
    min_steps: int = F(1, "Steps before convergence may be declared.", unit="steps", ge=1,
                       le=100_000, source="assumption (the published code has no minimum)")
    max_steps: int = F(1000, "Hard cap on steps if convergence is not reached.", unit="steps",
                       ge=1, le=100_000, source="assumption")
    baseline: bool = F(True, "Also run the same seed without bad actors and report "
                       "relative_quality (cached per seed within a process).")


class Run(Strict):
    seed: int = F(1, "Root seed; fixes the whole run, graph included.", ge=0, le=2**63 - 1)
    days: float = F(30, "Simulated horizon.", unit="days", gt=0, le=3650)


class Config(Strict):
    """A whole scenario. Load with :func:`load_config`."""

    run: Run = Field(default_factory=Run)
    population: Population = Field(default_factory=Population)
    platforms: list[Platform] = Field(default_factory=_default_platforms, min_length=1,
                                      max_length=16)
    engagement: Engagement = Field(default_factory=Engagement)
    operation: Operation = Field(default_factory=Operation)
    paymaster: Paymaster = Field(default_factory=Paymaster)
    adaptation: Adaptation = Field(default_factory=Adaptation)
    moderation: Moderation = Field(default_factory=Moderation)
    breakout: Breakout = Field(default_factory=Breakout)
    simsom: Simsom = Field(default_factory=Simsom)

    @model_validator(mode="after")
    def _cross(self) -> Config:
        names = [p.name for p in self.platforms]
        if len(set(names)) != len(names):
            raise ValueError("platform names must be unique")
        for k in self.operation.platform_weights:
            if k not in names:
                raise ValueError(f"operation.platform_weights: unknown platform {k!r}; "
                                 f"known: {names}")
        for i, p in enumerate(self.platforms):
            if p.moderation:
                try:
                    self.moderation_of(i)
                except ValidationError as e:
                    raise ValueError(_format_error(e, p.name, Moderation,
                                                   f"platforms.{i}.moderation.")
                                     .split("\n", 1)[1].strip()) from None
        max_age = self.engagement.feed_max_age_hours
        for i, p in enumerate(self.platforms):
            m = self.moderation_of(i)
            if m is not None and m.window_hours > max_age:
                raise ValueError(f"moderation.window_hours ({m.window_hours}, platform {p.name}) "
                                 f"must not exceed engagement.feed_max_age_hours ({max_age}): "
                                 "older posts have left memory")
        comms = [c.name for c in self.population.communities]
        for k in self.operation.persona_communities:
            if k not in comms:
                raise ValueError(f"operation.persona_communities: unknown community {k!r}; "
                                 f"known: {comms}")
        return self

    def moderation_of(self, platform: int) -> Moderation | None:
        """The moderation settings in force on a platform, or None if it does not moderate."""
        own = self.platforms[platform].moderation
        m = Moderation.model_validate({**self.moderation.model_dump(), **own}) if own \
            else self.moderation
        return m if self.moderation.enabled and m.enabled else None

    @property
    def ticks(self) -> int:
        return max(1, round(self.run.days * 24))


def allowed_range(model: type[BaseModel], name: str) -> str:
    """Human-readable allowed range of a numeric field, e.g. ``0 < value <= 0.99``."""
    lo = hi = ""
    for m in model.model_fields[name].metadata:
        for attr, text in (("ge", "{} <= "), ("gt", "{} < ")):
            if getattr(m, attr, None) is not None:
                lo = text.format(getattr(m, attr))
        if getattr(m, "le", None) is not None:
            hi = f" <= {m.le}"
    return f"{lo}value{hi}" if lo or hi else ""


def _field_owner(loc: tuple, root: type[BaseModel] | None = None
                 ) -> tuple[type[BaseModel], str] | None:
    """The model class that declares the field at ``loc`` (list indices skipped)."""
    model: Any = root or Config
    names = [p for p in loc if isinstance(p, str)]
    for i, name in enumerate(names):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) \
                or name not in model.model_fields:
            return None
        if i == len(names) - 1:
            return model, name
        ann = model.model_fields[name].annotation
        args = getattr(ann, "__args__", ())
        model = args[0] if args else ann
    return None


def short_repr(x: Any, limit: int = 60) -> str:
    """``repr(x)`` cut to ``limit`` characters: a huge value is quoted, not pasted whole (and
    integers too long for ``repr`` are described instead)."""
    try:
        text = repr(x)
    except ValueError:  # int with more digits than sys.get_int_max_str_digits()
        return f"an integer of about {int(x.bit_length() * 0.30103)} digits"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def nonfinite_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of NaN or infinite numbers anywhere in raw config data (lists and tables
    included, also where a field takes free-form values such as override tables)."""
    if isinstance(data, float):
        return [] if math.isfinite(data) else [prefix or "(top level)"]
    items: Any = ()
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list | tuple):
        items = enumerate(data)
    out = []
    for k, v in items:
        out += nonfinite_paths(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def check_finite(data: Any, origin: str) -> None:
    bad = nonfinite_paths(data)
    if bad:
        raise ConfigError(f"invalid configuration ({origin}):\n"
                          + "\n".join(f"  {p}: NaN and infinity are not allowed; give a finite "
                                       "number" for p in bad[:10]))


def _format_error(e: ValidationError, origin: str, root: type[BaseModel] | None = None,
                  prefix: str = "") -> str:
    lines = [f"invalid configuration ({origin}):"]
    for err in e.errors():
        loc = prefix + ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown field (check spelling; see docs/config.md)")
            continue
        if not isinstance(err["input"], dict | list):
            msg += f" (got {short_repr(err['input'])})"
        owner = _field_owner(err["loc"], root)
        rng = allowed_range(*owner) if owner else ""
        if rng:
            msg += f"; allowed range: {rng}"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def _set_path(data: dict, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` (list items by index, e.g. ``platforms.0.ranking``) in nested data."""
    parts = dotted.split(".")
    node: Any = data
    for i, p in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(p)]
            continue
        if p not in node:
            nxt = parts[i + 1]
            node[p] = [] if nxt.isdigit() else {}
        node = node[p]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.path=value``; the value is read as TOML (``true``, ``3``, ``"x"``, ``[1,2]``),
    falling back to a bare string."""
    if "=" not in text:
        raise ConfigError(f"--set expects key.path=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        value = raw.strip()
    return key, value


def _resolve_platform_keys(data: dict, key: str) -> str:
    """Allow ``platforms.NAME.field`` as well as ``platforms.INDEX.field``."""
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "platforms" and not parts[1].isdigit():
        platforms = data.get("platforms", [])
        names = [p.get("name") for p in platforms if isinstance(p, dict)] \
            if isinstance(platforms, list) else []
        if parts[1] not in names:
            raise ConfigError(f"--set {key}: unknown platform {parts[1]!r}; known: {names}")
        parts[1] = str(names.index(parts[1]))
    return ".".join(parts)


def build_config(data: dict, overrides: dict[str, Any] | None = None,
                 origin: str = "config") -> Config:
    """Validate raw data (plus dotted overrides) into a Config, or raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration ({origin}): expected a table of sections, "
                          f"got {type(data).__name__}")
    data = copy.deepcopy(data)
    if "platforms" not in data and overrides and any(k.startswith("platforms.")
                                                     for k in overrides):
        data["platforms"] = [p.model_dump() for p in _default_platforms()]
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"override key {short_repr(key)}: expected a dotted field name")
        key = _resolve_platform_keys(data, key)
        try:
            _set_path(data, key, value)
        except (IndexError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConfigError(f"--set {key}: no such field ({exc})") from None
    check_finite(data, origin)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_error(e, origin)) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read a TOML scenario file and validate it (with optional dotted overrides)."""
    path = Path(path)
    data = read_toml(path, "config")
    if "base" in data and ({"design", "outcomes", "replicates"} & data.keys()):
        raise ConfigError(f"{path} is an experiment file (it has base and design), not a "
                          f"scenario; run it with `sim sweep {path}`")
    return build_config(data, overrides, origin=str(path))


def read_toml(path: str | Path, what: str) -> dict:
    """Parse a TOML file; every way it can fail (missing, a directory, not UTF-8, not TOML,
    unreadable) is a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as "
                          "UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer too long to convert
        raise ConfigError(f"{path}: not valid TOML: {str(exc)[:200]}") from None
