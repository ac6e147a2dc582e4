"""A platform's moderation settings."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from .base import F, Strict


class ModerationConfig(Strict):
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
        "linked accounts (engagement either way, shared content) scoring at least "
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
                             "operation exposures moderation prevented (doubles the CPU "
                             "time; with two threads or more it runs alongside the run, in a "
                             "second process).")

    @model_validator(mode="after")
    def _valid(self) -> ModerationConfig:
        if self.enabled and self.weight_age + self.weight_rate + self.weight_sync \
                + self.weight_duplicate + self.weight_cluster + self.weight_language \
                + self.weight_reports + self.weight_coengagement <= 0:
            raise ValueError("at least one signal weight must be positive")
        return self


