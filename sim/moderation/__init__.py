"""Platform moderation: what a platform observes, what its detector concludes (pure functions,
``detection``), and what its moderation team does about it (``enforcement``)."""

from .detection import SIGNALS, UNIQUE, Observation, Scores, linked_groups, score_accounts
from .enforcement import (
    STATUS_DEMOTED,
    STATUS_OK,
    STATUS_REMOVED,
    Moderation,
    Moderator,
    moderation_metrics,
)

__all__ = ["SIGNALS", "STATUS_DEMOTED", "STATUS_OK", "STATUS_REMOVED", "UNIQUE", "Moderation",
           "Moderator", "Observation", "Scores", "linked_groups", "moderation_metrics",
           "score_accounts"]
