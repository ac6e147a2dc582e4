"""The covert operation: troll accounts (``accounts``), the operators who run them
(``operators``, Mesa agents) and the execution of their hourly plans (``tactics``)."""

from .accounts import ORIGIN_NAMES, TrollAccounts
from .operators import HourPlan, Operator
from .tactics import Operation

__all__ = ["ORIGIN_NAMES", "HourPlan", "Operation", "Operator", "TrollAccounts"]
