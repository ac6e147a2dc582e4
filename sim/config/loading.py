"""Loading a scenario: TOML files, dotted overrides (``--set``), validation."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .base import ConfigError
from .errors import check_finite, format_error, short_repr
from .scenario import Config
from .world import default_platforms


def set_path(data: dict, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` (list items by index, e.g. ``platforms.0.ranking``) in nested data."""
    parts = dotted.split(".")
    node: Any = data
    for i, p in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(p)]
            continue
        if p not in node:
            nxt = parts[i + 1]
            node[p] = [] if nxt.isdigit() else {}
        node = node[p]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def get_path(data: Any, dotted: str) -> Any:
    """The value at ``a.b.c`` in nested data or in a validated Config (list items by index, or
    by their ``name``, e.g. ``platforms.social.followees_mean``)."""
    node = data
    for p in dotted.split("."):
        if isinstance(node, list):
            node = node[int(p)] if p.isdigit() else next(
                x for x in node
                if (x.get("name") if isinstance(x, dict) else getattr(x, "name", None)) == p)
        elif isinstance(node, dict):
            node = node[p]
        else:
            node = getattr(node, p)
    return node


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.path=value``; the value is read as TOML (``true``, ``3``, ``"x"``, ``[1,2]``),
    falling back to a bare string."""
    if "=" not in text:
        raise ConfigError(f"--set expects key.path=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        value = raw.strip()
    return key, value


def resolve_platform_keys(data: dict, key: str) -> str:
    """Allow ``platforms.NAME.field`` as well as ``platforms.INDEX.field``."""
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "platforms" and not parts[1].isdigit():
        platforms = data.get("platforms", [])
        names = [p.get("name") for p in platforms if isinstance(p, dict)] \
            if isinstance(platforms, list) else []
        if parts[1] not in names:
            raise ConfigError(f"--set {key}: unknown platform {parts[1]!r}; known: {names}")
        parts[1] = str(names.index(parts[1]))
    return ".".join(parts)


def build_config(data: dict, overrides: dict[str, Any] | None = None,
                 origin: str = "config") -> Config:
    """Validate raw data (plus dotted overrides) into a Config, or raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration ({origin}): expected a table of sections, "
                          f"got {type(data).__name__}")
    data = copy.deepcopy(data)
    if "platforms" not in data and overrides and any(k.startswith("platforms.")
                                                     for k in overrides):
        data["platforms"] = [p.model_dump() for p in default_platforms()]
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"override key {short_repr(key)}: expected a dotted field name")
        key = resolve_platform_keys(data, key)
        try:
            set_path(data, key, value)
        except (IndexError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConfigError(f"--set {key}: no such field ({exc})") from None
    check_finite(data, origin)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_error(e, origin)) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read a TOML scenario file and validate it (with optional dotted overrides)."""
    path = Path(path)
    data = read_toml(path, "config")
    refuse_other_kind(path, data, "scenario")
    return build_config(data, overrides, origin=str(path))


_KIND_SIGNS = {"experiment": ("design", {"design", "outcomes", "replicates"}),
               "calibration": ("targets", {"targets", "parameters", "inference", "holdouts"})}
_COMMANDS = {"scenario": "sim run", "experiment": "sim sweep", "calibration": "sim calibrate"}


def file_kind(data: dict) -> str | None:
    """What a parsed TOML file is by its sections: an experiment or a calibration (a base and
    their own sections), a scenario (a scenario section and no base), or None (unclear: left
    to validation to name the fields)."""
    if "base" in data:
        for kind, (_, signs) in _KIND_SIGNS.items():
            if signs & data.keys():
                return kind
        return None
    return "scenario" if set(Config.model_fields) & data.keys() else None


def refuse_other_kind(path: Path, data: dict, expected: str) -> None:
    """A scenario, experiment or calibration file given to the wrong command says what it is
    and which command runs it."""
    kind = file_kind(data)
    if kind is None or kind == expected:
        return
    has = f"base and {_KIND_SIGNS[kind][0]}" if kind in _KIND_SIGNS else "no base"
    raise ConfigError(f"{path} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} file (it has "
                      f"{has}), not {'an' if expected[0] in 'aeiou' else 'a'} {expected}; run "
                      f"it with `{_COMMANDS[kind]} {path}`")


def read_toml(path: str | Path, what: str) -> dict:
    """Parse a TOML file; every way it can fail (missing, a directory, not UTF-8, not TOML,
    unreadable) is a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as "
                          "UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer too long to convert
        raise ConfigError(f"{path}: not valid TOML: {str(exc)[:200]}") from None

