"""Organic users: their behaviour in an hour (``behaviour``), the engagement formula
(``engagement``) and the compiled loops behind both (``kernels``)."""

from .behaviour import OrganicUsers, ReshareMemory
from .engagement import ACTIONS, Coefficients, action_probs, match_factor

__all__ = ["ACTIONS", "Coefficients", "OrganicUsers", "ReshareMemory", "action_probs",
           "match_factor"]
