"""The organic world: communities, the population's behaviour, platforms and engagement."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import LANGUAGES, F, Strict, check_weights


class CommunityConfig(Strict):
    """An interest community: its share of users, languages and time zones."""

    name: str = Field(description="Community label (unique).", min_length=1)
    share: float = F(0.2, "Share of organic users in this community (normalised over all).",
                     gt=0.0, le=1.0)
    languages: list[float] = F([1.0, 0.0, 0.0], "Weights of the languages en, zh, other.")
    utc_offsets: list[int] = F([-5], "Time zones of members, hours from UTC (-12..14).")
    utc_weights: list[float] = F([1.0], "Weights of utc_offsets.")

    @model_validator(mode="after")
    def _valid(self) -> CommunityConfig:
        check_weights("languages", self.languages, len(LANGUAGES))
        check_weights("utc_weights", self.utc_weights, len(self.utc_offsets))
        if any(not -12 <= z <= 14 for z in self.utc_offsets):
            raise ValueError("utc_offsets must lie in -12..14")
        return self


def _default_communities() -> list[CommunityConfig]:
    us = ([-5, -6, -7, -8], [0.47, 0.29, 0.07, 0.17])
    return [
        CommunityConfig(name="us_politics", share=0.25, languages=[0.95, 0.01, 0.04],
                  utc_offsets=us[0], utc_weights=us[1]),
        CommunityConfig(name="chinese_diaspora", share=0.08, languages=[0.35, 0.6, 0.05],
                  utc_offsets=[-5, -8, 0, 8, 10], utc_weights=[0.25, 0.25, 0.15, 0.2, 0.15]),
        CommunityConfig(name="sport_fitness", share=0.22, languages=[0.7, 0.05, 0.25],
                  utc_offsets=[-5, -8, 0, 1], utc_weights=[0.35, 0.15, 0.25, 0.25]),
        CommunityConfig(name="tech", share=0.2, languages=[0.75, 0.1, 0.15],
                  utc_offsets=[-5, -8, 1, 5], utc_weights=[0.3, 0.3, 0.2, 0.2]),
        CommunityConfig(name="entertainment", share=0.25, languages=[0.65, 0.05, 0.3],
                  utc_offsets=[-5, -8, 0, 1, 5], utc_weights=[0.3, 0.2, 0.15, 0.2, 0.15]),
    ]


def _default_diurnal() -> list[float]:
    # Local-hour activity weights: quiet at night, rising through the day, evening peak.
    return [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.6, 0.85, 0.9, 0.9, 0.95,
            1.0, 0.95, 0.9, 0.9, 0.95, 1.0, 1.1, 1.25, 1.35, 1.3, 1.0, 0.65]


class PopulationConfig(Strict):
    """Organic users: who they are, when they are online and how they behave."""

    n_users: int = F(100_000, "Number of organic users.", unit="users", ge=10, le=50_000_000)
    communities: list[CommunityConfig] = Field(default_factory=_default_communities,
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
    post_prob: float = F(0.1, "Probability of writing an original post in a session (for a "
                         "user of average posting propensity).", unit="1/session", ge=0, le=1)
    post_propensity_sigma: float = F(0.0, "Lognormal spread of a user's propensity to post "
                                     "(mean 1; multiplies post_prob, capped at one post a "
                                     "session). 0 = every user alike. Sessions alone cannot make "
                                     "a few users write most posts: a user opens a platform at "
                                     "most once an hour.", ge=0, le=4,
                                     source="assumption; Pew 2019: the most active 10% of US "
                                     "adult Twitter users write 80% of tweets")
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
        check_weights("diurnal", v, 24)
        return v

    @model_validator(mode="after")
    def _valid(self) -> PopulationConfig:
        names = [c.name for c in self.communities]
        if len(set(names)) != len(names):
            raise ValueError("community names must be unique")
        return self


class PlatformConfig(Strict):
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


def default_platforms() -> list[PlatformConfig]:
    return [
        PlatformConfig(name="social", membership=0.7, usage_share=1.5, followees_mean=30),
        PlatformConfig(name="microblog", membership=0.45, usage_share=1.0, followees_mean=40,
                 ranking="chronological"),
        PlatformConfig(name="video", membership=0.5, usage_share=1.0, followees_mean=15,
                 recency_halflife_hours=24),
    ]


class EngagementConfig(Strict):
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


