"""Overlays that say only what changes: keyed lists merge item by item.

A plan file (``extends:``) is laid on its base: mappings merge key by key, other lists and
scalars replace, and three lists are *keyed*: ``hubs`` by ``id``, ``spokes.districts`` by
``district`` and a hub's ``roster`` lines by ``id`` if they have one, else by specialty,
days and start. An overlay item that matches a base item changes it (merged key by key),
one that matches nothing is added (it must then be complete), and ``remove: true`` with the
key removes the item; ``{replace: ...}`` (a mapping with that one key) gives a list or
mapping whole. ``--set`` paths
address the same items: ``hubs[igmc_shimla].roster[cardiology mon,tue 09:30].doctors``.

Problems are reported as ``OverlayError`` with the overlay path of each bad item, so the
loader can name file and line; nothing here reads files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.scenario.types import WEEKDAYS, expand_days, format_clock, parse_clock

Loc = tuple[str | int, ...]


class OverlayError(ValueError):
    """An overlay (or ``--set`` path) that cannot be applied: ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        self.problems = problems
        super().__init__("; ".join(m for _, m in problems))


@dataclass(frozen=True)
class KeyedList:
    """A list whose items an overlay finds by key instead of by position."""

    pattern: tuple[str | None, ...]
    """Where the list sits in a scenario; ``None`` stands for any list index."""
    noun: str
    key: tuple[str, ...]
    """The fields that name an item (its natural key)."""
    new_needs: tuple[str, ...]
    """Fields an item must give to be added (an incomplete one is taken for a typo)."""
    id_field: str | None = None
    """An optional field that names an item instead of its natural key."""

    def matches_path(self, loc: Loc) -> bool:
        """Whether the list at ``loc`` is this keyed list."""
        return len(loc) == len(self.pattern) and all(
            isinstance(part, int) if want is None else part == want
            for part, want in zip(loc, self.pattern, strict=True))

    def key_of(self, item: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The item's key, normalised (``working`` == ``[mon..sat]``, ``9:30`` == 570)."""
        if self.id_field is not None and item.get(self.id_field) is not None:
            return ("id", str(item[self.id_field]))
        return self.natural_key(item)

    def natural_key(self, item: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The key by the natural fields only (ignoring an id)."""
        if any(f not in item for f in self.key if f != "days"):
            return None
        return ("key", *(_normal(f, item.get(f, "working")) for f in self.key))

    def label(self, item: Mapping[str, Any], with_end: bool = False) -> str:
        """How an item is named in messages and ``--set`` paths."""
        if self.id_field is not None and item.get(self.id_field) is not None:
            return str(item[self.id_field])
        if self.key == ("specialty", "days", "start"):
            text = (f"{item.get('specialty')} {days_text(item.get('days', 'working'))} "
                    f"{clock_text(item.get('start'))}")
            if with_end and item.get("end") is not None:
                text += f"-{clock_text(item['end'])}"
            return text
        return str(item.get(self.key[0]))

    def selector(self, text: str) -> dict[str, Any]:
        """The key fields a ``--set`` selector names (``igmc_shimla``, ``cardiology wed 09:30``)."""
        parts = text.split()
        if len(self.key) == 1:
            return {self.key[0]: text}
        if len(parts) == 1 and self.id_field is not None:
            return {self.id_field: parts[0]}
        if len(parts) == 3:
            days: Any = parts[1] if parts[1] in ("working", "all") else parts[1].split(",")
            return {"specialty": parts[0], "days": days, "start": parts[2]}
        raise OverlayError([((), f"a {self.noun} is named [ID] or [SPECIALTY DAYS START], "
                             f"e.g. [cardiology mon,tue 09:30], got [{text}]")])


KEYED_LISTS: tuple[KeyedList, ...] = (
    KeyedList(("hubs",), "hub", ("id",), ("doctors", "roster")),
    KeyedList(("spokes", "districts"), "district", ("district",), ("home_hub",)),
    KeyedList(("hubs", None, "roster"), "roster line", ("specialty", "days", "start"),
              ("specialty", "start", "end"), id_field="id"),
)


def keyed_list_at(loc: Loc) -> KeyedList | None:
    """The keyed list that sits at ``loc`` in a scenario, if any."""
    return next((k for k in KEYED_LISTS if k.matches_path(loc)), None)


def days_text(days: Any) -> str:
    """A day spec as text: ``working``, ``all`` or ``mon,tue``."""
    try:
        wd = expand_days(days)
    except (ValueError, TypeError):
        return str(days)
    if wd == tuple(range(6)):
        return "working"
    if wd == tuple(range(7)):
        return "all"
    return ",".join(WEEKDAYS[d] for d in wd)


def clock_text(value: Any) -> str:
    """A time as ``HH:MM`` where it parses, else as written."""
    try:
        return format_clock(parse_clock(value))
    except (ValueError, TypeError):
        return str(value)


def _normal(field: str, value: Any) -> Any:
    if field == "days":
        try:
            return expand_days(value)
        except (ValueError, TypeError):
            return repr(value)
    if field in ("start", "end"):
        try:
            return parse_clock(value)
        except (ValueError, TypeError):
            return repr(value)
    return str(value)


class _Lines:
    """Field path -> line map with fast lookup of everything under a prefix."""

    def __init__(self, lines: Mapping[Loc, int], owner: Mapping[Loc, str] | str):
        self.lines = lines
        self.owner = owner
        self.under: dict[Loc, list[Loc]] = {}
        for loc in lines:
            for i in range(len(loc) + 1):
                self.under.setdefault(loc[:i], []).append(loc)

    def file_of(self, loc: Loc) -> str | None:
        return self.owner if isinstance(self.owner, str) else self.owner.get(loc)


class _Merge:
    """One overlay laid on one base, tracking where every merged field came from."""

    def __init__(self, base: _Lines, over: _Lines):
        self.base, self.over = base, over
        self.lines: dict[Loc, int] = {}
        self.owner: dict[Loc, str] = {}
        self.problems: list[tuple[Loc, str]] = []

    def _take(self, side: _Lines, src: Loc, dst: Loc) -> None:
        for loc in side.under.get(src, ()):
            moved = dst + loc[len(src):]
            self.lines[moved] = side.lines[loc]
            f = side.file_of(loc)
            if f is not None:
                self.owner[moved] = f

    def _here(self, bpath: Loc | None, opath: Loc, mpath: Loc) -> None:
        """The merged node's own line: the overlay's if it names it, else the base's."""
        for side, p in ((self.over, opath), (self.base, bpath)):
            if p is not None and p in side.lines:
                self.lines[mpath] = side.lines[p]
                f = side.file_of(p)
                if f is not None:
                    self.owner[mpath] = f
                return

    def merge(self, base: Any, over: Any, bpath: Loc, opath: Loc, mpath: Loc, ctx: str) -> Any:
        spec = keyed_list_at(mpath)
        if spec is not None and (isinstance(base, list) or _is_replace(over)
                                 or base is None and isinstance(over, list)):
            return self.merge_list(base if isinstance(base, list) else [], over, spec,
                                   bpath, opath, mpath, ctx)
        if _is_replace(over):  # a mapping or list given whole
            self._take(self.over, (*opath, "replace"), mpath)
            self._here(None, opath, mpath)
            return over["replace"]
        if isinstance(base, Mapping) and isinstance(over, Mapping):
            out: dict[str, Any] = {}
            for k, v in base.items():
                if k in over:
                    out[k] = self.merge(v, over[k], (*bpath, k), (*opath, k), (*mpath, k), ctx)
                else:
                    out[k] = v
                    self._take(self.base, (*bpath, k), (*mpath, k))
            for k, v in over.items():
                if k not in base:
                    out[k] = self.merge(None, v, (*bpath, k), (*opath, k), (*mpath, k), ctx)
            self._here(bpath, opath, mpath)
            return out
        self._take(self.over, opath, mpath)
        return over

    def merge_list(self, base: list[Any], over: Any, spec: KeyedList, bpath: Loc, opath: Loc,
                   mpath: Loc, ctx: str) -> list[Any]:
        where = f"{spec.noun}s{ctx}"
        if _is_replace(over) and isinstance(over["replace"], list):
            self._take(self.over, (*opath, "replace"), mpath)
            self._here(None, opath, mpath)
            return list(over["replace"])
        if not isinstance(over, list):
            self.problems.append((opath, f"in an overlay, {where} are a list of items to add, "
                                  f"change or remove (matched by {_key_words(spec)}), or "
                                  "{replace: [...]} for a whole new list"))
            return base
        # entries: (base index or None, overlay index or None, overlay body)
        entries: list[list[Any]] = [[i, None, None] for i in range(len(base))]

        def item_of(e: list[Any]) -> Mapping[str, Any]:
            return e[2] if e[0] is None else base[e[0]]

        for j, raw in enumerate(over):
            here = (*opath, j)
            if not isinstance(raw, Mapping):
                self.problems.append((here, f"each of the {where} must be a mapping, got "
                                      f"{raw!r}"))
                continue
            remove = raw.get("remove", False)
            if not isinstance(remove, bool):
                self.problems.append(((*here, "remove"), f"remove must be true or false, got "
                                      f"{remove!r}"))
                continue
            body = {k: v for k, v in raw.items() if k != "remove"}
            key = spec.key_of(body)
            if key is None:
                self.problems.append((here, f"a {spec.noun} in an overlay is found by "
                                      f"{_key_words(spec)}; this one has no "
                                      f"{_missing_key(spec, body)}"))
                continue
            hits = [n for n, e in enumerate(entries) if _same(spec, item_of(e), key)]
            label = spec.label(body)
            if len(hits) > 1:
                self.problems.append((here, f"{len(hits)} {spec.noun}s{ctx} match "
                                      f"{label!r}; give them an id to tell them apart"))
                continue
            if hits and entries[hits[0]][1] is not None:
                self.problems.append((here, f"{spec.noun} {label!r}{ctx} is given twice in "
                                      "this overlay"))
                continue
            if remove:
                extra = sorted(set(body) - set(spec.key) - {spec.id_field})
                if not hits:
                    self.problems.append((here, f"no {spec.noun} {label!r}{ctx} to remove"
                                          + self._hint(spec, body, [item_of(e)
                                                                    for e in entries])))
                elif extra:
                    self.problems.append((here, f"remove: true takes only the {spec.noun}'s "
                                          f"key ({_key_words(spec)}), not {', '.join(extra)}"))
                else:
                    del entries[hits[0]]
                continue
            if hits:
                entries[hits[0]][1:] = [j, body]
                continue
            missing = [f for f in spec.new_needs if f not in body]
            if missing:
                self.problems.append((here, f"no {spec.noun} {label!r}{ctx} to change"
                                      + self._hint(spec, body, [item_of(e) for e in entries])
                                      + f"; to add one, give its {', '.join(missing)}"))
                continue
            entries.append([None, j, body])
        out: list[Any] = []
        for n, (i, j, body) in enumerate(entries):
            dst = (*mpath, n)
            if i is None:
                self._take(self.over, (*opath, j), dst)
                out.append(body)
            elif j is None:
                self._take(self.base, (*bpath, i), dst)
                out.append(base[i])
            else:
                sub = f" at {spec.noun} {spec.label(base[i])}" if spec.noun == "hub" else ctx
                out.append(self.merge(base[i], body, (*bpath, i), (*opath, j), dst, sub))
        self._here(bpath, opath, mpath)
        return out

    @staticmethod
    def _hint(spec: KeyedList, body: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
              ) -> str:
        names = [spec.label(it) for it in items]
        if spec.noun == "roster line" and body.get(spec.id_field or "") is None:
            same = [it for it in items if it.get("specialty") == body.get("specialty")]
            key = spec.natural_key(body) or ()
            near = [it for it in same if sum(a != b for a, b in zip(
                spec.natural_key(it) or (), key, strict=False)) == 1]
            if len(near) == 1:  # one of days and start mistyped
                return f"; did you mean {spec.label(near[0])!r}?"
            if same:
                return (f" ({body.get('specialty')} lines here: "
                        f"{'; '.join(spec.label(it, with_end=True) for it in same)})")
            close = difflib.get_close_matches(spec.label(body), names, n=1, cutoff=0.85)
            return (f"; did you mean {close[0]!r}?" if close
                    else f" (no {body.get('specialty')} line here)")
        close = difflib.get_close_matches(spec.label(body), names, n=1, cutoff=0.6)
        if close:
            return f"; did you mean {close[0]!r}?"
        return f" ({spec.noun}s: {', '.join(names)})" if names else ""


def _is_replace(over: Any) -> bool:
    return isinstance(over, Mapping) and set(over) == {"replace"} and isinstance(
        over["replace"], list | Mapping)


def _same(spec: KeyedList, item: Mapping[str, Any], key: tuple[Any, ...]) -> bool:
    if key[0] == "id":
        return spec.key_of(item) == key
    return spec.natural_key(item) == key


def _key_words(spec: KeyedList) -> str:
    words = " and ".join(spec.key) if len(spec.key) < 3 else "specialty, days and start"
    return f"its {spec.id_field} or {words}" if spec.id_field else f"its {words}"


def _missing_key(spec: KeyedList, body: Mapping[str, Any]) -> str:
    gone = [f for f in spec.key if f not in body and f != "days"]
    return ", ".join(gone)


def merge_overlay(base: Mapping[str, Any], over: Mapping[str, Any], *,
                  base_lines: Mapping[Loc, int] | None = None,
                  base_owner: Mapping[Loc, str] | None = None,
                  over_lines: Mapping[Loc, int] | None = None, over_source: str = ""
                  ) -> tuple[dict[str, Any], dict[Loc, int], dict[Loc, str]]:
    """``over`` laid on ``base``; the merged data, its field lines and the file of each.

    Raises ``OverlayError`` (paths in ``over``) for items that cannot be matched, removed or
    added, before anything is validated, so one bad key gives one problem.
    """
    m = _Merge(_Lines(base_lines or {}, base_owner or {}), _Lines(over_lines or {}, over_source))
    merged = m.merge(base, over, (), (), (), "")
    if m.problems:
        raise OverlayError(m.problems)
    return merged, m.lines, m.owner


# --------------------------------------------------------------------------- --set paths

@dataclass(frozen=True)
class Select:
    """``[text]`` in a ``--set`` path: a keyed list item named by its key."""

    text: str


_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)|(\.)")


def parse_path(dotted: str) -> list[str | int | Select]:
    """``hubs[igmc_shimla].doctors.cardiology`` -> ``['hubs', Select(..), 'doctors', ...]``.

    A dotted number is a list index (``hubs.0.roster``); brackets name an item by its key.
    """
    parts: list[str | int | Select] = []
    pos = 0
    while pos < len(dotted):
        m = _TOKEN.match(dotted, pos)
        if m is None:
            raise OverlayError([((), f"cannot read the path {dotted!r} at {dotted[pos:]!r}")])
        sel, name, _ = m.groups()
        if sel is not None:
            parts.append(Select(sel.strip()))
        elif name is not None:
            parts.append(int(name) if name.isdigit() else name)
        pos = m.end()
    if not parts:
        raise OverlayError([((), "empty path")])
    return parts


def _path_text(parts: Sequence[str | int | Select]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, Select):
            out += f"[{p.text}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set one ``--set`` path in a scenario's data, in place.

    Brackets name a keyed item; a bracketed item as the last part takes a mapping (merged
    into the item, or a new item with that key), or ``remove`` to delete it.
    """
    parts = parse_path(dotted)
    node: Any = data
    loc: Loc = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        shown = _path_text(parts[: i + 1])
        if isinstance(part, Select):
            spec = keyed_list_at(loc)
            if spec is None or not isinstance(node, list):
                raise OverlayError([((), f"{_path_text(parts[:i]) or 'the scenario'} is not a "
                                     "list addressed by key (those are hubs[ID], "
                                     "spokes.districts[NAME] and hubs[ID].roster[ID or "
                                     "SPECIALTY DAYS START])")])
            keys = spec.selector(part.text)
            if last:
                body = _row_value(value, keys, shown, spec)
                node[:] = _apply_one(node, body, spec, loc)
                return
            key = spec.key_of(keys)
            hits = [n for n, it in enumerate(node) if isinstance(it, Mapping) and key is not None
                    and _same(spec, it, key)]
            if len(hits) != 1:
                what = (f"{len(hits)} {spec.noun}s match" if hits else f"no {spec.noun}")
                raise OverlayError([((), f"{what} {part.text!r} in {_path_text(parts[:i])}"
                                     + _Merge._hint(spec, keys, node))])
            node, loc = node[hits[0]], (*loc, hits[0])
            continue
        if last:
            if isinstance(node, list) and isinstance(part, int) and part >= len(node):
                raise OverlayError([((shown,), "index out of range")])
            if isinstance(node, dict) and isinstance(part, str):
                node[part] = value
            elif isinstance(node, list) and isinstance(part, int):
                node[part] = value
            else:
                kind = "a list (name an item)" if isinstance(node, list) else "a single value"
                raise OverlayError([((shown,), f"no such field: {_path_text(parts[:i])} is "
                                     f"{kind}")])
            return
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise OverlayError([((shown,), f"no such field (in override {dotted!r})")]
                               ) from None
        if node is None:
            raise OverlayError([((shown,), "is not set in the scenario, so it has no fields")])
        loc = (*loc, part)


def _row_value(value: Any, keys: dict[str, Any], shown: str, spec: KeyedList) -> dict[str, Any]:
    if value == "remove":
        return {**keys, "remove": True}
    if not isinstance(value, Mapping):
        raise OverlayError([((), f"{shown} is a {spec.noun}: give a mapping of its fields "
                             f"(merged in, or a new {spec.noun}) or 'remove', got {value!r}")])
    return {**keys, **value}


def _apply_one(items: list[Any], body: dict[str, Any], spec: KeyedList, loc: Loc
               ) -> list[Any]:
    """``items`` with one overlay item laid on them (the ``--set`` row form)."""
    m = _Merge(_Lines({}, {}), _Lines({}, ""))
    out = m.merge_list(items, [body], spec, loc, (), loc, "")
    if m.problems:
        raise OverlayError([((), msg) for _, msg in m.problems])
    return out


def keyed_loc(data: Mapping[str, Any], loc: Loc) -> str:
    """A field path with keyed list items named by key: ``hubs[igmc_shimla].doctors``."""
    out = ""
    node: Any = data
    here: Loc = ()
    for part in loc:
        spec = keyed_list_at(here)
        if isinstance(part, int):
            if spec is not None and isinstance(node, list) and part < len(node) and isinstance(
                    node[part], Mapping):
                out += f"[{spec.label(node[part])}]"
            else:
                out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        here = (*here, part)
    return out


_INDEXED = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def keyed_path(data: Mapping[str, Any], path: str) -> str:
    """``hubs[0].roster[5].doctors`` of ``data`` as ``hubs[igmc_shimla].roster[...].doctors``."""
    loc: Loc = tuple(int(i) if i else name for i, name in _INDEXED.findall(path))
    return keyed_loc(data, loc)
