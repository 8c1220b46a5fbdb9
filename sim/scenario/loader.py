"""Reading scenario files: safe YAML in, a validated ``Scenario`` or a clear error out.

Errors name the file, the field path, the YAML line and the problem, and suggest the
closest valid key when a key is unknown. ``ScenarioError`` carries them all so the CLI
can print one screen and exit 2 instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario import yamlread
from sim.scenario.overlay import OverlayError, keyed_path, merge_overlay, set_path
from sim.scenario.schema import Scenario
from sim.scenario.yamlread import ReadError, shown_repr

Loc = tuple[str | int, ...]
MAX_SHOWN = 15
MAX_EXTENDS = 32
"""Longest chain of files extending one another."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        file = yamlread.shown(self.file, 120)
        where = f"{file}:{self.line}" if self.line else file
        field = f" {yamlread.shown(self.path, 120)}:" if self.path else ""
        return f"{where}:{field} {yamlread.shown(self.message, 400)}"


class ScenarioError(ValueError):
    """A scenario file could not be read or is not valid; ``problems`` says why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """One screen: a headline and one line per problem (the first few)."""
        shown = [str(p) for p in self.problems[:MAX_SHOWN]]
        more = len(self.problems) - MAX_SHOWN
        if more > 0:
            shown.append(f"... and {more} more problem(s)")
        n = len(self.problems)
        head = f"invalid scenario ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([head, *("  " + s for s in shown)])


def format_loc(loc: Loc) -> str:
    """``('hubs', 0, 'roster')`` as ``hubs[0].roster``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML safely (``sim.scenario.yamlread``); the data and each field path's line."""
    try:
        data, lines, dups = yamlread.parse(text)
    except ReadError as exc:
        raise ScenarioError([Problem(source, "", exc.line, exc.message)]) from None
    if dups:
        raise ScenarioError(
            [Problem(source, format_loc(p), ln, "duplicate key (YAML keeps only the last)")
             for p, ln in dups]
        )
    if not isinstance(data, Mapping):
        raise ScenarioError([Problem(source, "", 1, "a scenario must be a YAML mapping")])
    return data, lines


def _line_for(loc: Loc, lines: Mapping[Loc, int]) -> tuple[Loc, int | None]:
    """The longest prefix of ``loc`` present in the file (skipping union tags) and its line."""
    path: Loc = ()
    for part in loc:
        if (*path, part) in lines:
            path = (*path, part)
    return path, lines.get(path, lines.get(loc[:1]) if loc else None)


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind Optional / Union / Annotated."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _model_at(loc: Loc, root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    """The pydantic model class that the value at ``loc`` is validated as, if any."""
    candidates: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for tp in candidates:
            origin = typing.get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if not isinstance(part, str):
                    continue
                for name, field in tp.model_fields.items():
                    if part in (name, field.alias):
                        nxt.extend(_unwrap(field.annotation))
                kind = tp.model_fields.get("kind")
                if kind is not None and part in typing.get_args(kind.annotation):
                    nxt.append(tp)  # a discriminated-union tag in the loc
            elif origin is dict and isinstance(part, str):
                nxt.extend(_unwrap(typing.get_args(tp)[1]))
            elif origin is list and isinstance(part, int):
                nxt.extend(_unwrap(typing.get_args(tp)[0]))
        candidates = nxt
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) > 1 and loc and isinstance(loc[-1], str):
        tagged = [m for m in models if loc[-1] in typing.get_args(
            getattr(m.model_fields.get("kind"), "annotation", None))]
        models = tagged or models
    return models[0] if models else None


def _valid_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_TAGS = {"exponential", "deterministic", "uniform", "triangular", "lognormal", "gamma",
         "erlang", "empirical"}


_UNION_TAG = re.compile(r"^(?:[a-z]+(?:-[a-z]+)*\[.*\]|int|float|str|bool|none)$", re.DOTALL)
"""A union member pydantic names in a loc, e.g. ``literal['all','working']``."""


def _is_tag(prefix: Loc, part: str | int, lines: Mapping[Loc, int]) -> bool:
    """True for a union tag pydantic puts in a loc (not a key in the file)."""
    return (isinstance(part, str) and (part in _TAGS or bool(_UNION_TAG.match(part)))
            and (*prefix, part) not in lines)


_CROSS = re.compile(r"^at ([^:]+): (.*)$")


def _problems_from(exc: ValidationError, source: str, lines: Mapping[Loc, int]) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "extra_forbidden" and loc:
            model = _model_at(loc[:-1])
            keys = _valid_keys(model) if model else []
            close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.5)
            msg = f"unknown key {shown_repr(loc[-1])}"
            if close:
                msg += f"; did you mean {close[0]!r}?"
            elif keys:
                msg += f"; valid keys here: {', '.join(keys)}"
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] != "extra_forbidden" and isinstance(err.get("input"),
                                                             str | int | float | bool):
            msg += f" (got {shown_repr(err['input'])})"
        kept = tuple(p for i, p in enumerate(loc) if not _is_tag(loc[:i], p, lines))
        union, loc = len(kept) < len(loc), kept
        sub = msg.splitlines()
        if all(_CROSS.match(s) for s in sub):
            for s in sub:
                m = _CROSS.match(s)
                assert m is not None
                rel: Loc = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
                full = (*loc, *rel)
                _, line = _line_for(full, lines)
                out.append(Problem(source, format_loc(full), line, m.group(2)))
            continue
        shown, line = _line_for(loc, lines)
        if err["type"] == "missing":
            shown = loc
        problem = Problem(source, format_loc(loc if len(loc) > len(shown) else shown), line, msg)
        same = [i for i, q in enumerate(out) if (q.path, q.line) == (problem.path, problem.line)]
        if union and same:  # the branches of a union that all failed: one line
            got = f" (got {shown_repr(err['input'])})" if "input" in err else ""
            first = out[same[0]]
            out[same[0]] = dataclasses.replace(
                first, message=f"{first.message.removesuffix(got)}; or {msg[:1].lower()}{msg[1:]}")
        else:
            out.append(problem)
    return out


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>",
                       lines: Mapping[Loc, int] | None = None) -> Scenario:
    """Validate a mapping into a ``Scenario``, turning pydantic errors into a ScenarioError."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems_from(exc, source, lines or {})) from None


def _read_yaml_file(p: Path, source: str) -> tuple[Any, dict[Loc, int]]:
    try:
        text = yamlread.read_text(p)
    except ReadError as exc:
        raise ScenarioError([Problem(source, "", exc.line, exc.message)]) from None
    return parse_yaml(text, source)


def _layers(p: Path, source: str, chain: tuple[Path, ...]
            ) -> tuple[dict[str, Any], dict[Loc, int], dict[Loc, str]]:
    """A file with its ``extends:`` bases merged in, plus where each field came from."""
    data, lines = _read_yaml_file(p, source)
    owner = dict.fromkeys(lines, source)
    if "extends" not in data:
        return dict(data), lines, owner
    ext, ext_line = data["extends"], lines.get(("extends",))
    if not isinstance(ext, str) or not ext.strip():
        raise ScenarioError([Problem(source, "extends", ext_line,
                                     "must be the path of a base scenario file, relative to "
                                     "this file's folder")])
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError([Problem(source, "extends", ext_line,
                                     f"more than {MAX_EXTENDS} files extend one another")])
    try:
        yamlread.check_path_text(ext)
        base_path = p.parent / ext
        here = (*chain, p.resolve())
        resolved = base_path.resolve()
    except (ReadError, OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a link loop
        why = "a symlink loop" if isinstance(exc, RuntimeError) else str(exc)
        raise ScenarioError([Problem(source, "extends", ext_line,
                                     f"cannot use {ext!r} as a base file: {why}")]) from None
    base_source = os.path.normpath(str(Path(source).parent / ext))
    if resolved in here:
        names = [*(str(c.name) for c in here), base_path.name]
        raise ScenarioError([Problem(source, "extends", ext_line,
                                     f"extends cycle: {' -> '.join(names)}")])
    if not base_path.exists():
        raise ScenarioError([Problem(source, "extends", ext_line,
                                     f"base scenario {ext!r} not found (looked for "
                                     f"{base_source})")])
    bdata, blines, bowner = _layers(base_path, base_source, here)
    over = {k: v for k, v in data.items() if k != "extends"}
    try:
        return merge_overlay(bdata, over, base_lines=blines, base_owner=bowner,
                             over_lines=lines, over_source=source)
    except OverlayError as exc:
        found = [Problem(source, format_loc(loc), _line_for(loc, lines)[1], msg)
                 for loc, msg in exc.problems]
        raise ScenarioError(sorted(found, key=lambda pr: pr.line or 0)) from None


def _owner_of(path: str, owners: Mapping[str, str], default: str) -> str:
    """The file that defined the longest prefix of a field path (``hubs[0].roster``)."""
    best, best_len = default, -1
    for key, f in owners.items():
        if len(key) > best_len and (path == key or path.startswith((key + ".", key + "["))):
            best, best_len = f, len(key)
    return best


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario YAML file.

    A file may start from another with ``extends: ../base.yaml`` (relative to its own
    folder) and give only what it changes: mappings merge key by key, hubs, districts and
    roster lines merge by key (``sim.scenario.overlay``), other lists and scalars replace,
    and the merged whole is validated. Bases may extend further bases; a cycle or a
    missing base is an error naming the file.

    Raises ``ScenarioError`` (a ``ValueError``) naming file, field, line and problem.
    """
    source = str(path)
    data, lines, owner = _layers(Path(path), source, ())
    try:
        return scenario_from_dict(data, source, lines)
    except ScenarioError as exc:
        if all(f == source for f in owner.values()):
            raise
        owners = {format_loc(loc): f for loc, f in owner.items()}
        # an overlay's items sit elsewhere in the merged lists: name them by key
        problems = [dataclasses.replace(pr, file=_owner_of(pr.path, owners, source),
                                        path=keyed_path(data, pr.path))
                    for pr in exc.problems]
        raise ScenarioError(problems) from None


def parse_value(text: str) -> Any:
    """A command-line value parsed as YAML (``1.5`` -> float, ``pooled`` -> str)."""
    return yamlread.parse_value(text)


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any],
                    source: str = "--set") -> Scenario:
    """A new scenario with fields replaced by path (``{"demand.growth": 1.5}``).

    Keyed list items are named in brackets (``hubs[igmc_shimla].doctors.cardiology``,
    ``hubs[igmc_shimla].roster[cardiology mon,tue 09:30].doctors``); a bracketed item set
    to a mapping is changed (or added), set to ``remove`` it is removed. A dotted number
    is a list index (``hubs.0.doctors.medicine``). The result is validated as a whole;
    the original is untouched.
    """
    data = scenario.model_dump(mode="json", by_alias=True)
    for dotted, value in overrides.items():
        try:
            set_path(data, dotted, value)
        except OverlayError as exc:
            raise ScenarioError([Problem(source, format_loc(loc) if loc else dotted, None, msg)
                                 for loc, msg in exc.problems]) from None
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as exc:  # no lines to point at: name list items by key
        raise ScenarioError([dataclasses.replace(pr, path=keyed_path(data, pr.path))
                             for pr in exc.problems]) from None
