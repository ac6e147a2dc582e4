"""A whole scenario: every section, and the checks that span sections."""

from __future__ import annotations

from pydantic import Field, ValidationError, model_validator

from ..simsom.config import SimsomConfig
from .base import F, Strict
from .errors import format_error
from .moderation import ModerationConfig
from .operation import AdaptationConfig, OperationConfig, PaymasterConfig
from .world import EngagementConfig, PlatformConfig, PopulationConfig, default_platforms


class BreakoutConfig(Strict):
    """Operational definition of Nimmo's Breakout Scale (see docs/model.md)."""

    min_engaged_users: int = F(5, "Least number of distinct organic users of a community who "
                               "must engage with operation content on a platform for that "
                               "community to count as reached there.", unit="users", ge=1,
                               le=1_000_000)
    min_engaged_share: float = F(0.005, "Share of the community's members on the platform who "
                                 "must engage for it to count as reached (the larger of the two "
                                 "thresholds applies, so the definition scales with population).",
                                 ge=0, le=1)


class RunConfig(Strict):
    seed: int = F(1, "Root seed; fixes the whole run, graph included.", ge=0, le=2**63 - 1)
    days: float = F(30, "Simulated horizon.", unit="days", gt=0, le=3650)


class Config(Strict):
    """A whole scenario. Load with :func:`load_config`."""

    run: RunConfig = Field(default_factory=RunConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    platforms: list[PlatformConfig] = Field(default_factory=default_platforms, min_length=1,
                                      max_length=16)
    engagement: EngagementConfig = Field(default_factory=EngagementConfig)
    operation: OperationConfig = Field(default_factory=OperationConfig)
    paymaster: PaymasterConfig = Field(default_factory=PaymasterConfig)
    adaptation: AdaptationConfig = Field(default_factory=AdaptationConfig)
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    breakout: BreakoutConfig = Field(default_factory=BreakoutConfig)
    simsom: SimsomConfig = Field(default_factory=SimsomConfig)

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
                    raise ValueError(format_error(e, p.name, ModerationConfig,
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

    def moderation_of(self, platform: int) -> ModerationConfig | None:
        """The moderation settings in force on a platform, or None if it does not moderate."""
        own = self.platforms[platform].moderation
        m = ModerationConfig.model_validate({**self.moderation.model_dump(), **own}) if own \
            else self.moderation
        return m if self.moderation.enabled and m.enabled else None

    @property
    def ticks(self) -> int:
        return max(1, round(self.run.days * 24))


