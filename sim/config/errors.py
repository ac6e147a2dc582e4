"""Error messages that name the field and its allowed range."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError

from .base import ConfigError


def allowed_range(model: type[BaseModel], name: str) -> str:
    """Human-readable allowed range of a numeric field, e.g. ``0 < value <= 0.99``."""
    lo = hi = ""
    for m in model.model_fields[name].metadata:
        for attr, text in (("ge", "{} <= "), ("gt", "{} < ")):
            if getattr(m, attr, None) is not None:
                lo = text.format(getattr(m, attr))
        if getattr(m, "le", None) is not None:
            hi = f" <= {m.le}"
    return f"{lo}value{hi}" if lo or hi else ""


def field_owner(loc: tuple, root: type[BaseModel] | None = None
                 ) -> tuple[type[BaseModel], str] | None:
    """The model class that declares the field at ``loc`` (list indices skipped), from
    ``root`` (default: the whole scenario)."""
    if root is None:
        from .scenario import Config
        root = Config
    model: Any = root
    names = [p for p in loc if isinstance(p, str)]
    for i, name in enumerate(names):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) \
                or name not in model.model_fields:
            return None
        if i == len(names) - 1:
            return model, name
        ann = model.model_fields[name].annotation
        args = getattr(ann, "__args__", ())
        model = args[0] if args else ann
    return None


def short_repr(x: Any, limit: int = 60) -> str:
    """``repr(x)`` cut to ``limit`` characters: a huge value is quoted, not pasted whole (and
    integers too long for ``repr`` are described instead)."""
    try:
        text = repr(x)
    except ValueError:  # int with more digits than sys.get_int_max_str_digits()
        return f"an integer of about {int(x.bit_length() * 0.30103)} digits"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def nonfinite_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of NaN or infinite numbers anywhere in raw config data (lists and tables
    included, also where a field takes free-form values such as override tables)."""
    if isinstance(data, float):
        return [] if math.isfinite(data) else [prefix or "(top level)"]
    items: Any = ()
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list | tuple):
        items = enumerate(data)
    out = []
    for k, v in items:
        out += nonfinite_paths(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def check_finite(data: Any, origin: str) -> None:
    bad = nonfinite_paths(data)
    if bad:
        raise ConfigError(f"invalid configuration ({origin}):\n"
                          + "\n".join(f"  {p}: NaN and infinity are not allowed; give a finite "
                                       "number" for p in bad[:10]))


def format_error(e: ValidationError, origin: str, root: type[BaseModel] | None = None,
                  prefix: str = "") -> str:
    lines = [f"invalid configuration ({origin}):"]
    for err in e.errors():
        loc = prefix + ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown field (check spelling; see docs/config.md)")
            continue
        if not isinstance(err["input"], dict | list):
            msg += f" (got {short_repr(err['input'])})"
        owner = field_owner(err["loc"], root)
        rng = allowed_range(*owner) if owner else ""
        if rng:
            msg += f"; allowed range: {rng}"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


