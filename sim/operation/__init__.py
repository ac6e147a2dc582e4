"""The covert operation: troll accounts (``accounts``), the operators who run them
(``operators``, Mesa agents, and their staff's hourly plan) and the execution of the plan
(``tactics``)."""

from .accounts import ORIGIN_NAMES, TrollAccounts
from .operators import HourPlan, Operator, Staff
from .tactics import Operation

__all__ = ["ORIGIN_NAMES", "HourPlan", "Operation", "Operator", "Staff", "TrollAccounts"]
