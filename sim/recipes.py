"""Figure recipes and analyses of an experiment (``[[figures]]`` and ``[[analysis]]`` in its
TOML): what ``sim plot`` draws beyond the automatic figures, and the checks that refuse a recipe
naming something the sweep will not have, before any run.

A recipe asks for the figure a research question needs, so that it is drawn the same way from
every rerun rather than by hand; ``sim.plots.recipes`` draws them, ``sim.discovery`` runs the
analyses. Neither changes the runs, so both can be added to a finished sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from .config import ConfigError, Strict
from .ledger import SERIES

AUTOMATIC_PREFIXES = ("", "sobol_", "morris_")
"""File stems of the automatic figures of an outcome: ``figures/<prefix><outcome>.png``."""


def automatic_stems(outcomes: list[str]) -> set[str]:
    """The file stems the automatic figures of these outcomes may take."""
    return {f"{p}{o}" for o in outcomes for p in AUTOMATIC_PREFIXES}


class _Recipe(Strict):
    """Fields every figure recipe has."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$",
                      description="File stem: figures/<name>.png; unique in the experiment.")
    title: str | None = Field(None, description="Title text (default: says what is plotted).")
    ylabel: str | None = Field(None, description="Y axis label (default: from the outcomes).")
    logy: bool | None = Field(None, description="Log y axis (default: automatic).")

    def factor_fields(self) -> list[tuple[str, str]]:
        """``(field, design factor)`` pairs of the factors the figure shows."""
        raise NotImplementedError

    def outcome_fields(self) -> list[tuple[str, str]]:
        """``(field, outcome)`` pairs of the outcomes the figure shows."""
        return [("y", o) for o in self.y]  # type: ignore[attr-defined]

    def factors(self) -> list[str]:
        return [k for _, k in self.factor_fields()]

    def outcomes(self) -> list[str]:
        return [o for _, o in self.outcome_fields()]


def _as_list(v: Any) -> Any:
    """A single outcome may be written without the brackets."""
    return [v] if isinstance(v, str) else v


class LinesFigure(_Recipe):
    """Mean (95% CI band) of one or more outcomes against a factor, a colour per group level."""

    kind: Literal["lines"]
    x: str = Field(description="Design factor on the x axis.")
    y: list[str] = Field(min_length=1, description="Outcomes, one curve each.")
    group: str | None = Field(None, description="Design factor: one colour per level.")
    logx: bool | None = Field(None, description="Log x axis (default: automatic).")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("x", self.x), ("group", self.group)) if k is not None]


class TradeoffFigure(_Recipe):
    """One outcome against another; each curve walks through the levels of ``along``."""

    kind: Literal["tradeoff"]
    x: str = Field(description="Outcome on the x axis.")
    y: str = Field(description="Outcome on the y axis.")
    along: str = Field(description="Design factor whose levels are the points of each curve.")
    group: str | None = Field(None, description="Design factor: one curve per level.")
    logx: bool | None = Field(None, description="Log x axis (default: automatic).")

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("along", self.along), ("group", self.group))
                if k is not None]

    def outcome_fields(self) -> list[tuple[str, str]]:
        return [("x", self.x), ("y", self.y)]


class BarsFigure(_Recipe):
    """Clusters of bars, one cluster per level of a factor, one bar per outcome (and group)."""

    kind: Literal["bars"]
    x: str = Field(description="Design factor: one bar cluster per level.")
    y: list[str] = Field(min_length=1, description="Outcomes, one bar each per cluster.")
    group: str | None = Field(None, description="Design factor: one bar colour per level.")
    normalize: Literal["none", "first"] = Field(
        "none", description="first: divide each outcome by its mean at the first level of x.")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("x", self.x), ("group", self.group)) if k is not None]


class SeriesFigure(_Recipe):
    """A per-tick ledger column over simulated time (needs ``timeseries = true``): mean over
    the runs of each group level, with its 95% CI band."""

    kind: Literal["series"]
    y: list[str] = Field(min_length=1, description="Columns of the per-tick ledger series "
                         "(timeseries.parquet), one curve each.")
    group: str | None = Field(None, description="Design factor: one colour per level.")
    panel: str | None = Field(None, description="Design factor: one panel per level.")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("group", self.group), ("panel", self.panel))
                if k is not None]

    def outcome_fields(self) -> list[tuple[str, str]]:
        return []  # series columns are checked against the ledger, not the outcomes


FigureRecipe = Annotated[LinesFigure | TradeoffFigure | BarsFigure | SeriesFigure,
                         Field(discriminator="kind")]


class PrimAnalysis(Strict):
    """Scenario discovery (``sim.discovery``): the region of the sampled space where runs reach
    a threshold, found by PRIM; drawn by ``sim plot`` into ``figures/<name>.png``, with tables
    in ``analysis/``. Does not change the runs, so it can be added to a finished sweep."""

    kind: Literal["prim"]
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$",
                      description="File stem; unique among the experiment's figures.")
    outcome: str = Field(description="One of the experiment's outcomes.")
    threshold: float = Field(description="Runs with the outcome at or above (direction above) "
                                         "or below (direction below) this are of interest.")
    direction: Literal["above", "below"] = Field(
        "above", description="above: outcome >= threshold; below: outcome < threshold. A "
                             "missing value (e.g. a null kidding_ratio) is never of interest.")
    box: int | None = Field(None, description="Step of the peeling trajectory to choose "
                                              "(default: sim.discovery's rule).")
    boxes: int = Field(1, ge=1, le=10, description="Boxes to find, one after another.")
    mass_min: float = Field(0.05, gt=0, lt=1, description="Least share of runs in a box.")
    peel_alpha: float = Field(0.05, gt=0, lt=1, description="Share of runs peeled per step.")


def check_figures(figures: list[_Recipe], outcomes: list[str], factors: list[str] | None,
                  timeseries: bool) -> None:
    """Refuse a recipe that names something the sweep will not have, before any run (a
    ValueError naming the recipe and field). ``factors``: the design's factors, or None when
    they are known only once the design is drawn (a posterior design)."""
    automatic = automatic_stems(outcomes)
    seen: set[str] = set()
    for i, r in enumerate(figures):
        where = f"figure {r.name!r} (figures.{i})"
        if r.name in seen:
            raise ValueError(f"{where}: name: another figure has the same name")
        if r.name in automatic:
            raise ValueError(f"{where}: name: clashes with the automatic figure of that "
                             "name; choose another")
        seen.add(r.name)
        for field, o in r.outcome_fields():
            if o not in outcomes:
                raise ValueError(f"{where}: {field}: {o!r} is not one of the experiment's "
                                 f"outcomes {outcomes}")
        if r.kind != "tradeoff" and len(set(r.outcomes())) < len(r.outcomes()):
            raise ValueError(f"{where}: y: an outcome is listed twice")
        if isinstance(r, SeriesFigure):
            if not timeseries:
                raise ValueError(f"{where}: kind: a series figure needs timeseries = true")
            for col in r.y:
                if col not in SERIES:
                    raise ValueError(f"{where}: y: {col!r} is not a per-tick ledger column "
                                     f"{list(SERIES)}")
        for field, key in r.factor_fields() if factors is not None else ():
            if key not in factors:
                raise ValueError(f"{where}: {field}: {key!r} is not a design factor "
                                 f"{sorted(factors)}")
        if len(set(r.factors())) < len(r.factors()):
            raise ValueError(f"{where}: group: the same factor as "
                             f"{r.factor_fields()[0][0]}")


def check_analysis(analysis: list[PrimAnalysis], outcomes: list[str],
                   figures: list[_Recipe]) -> None:
    """Refuse an analysis of an outcome the sweep does not record, or whose name another
    figure or analysis takes."""
    taken = {r.name for r in figures} | automatic_stems(outcomes)
    for i, a in enumerate(analysis):
        where = f"analysis {a.name!r} (analysis.{i})"
        if a.outcome not in outcomes:
            raise ValueError(f"{where}: outcome: {a.outcome!r} is not one of the "
                             f"experiment's outcomes {outcomes}")
        if a.name in taken:
            raise ValueError(f"{where}: name: another figure or analysis has that name")
        taken.add(a.name)


def check_shown(figures: list[_Recipe], columns: list[str], varied: list[str],
                check_names: bool, path: Path) -> None:
    """Once the design table is drawn: a recipe must show every varied factor, since averaging
    over a factor the design varies would mix its levels into one mean and hide the very effect
    the sweep was run to measure. With ``check_names`` (a posterior design, whose factors were
    not known at validation), also refuse a factor the table does not have."""
    for i, r in enumerate(figures):
        for field, key in r.factor_fields() if check_names else ():
            if key not in columns:
                raise ConfigError(f"{path}: figure {r.name!r} (figures.{i}): {field}: {key!r} "
                                  f"is not a design factor {sorted(columns)}")
        hidden = [k for k in varied if k not in r.factors()]
        if hidden:
            fields = {"tradeoff": "along or group", "series": "group or panel"}.get(
                r.kind, "x or group")
            raise ConfigError(
                f"{path}: figure {r.name!r} (figures.{i}): the design varies {hidden}, which "
                f"the figure does not show; use them as {fields}, or fix them in the design")
