"""What every configuration section shares: the strict base class, documented fields, errors."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

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


def check_weights(name: str, w: list[float], n: int | None = None) -> None:
    if n is not None and len(w) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(w)}")
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"{name} must be non-negative with a positive sum")

