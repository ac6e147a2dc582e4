"""Configuration reference generated from the schema in :mod:`sim.config`.

``render_config_docs()`` walks :class:`sim.config.Config` and renders one Markdown section per TOML
table, one row per field (name, type, default, unit, allowed range, description, source), so the
reference is the schema and cannot drift from it. ``write()`` regenerates ``docs/config.md``;
``tests/test_docs.py`` fails when the committed file differs from the rendering. Regenerate with

    python -c "import sim.docs as d; d.write()"

The output depends only on the schema (no dates, paths or versions), so it is deterministic.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import config as C

CONFIG_DOCS = Path(__file__).resolve().parent.parent / "docs" / "config.md"
REGENERATE = 'python -c "import sim.docs as d; d.write()"'

# Rules that the model validators in sim/config/ enforce beyond the per-field bounds. They are
# not part of the pydantic field metadata, so they are listed here (tests check every key names
# an existing field).
VALIDATOR_RULES: dict[tuple[type[BaseModel], str], str] = {
    (C.CommunityConfig, "name"): "unique among communities",
    (C.CommunityConfig, "languages"): "3 weights (en, zh, other), non-negative, positive sum",
    (C.CommunityConfig, "utc_offsets"): "each in [-12, 14]",
    (C.CommunityConfig, "utc_weights"): "one per utc_offsets entry, non-negative, positive sum",
    (C.PopulationConfig, "diurnal"): "24 weights, non-negative, positive sum",
    (C.PlatformConfig, "name"): "unique among platforms",
    (C.EngagementConfig, "comprehension"): "3 x 3 matrix, entries in [0, 1]",
    (C.OperationConfig, "platform_weights"):
        "keys must name platforms; if not empty, non-negative weights with a positive sum",
    (C.OperationConfig, "persona_communities"):
        "keys must name communities; non-negative weights with a positive sum (so at least one "
        "entry)",
    (C.OperationConfig, "persona_languages"):
        "3 weights (en, zh, other), non-negative, positive sum",
    (C.OperationConfig, "work_blocks"): "start < end in every block",
    (C.OperationConfig, "replacement_mix"):
        "keys among bought, hijacked, fresh; non-negative weights with a positive sum",
    (C.PlatformConfig, "moderation"): "keys and values of [moderation] fields, validated like it",
    (C.ModerationConfig, "enabled"): "when enabled, at least one signal weight must be positive",
    (C.PaymasterConfig, "kpi_weights"):
        "keys among the per-operator report quantities; non-negative weights with a positive sum",
}

# Section intros for models without a docstring, and notes added after a model's docstring.
SECTION_NOTES: dict[type[BaseModel], str] = {
    C.RunConfig: "Seed and horizon. One tick is one simulated hour; the run lasts "
    "`max(1, round(days * 24))` ticks.",
    C.CommunityConfig: "Repeat the table once per community. A file that lists communities "
    "replaces the default set below entirely; `operation.persona_communities` must then name "
    "communities that exist (this is checked even when the operation is disabled).",
    C.ModerationConfig: "The same table applies to every platform; `platforms.moderation` "
    "changes fields for one platform (e.g. `moderation = { threshold = 0.7 }` in its "
    "`[[platforms]]` table). Switch all moderation off with `--set moderation.enabled=false`. "
    "The model is in docs/model.md, Section 7.15.",
    C.PlatformConfig: "Repeat the table once per platform. A file that lists platforms replaces "
    "the default set below entirely. Users' popularity (`population.popularity_exponent`) is a "
    "user trait, shared by every platform's graph.",
}

_MAX_CELL = 44  # defaults longer than this are shown below the table, as TOML


# ---- walking the schema ------------------------------------------------------------------------
def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model class, is_array_of_tables) if the annotation is a model or a list of models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is list:
        (arg,) = get_args(annotation)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, True
    return None, False


def sections(model: type[BaseModel] = C.Config, prefix: str = ""
             ) -> list[tuple[str, str, type[BaseModel]]]:
    """(TOML header, dotted path, model) for every table under ``model``, depth first in field
    order: ``[run]``, ``[population]``, ``[[population.communities]]``, ``[[platforms]]``, ..."""
    out: list[tuple[str, str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        sub, array = _model_of(field.annotation)
        if sub is None:
            continue
        path = f"{prefix}{name}"
        out.append((f"[[{path}]]" if array else f"[{path}]", path, sub))
        out.extend(sections(sub, path + "."))
    return out


def _scalar_fields(model: type[BaseModel]) -> list[str]:
    """Fields of ``model`` that are values, not nested tables."""
    return [n for n, f in model.model_fields.items()
            if _model_of(f.annotation)[0] is None or _model_of(f.annotation)[1]]


# ---- formatting --------------------------------------------------------------------------------
def _int(x: int) -> str:
    if x == 2**63 - 1:
        return "2^63 - 1"
    return f"{x:_}" if abs(x) >= 10_000 else str(x)


def _num(x: Any) -> str:
    """A number as TOML writes it (digits grouped with ``_`` from 10,000)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return _int(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return _int(int(x)) + ".0"
    return repr(x)


def _bound(x: Any) -> str:
    """A range bound, written without a spurious ``.0``."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return _int(int(x))
    return _num(x)


def toml_value(v: Any) -> str:
    """A value in TOML syntax (as it would be written in a scenario file)."""
    if v is None:
        return "unset"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool | int | float):
        return _num(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, BaseModel):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.model_dump().items()) \
            + " }"
    return str(v)


def type_name(annotation: Any) -> str:
    """A short, readable name of a field's type, in TOML terms."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return "string"
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        name = " or ".join(type_name(a) for a in rest)
        return f"{name} (optional)" if len(rest) < len(args) else name
    if origin is list:
        sub, _ = _model_of(annotation)
        if sub is not None:
            return "array of tables"
        return f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return {bool: "bool", int: "int", float: "float", str: "string"}.get(annotation,
                                                                         str(annotation))


def _bounds(metadata: list[Any]) -> str:
    """Interval notation from annotated-types bounds, e.g. ``(0, 0.99]`` or ``>= 1``."""
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        if isinstance(m, FieldInfo):  # bounds of an Annotated[...] item type
            return _bounds(m.metadata)
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    if lo is not None and hi is not None:
        return f"{'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_bound(lo)}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {_bound(hi)}"
    return ""


def _item_bounds(annotation: Any) -> str:
    """Bounds declared on the item types of a list/tuple (e.g. hours in ``work_blocks``)."""
    for arg in get_args(annotation):
        if get_origin(arg) is typing.Annotated:
            b = _bounds(list(get_args(arg)[1:]))
            if b:
                return b
        b = _item_bounds(arg)
        if b:
            return b
    return ""


def allowed(model: type[BaseModel], name: str) -> str:
    """Everything the schema and validators require of a field's value."""
    field = model.model_fields[name]
    parts: list[str] = []
    ann = field.annotation
    if get_origin(ann) is Literal:
        parts.append("one of " + ", ".join(f'"{a}"' for a in get_args(ann)))
    b = _bounds(field.metadata)
    if b:
        parts.append(b)
    ib = _item_bounds(ann)
    if ib:
        parts.append(f"each entry {ib}")
    lengths = {type(m).__name__: m for m in field.metadata}
    if "MinLen" in lengths or "MaxLen" in lengths:
        lo = getattr(lengths.get("MinLen"), "min_length", None)
        hi = getattr(lengths.get("MaxLen"), "max_length", None)
        what = "characters" if ann is str else "entries"
        if lo is not None and hi is not None:
            parts.append(f"{lo} to {hi} {what}")
        elif lo is not None:
            parts.append(f"at least {lo} {what[:-1] if lo == 1 else what}")
        elif hi is not None:
            parts.append(f"at most {hi} {what}")
    rule = VALIDATOR_RULES.get((model, name))
    if rule:
        parts.append(rule)
    return "; ".join(parts)


def default_of(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()
    return field.default


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
            .replace("\n", " ").strip()) or "-"


# ---- rendering ---------------------------------------------------------------------------------
def _header_of(model: type[BaseModel]) -> str:
    for header, _, m in sections():
        if m is model:
            return header
    return ""


def _default_cell(model: type[BaseModel], name: str, long: list[str]) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "required"
    value = default_of(field)
    sub, array = _model_of(field.annotation)
    if sub is not None and array:
        return f"{len(value)} tables, see `{_header_of(sub)}`"
    text = toml_value(value)
    if len(text) > _MAX_CELL:
        long.append(f"{name} = {text}")
        return "see below"
    return f"`{text}`" if value is not None else "unset"


def _field_row(model: type[BaseModel], name: str, long: list[str]) -> str:
    field = model.model_fields[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    cells = [f"`{name}`", type_name(field.annotation), _default_cell(model, name, long),
             str(extra.get("unit", "")), allowed(model, name), field.description or "",
             str(extra.get("source", ""))]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _default_tables(header: str, path: str, model: type[BaseModel]) -> list[str]:
    """The default entries of an array of tables, as TOML (fields at their default omitted)."""
    owner: Any = C.Config
    *parents, last = path.split(".")
    for p in parents:
        owner = owner.model_fields[p].annotation
    entries = default_of(owner.model_fields[last])
    lines = ["Default entries (fields left at their defaults are omitted):", "", "```toml"]
    for i, entry in enumerate(entries):
        if i:
            lines.append("")
        lines.append(header)
        for name, field in model.model_fields.items():
            value = getattr(entry, name)
            if field.is_required() or value != default_of(field):
                lines.append(f"{name} = {toml_value(value)}")
    lines.append("```")
    return lines


def _error_example() -> str:
    """A real validation message, produced by the validator itself."""
    try:
        C.build_config({"population": {"like_prob": 1.5, "n_user": 1000}},
                       origin="scenario.toml")
    except C.ConfigError as exc:
        return str(exc)
    raise AssertionError("the example configuration unexpectedly validated")


def _intro() -> list[str]:
    tables = ", ".join(f"`{h}`" for h, _, _ in sections())
    return [
        "# Configuration reference",
        "",
        "<!-- Generated from sim/config/ by sim/docs.py; do not edit by hand. Regenerate with",
        f"     {REGENERATE} -->",
        "",
        "A scenario is one TOML file plus an integer seed. Every table and field is optional: "
        "whatever a file does not set takes the default listed below, so a scenario states only "
        "what makes it different (see `experiments/spamouflage.toml`). The tables are "
        f"{tables}. Arrays of tables (`[[...]]`) replace their default list as a whole when a "
        "file gives them.",
        "",
        "```toml",
        "[run]",
        "seed = 7",
        "days = 14",
        "",
        "[population]",
        "n_users = 20_000",
        "",
        "[operation]",
        "hijack_fraction = 0.5",
        "work_blocks = [[9, 12], [14, 17]]",
        "persona_communities = { us_politics = 1.0 }",
        "```",
        "",
        "Any field can be overridden from the command line without editing the file, with "
        "`--set key.path=value` (repeatable). The value is read as TOML (`true`, `3`, `0.5`, "
        "`\"text\"`, `[1, 2]`); anything that is not valid TOML is taken as a bare string. "
        "Elements of an array of tables are addressed by position (`platforms.0.ranking`, "
        "`population.communities.1.share`, the latter only when the file lists its "
        "communities) and platforms also by name (`platforms.microblog.ranking=engagement`); "
        "overriding a platform field in a file without `[[platforms]]` applies to the default "
        "platforms. Setting one key of a table-valued field (such as "
        "`operation.persona_communities.tech=1.0`) replaces that field's default table unless "
        "the file sets the field itself. `sim run` also has shortcuts `--seed`, `--users` and "
        "`--days` for `run.seed`, `population.n_users` and `run.days`; `sim check FILE` "
        "validates a file without running it, and `sim config-docs [--out FILE]` prints (or "
        "writes) this reference.",
        "",
        "Files are validated before anything runs. Unknown keys (for example a misspelt field) "
        "and out-of-range values are rejected, and the message names every offending field "
        "with its dotted path, for example:",
        "",
        "```text",
        _error_example(),
        "```",
        "",
        "Columns: *Range* is the allowed range in interval notation (`[a, b]` includes both "
        "ends, `(a, b]` excludes `a`) plus the rules the validators check; *Unit* is `-` where "
        "the schema records none (probabilities, shares, weights and multipliers are "
        "dimensionless; counts and rates are named by the field); *Source* is the "
        "public source a default rests on (see `docs/model.md`), `assumption` for calibration "
        "choices, and `-` where the schema records no source (treat these defaults as "
        "assumptions unless the description names a source). Languages are always ordered "
        f"({', '.join(C.LANGUAGES)}).",
    ]


def render_config_docs() -> str:
    """The whole configuration reference as Markdown (deterministic)."""
    lines = _intro()
    for header, path, model in sections():
        lines += ["", f"## `{header}`", ""]
        doc = " ".join((model.__doc__ or "").split())
        lines.append(" ".join(t for t in (doc, SECTION_NOTES.get(model, "")) if t))
        lines += ["", "| Field | Type | Default | Unit | Range | Description | Source |",
                  "|---|---|---|---|---|---|---|"]
        long: list[str] = []
        for name in _scalar_fields(model):
            lines.append(_field_row(model, name, long))
        if long:
            lines += ["", "Defaults too long for the table:", "", "```toml", *long, "```"]
        if _header_of(model).startswith("[["):
            lines += [""] + _default_tables(header, path, model)
    return "\n".join(lines) + "\n"


def write(path: str | Path | None = None) -> Path:
    """Regenerate ``docs/config.md`` (or ``path``) from the schema; returns the path written."""
    target = Path(path) if path is not None else CONFIG_DOCS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_config_docs(), encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover
    print(write())
