"""Configs are the CLI: every command takes one frozen dataclass, parsed from the command line by draccus.

A field's trailing comment is its `--help` text (draccus reads it), its default is the only default there is,
and `--config_path FILE.yaml` loads a whole config as LeRobot's scripts do. On top of draccus this module adds
the command-line habits our users already type (`srpo data info STORE --episodes 1 2 --json`):

- positional fields: `field(default=..., metadata=POSITIONAL)`; a tuple-typed positional takes every
  positional token the later positionals do not need (`srpo data from-rosbag BAG BAG OUT`);
- `--kebab-case` flags for `snake_case` fields, nested fields as `--safety.max-speed`;
- `--flag` alone for booleans, `--flag a b c` (or a repeated `--flag a --flag b`) for tuple fields;
- `--backend xarm` for a registry field (a `draccus.ChoiceRegistry` config) means `--backend.type xarm`;
- a class may declare `CLI_ALIASES: ClassVar[dict[str, str]]`, old flag name -> field path (or several
  comma-separated paths that take one value each: `"image-size": "camera_height,camera_width"`), and
  `CLI_REPLACED: ClassVar[dict[str, str]]`, old flag name -> what to pass instead (a field of another shape);
- a dict field takes a YAML mapping, as LeRobot's `--robot.cameras "{front: {type: opencv, ...}}"`;
- named whole configs (openpi's style): a class with a `preset` field and `PRESETS: ClassVar[dict[str, cls]]`
  (name -> a complete config) starts from `PRESETS[--preset]`, and every other flag given overrides that
  config's field (`srpo libero train --preset siirl --algo.lr 1e-5`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import pathlib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

import draccus
from draccus.utils import DecodingError

from srpo.errors import UserFacingError

POSITIONAL = {"positional": True}  # field metadata: the field is given without a flag, in declaration order


def _is_flag(token: str) -> bool:
    """A `--name` token; `-1` or `-0.5` are values."""
    return token.startswith("--") and len(token) > 2


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_sequence(tp: Any) -> bool:
    return typing.get_origin(_unwrap_optional(tp)) in (tuple, list, Sequence)


def _is_bool(tp: Any) -> bool:
    return _unwrap_optional(tp) is bool


def _is_registry(tp: Any) -> bool:
    tp = _unwrap_optional(tp)
    return isinstance(tp, type) and issubclass(tp, draccus.ChoiceRegistry)


def field_types(cls: type) -> dict[str, Any]:
    """Dotted field path -> type, through nested dataclasses (registry fields as their base class)."""
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        out[f.name] = tp
        inner = _unwrap_optional(tp)
        # a registry field takes the fields of every registered choice (`--backend xarm --backend.ip ...`)
        classes = list(inner.get_known_choices().values()) if _is_registry(inner) else [inner]
        for sub_cls in classes:
            if dataclasses.is_dataclass(sub_cls) and isinstance(sub_cls, type):
                for sub, sub_tp in field_types(sub_cls).items():
                    out.setdefault(f"{f.name}.{sub}", sub_tp)
    return out


def _is_text(tp: Any) -> bool:
    return _unwrap_optional(tp) in (str, pathlib.Path)


def _yaml_value(values: list[str], tp: Any) -> str:
    """One draccus value; text is quoted so that YAML keeps `012345` or `a: b` as the string typed."""
    if _is_sequence(tp):
        args = [a for a in typing.get_args(_unwrap_optional(tp)) if a is not Ellipsis]
        text = bool(args) and all(_is_text(a) for a in args)
        quoted = [_quote(v) if text or not _looks_numeric(v) else v for v in values]
        return "[" + ", ".join(quoted) + "]"
    if len(values) > 1:
        raise UserFacingError(f"expected one value, got {' '.join(values)!r}")
    if _is_text(tp) and values[0] not in ("null", "None"):
        return _quote(values[0])
    return values[0]


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def normalise_argv(cls: type, argv: Sequence[str]) -> list[str]:
    """Our command-line habits -> draccus's `--field_path=value` tokens."""
    types_by_path = field_types(cls)
    aliases: dict[str, str] = dict(getattr(cls, "CLI_ALIASES", {}))
    replaced: dict[str, str] = dict(getattr(cls, "CLI_REPLACED", {}))
    positional = [f.name for f in dataclasses.fields(cls) if f.metadata.get("positional")]

    leading: list[str] = []
    i = 0
    while i < len(argv) and not _is_flag(argv[i]):
        leading.append(argv[i])
        i += 1
    values: dict[str, list[str]] = {}
    order: list[str] = []
    passthrough: list[str] = []
    while i < len(argv):
        token = argv[i]
        if not _is_flag(token):
            raise UserFacingError(f"unexpected value {token!r}: positional arguments come before the --options")
        name, eq, inline = token[2:].partition("=")
        if name in ("help", "h", "config_path", "config-path"):
            passthrough.append(token)
            i += 1
            if name.startswith("config") and not eq and i < len(argv):
                passthrough.append(argv[i])
                i += 1
            continue
        if name in replaced:
            raise UserFacingError(f"--{name} was replaced; pass {replaced[name]}")
        path = aliases.get(name, name).replace("-", "_")
        path = aliases.get(path, path)
        i += 1
        if "," in path:  # an alias spread over several fields: `--image-size H W` -> camera_height, camera_width
            targets = path.split(",")
            got = argv[i:i + len(targets)]
            if len(got) < len(targets) or any(_is_flag(g) for g in got):
                raise UserFacingError(f"--{name} needs {len(targets)} values")
            i += len(targets)
            for target, value in zip(targets, got):
                if target not in values:
                    order.append(target)
                values[target] = [value]
            continue
        if path not in types_by_path:
            known = sorted({p.replace("_", "-") for p in types_by_path} | set(aliases))
            nested = [k for k in known if k.rsplit(".", 1)[-1] == name]  # an old flag that moved into a group
            close = nested or difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join('--' + c for c in close)}?" if close else ""
            raise UserFacingError(f"unknown option --{name}{hint}")
        got = [inline] if eq else []
        while not eq and i < len(argv) and not _is_flag(argv[i]):
            got.append(argv[i])
            i += 1
        tp = types_by_path[path]
        if not got and _is_bool(tp):
            got = ["true"]
        elif not got and not _is_sequence(tp):  # a list flag given alone is the empty list
            raise UserFacingError(f"--{name} needs a value")
        if _is_registry(tp):
            path = f"{path}.type"
        if path in values and _is_sequence(tp):
            values[path].extend(got)
        else:
            if path not in values:
                order.append(path)
            values[path] = got

    if leading:
        if not positional:
            raise UserFacingError(f"unexpected value {leading[0]!r}; this command takes only --options")
        seq = [p for p in positional if _is_sequence(types_by_path[p])]
        fixed = len(positional) - len(seq)
        if len(leading) < fixed or (not seq and len(leading) > fixed):
            names = " ".join(p.upper() for p in positional)
            raise UserFacingError(f"expected positional arguments {names}, got {' '.join(leading)!r}")
        rest = list(leading)
        for p in positional:
            if _is_sequence(types_by_path[p]):
                later_fixed = sum(1 for q in positional[positional.index(p) + 1:] if q not in seq)
                take = len(rest) - later_fixed
                values[p], rest = rest[:take], rest[take:]
            elif rest:
                values[p], rest = [rest[0]], rest[1:]
            order.insert(0, p)

    out = list(passthrough)
    for path in order:
        tp = types_by_path.get(path, types_by_path.get(path.removesuffix(".type")))
        out.append(f"--{path}={_yaml_value(values[path], tp)}")
    return out


def parse_config(cls: type, argv: Sequence[str], prog: str | None = None):
    """Parse argv into `cls` (a dataclass; its docstring is the --help description). Bad input raises
    UserFacingError; `--help` prints every field with its comment and default, and exits 0."""
    try:
        args = normalise_argv(cls, argv)
    except UserFacingError as err:
        raise UserFacingError(f"{err} (see --help)") from None
    try:
        if "--help" in args or "-h" in args:
            return _print_help(cls, args, prog)
        parsed = draccus.parse(cls, args=args, prog=prog)
    except (DecodingError, draccus.ParsingError) as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, UserFacingError):  # a config's own check (__post_init__) says what to pass
            raise UserFacingError(f"{cause} (see --help)") from None
        raise UserFacingError(f"{_choice_hint(str(err))} (see --help)") from None
    presets = getattr(cls, "PRESETS", None)
    if not presets or any(a.startswith(("--config_path", "--config-path")) for a in args):
        return parsed  # a --config_path file is a whole config already
    if parsed.preset not in presets:
        raise UserFacingError(f"unknown --preset {parsed.preset!r}: choose one of {', '.join(presets)}")
    given = [a[2:].partition("=")[0] for a in args if a.startswith("--") and "=" in a]
    return with_fields(presets[parsed.preset], parsed, [p for p in given if p != "preset"])


def _choice_hint(message: str) -> str:
    """draccus's "Couldn't find a choice class for 'x' in <class 'm.C'>" with the names that exist."""
    found = re.search(r"Couldn't find a choice class for '([^']*)' in <class '([\w.]+)\.(\w+)'>", message)
    if not found:
        return message
    import importlib

    registry = getattr(importlib.import_module(found.group(2)), found.group(3))
    known = ", ".join(sorted(registry.get_known_choices()))
    return f"{message.split(':')[0]}: unknown type {found.group(1)!r}; use one of {known}"


def with_fields(base, source, paths: Sequence[str]):
    """`base` with the fields named by dotted `paths` taken from `source` (a config of the same class)."""
    changes: dict[str, Any] = {}
    for top in dict.fromkeys(p.split(".")[0] for p in paths):
        value = getattr(source, top)
        inner = [p.split(".", 1)[1] for p in paths if p.startswith(top + ".")]
        if inner and top not in paths and dataclasses.is_dataclass(value):
            value = with_fields(getattr(base, top), value, inner)
        changes[top] = value
    return dataclasses.replace(base, **changes)


def choice_config(base: type, name: str, what: str = "choice", **settings):
    """The config registered as `name` under the draccus.ChoiceRegistry `base`, built from the `settings` it
    has fields for (others are ignored: a ROS node passes all its parameters to whichever class it names)."""
    known = base.get_known_choices()
    if name not in known:
        raise UserFacingError(f"unknown {what} {name!r}; use one of {', '.join(sorted(known))}")
    cls = known[name]
    return cls(**{k: v for k, v in settings.items() if k in {f.name for f in dataclasses.fields(cls)}})


def _print_help(cls: type, args: list[str], prog: str | None):
    """draccus's --help with the flags spelt as users type them (`--w-max`, not `--w_max`); exits 0."""
    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            draccus.parse(cls, args=args, prog=prog)
    finally:
        print(re.sub(r"(?<![\w-])--([A-Za-z0-9_.]+)", lambda m: "--" + m.group(1).replace("_", "-"), text.getvalue()),
              end="")
