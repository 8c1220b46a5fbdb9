"""What changed between two scenarios, in planner terms, and the overlay that makes it.

``diff_scenarios(a, b)`` walks both resolved scenarios, matching hubs, districts and roster
lines by key (``sim.scenario.overlay``), and returns one ``Change`` per difference: a
roster line added or removed, a doctor pool resized, a demand rate or a routing choice
changed. ``hubsim diff`` prints them; reports take the same rows (``change_rows``).
``as_overlay(a, b)`` is the plan file that turns ``a`` into ``b``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sim.scenario.overlay import KeyedList, Loc, clock_text, days_text, keyed_list_at
from sim.scenario.schema import Scenario

AREAS: tuple[str, ...] = ("roster", "doctors", "hubs", "demand", "routing", "districts",
                          "calendar", "queue", "specialties", "metrics", "scenario")
"""Areas in the order a planner reads them; other sections (booking, ...) follow."""


@dataclass(frozen=True)
class Change:
    """One difference: in ``area``, at ``where`` (a hub, district or channel), ``what``."""

    area: str
    where: str
    what: str
    change: str
    """``added``, ``removed`` or ``changed``."""
    before: str
    after: str
    path: str
    """The keyed ``--set`` path of the field (``hubs[igmc_shimla].doctors.cardiology``)."""


def _data(s: Scenario | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(s, Scenario):
        return s.model_dump(mode="json", by_alias=True)
    return dict(s)


def _match_key(spec: KeyedList, item: Mapping[str, Any]) -> tuple[Any, ...] | None:
    return spec.natural_key(item) if spec.id_field else spec.key_of(item)


def _pairs(spec: KeyedList, a: Sequence[Any], b: Sequence[Any]
           ) -> list[tuple[int | None, int | None]] | None:
    """Items of ``a`` and ``b`` matched by key (None: no match); None if keys repeat."""
    ka = [_match_key(spec, x) for x in a]
    kb = [_match_key(spec, x) for x in b]
    if len(set(ka)) != len(ka) or len(set(kb)) != len(kb) or None in ka or None in kb:
        return None
    where_b = {k: j for j, k in enumerate(kb)}
    out: list[tuple[int | None, int | None]] = [(i, where_b.get(k)) for i, k in enumerate(ka)]
    seen = set(where_b[k] for k in ka if k in where_b)
    out += [(None, j) for j in range(len(b)) if j not in seen]
    return out


def _walk(a: Any, b: Any, loc: Loc, text: str) -> Iterator[tuple[Loc, str, Any, Any]]:
    """(loc, keyed path, before, after) for every differing leaf; None = absent."""
    spec = keyed_list_at(loc)
    if spec is not None and isinstance(a, list) and isinstance(b, list):
        pairs = _pairs(spec, a, b)
        if pairs is not None:
            for i, j in pairs:
                if i is not None and j is not None:
                    yield from _walk(a[i], b[j], (*loc, i), f"{text}[{spec.label(a[i])}]")
                elif i is not None:
                    yield (*loc, i), f"{text}[{spec.label(a[i])}]", a[i], None
                elif j is not None:
                    yield (*loc, j), f"{text}[{spec.label(b[j])}]", None, b[j]
            return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in [*a, *(k for k in b if k not in a)]:
            sub = f"{text}.{k}" if text else str(k)
            if k not in b or k not in a:
                yield (*loc, k), sub, a.get(k), b.get(k)
            else:
                yield from _walk(a[k], b[k], (*loc, k), sub)
        return
    if a != b:
        yield loc, text, a, b


def _value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    text = str(v) if isinstance(v, str | int | bool) else json.dumps(v, separators=(", ", ": "))
    return text if len(text) <= 60 else text[:57] + "..."


_DEMAND_WORDS = {"per_spoke_per_day": "requests per {} per open day",
                 "per_day": "requests per open day from {}", "specialty_mix": "share of {}",
                 "weekday_profile": "weekday weight of {}"}


def _demand_words(rest: Sequence[str]) -> str:
    if len(rest) == 2 and rest[0] in _DEMAND_WORDS:
        return _DEMAND_WORDS[rest[0]].format(rest[1])
    if list(rest) == ["growth"]:
        return "growth (multiplier on every rate)"
    return ".".join(rest) or "demand"


def _line(item: Mapping[str, Any]) -> str:
    text = (f"{item.get('specialty')} {days_text(item.get('days', 'working'))} "
            f"{clock_text(item.get('start'))}-{clock_text(item.get('end'))}")
    return f"{text} (id {item['id']})" if item.get("id") else text


def _doctors(n: Any) -> str:
    return f"{n} doctor{'s' if n != 1 else ''}"


def _hub_text(h: Mapping[str, Any]) -> str:
    pool = sum(h.get("doctors", {}).values())
    return f"{h.get('name') or h.get('id')}: {pool} doctors, {len(h.get('roster', []))} " \
           "roster lines"


def _change(loc: Loc, path: str, before: Any, after: Any, a: Mapping[str, Any],
            b: Mapping[str, Any]) -> Change:
    kind = "added" if before is None else "removed" if after is None else "changed"
    side = b if before is None else a  # an item is named as it was, unless it is new

    def at(i: int) -> Any:
        node: Any = side
        for part in loc[:i]:
            node = node[part]
        return node

    top = str(loc[0])
    rest = [str(p) for p in loc[1:]]
    if top == "hubs" and len(loc) >= 2:
        hub = at(2)["id"]
        if len(loc) == 2:
            return Change("hubs", hub, "hub", kind, _value(before and _hub_text(before)),
                          _value(after and _hub_text(after)), path)
        if loc[2] == "roster" and len(loc) >= 4:
            line = _line(at(4))
            if len(loc) == 4:
                return Change("roster", hub, line, kind,
                              _doctors(before["doctors"]) if before else "",
                              _doctors(after["doctors"]) if after else "", path)
            return Change("roster", hub, f"{line}, {'.'.join(rest[3:])}", kind,
                          _value(before), _value(after), path)
        if loc[2] == "doctors":
            if len(loc) == 3:
                return Change("doctors", hub, "registered doctors", kind, _value(before),
                              _value(after), path)
            return Change("doctors", hub, str(loc[3]), kind, _value(before or 0),
                          _value(after or 0), path)
        return Change("hubs", hub, ".".join(rest[1:]), kind, _value(before), _value(after),
                      path)
    if loc[:2] == ("spokes", "districts") and len(loc) >= 3:
        name = at(3)["district"]
        if len(loc) == 3:
            d = before or after
            return Change("districts", name, "district", kind, "" if before is None else
                          f"{d['subcentres']} sub-centres, {d['phcs']} PHCs, home hub "
                          f"{d['home_hub']}", "" if after is None else
                          f"{d['subcentres']} sub-centres, {d['phcs']} PHCs, home hub "
                          f"{d['home_hub']}", path)
        field = ".".join(rest[2:])
        area = "routing" if field == "home_hub" else "districts"
        return Change(area, name, field.replace("home_hub", "home hub"), kind, _value(before),
                      _value(after), path)
    if top == "demand":
        where = rest[0] if rest and rest[0] in ("d2d", "opd") else ""
        return Change("demand", where, _demand_words(rest[1:] if where else rest), kind,
                      _value(before), _value(after), path)
    if top in ("name", "description", "seed"):
        return Change("scenario", "", top, kind, _value(before), _value(after), path)
    if top == "specialties" and rest:
        return Change("specialties", rest[0], ".".join(rest[1:]) or "specialty", kind,
                      _value(before), _value(after), path)
    return Change(top, "", ".".join(rest) or top, kind, _value(before), _value(after), path)


def diff_scenarios(a: Scenario | Mapping[str, Any], b: Scenario | Mapping[str, Any]
                   ) -> list[Change]:
    """Every difference from ``a`` to ``b``, roster and doctors first (``AREAS`` order)."""
    da, db = _data(a), _data(b)
    changes = [_change(loc, path, x, y, da, db) for loc, path, x, y in _walk(da, db, (), "")]
    order = {area: i for i, area in enumerate(AREAS)}
    return sorted(changes, key=lambda c: order.get(c.area, len(AREAS)))


def change_rows(changes: Sequence[Change]) -> list[dict[str, str]]:
    """The changes as table rows (area, where, what, change, before, after, path)."""
    return [asdict(c) for c in changes]


def format_changes(changes: Sequence[Change], a_name: str, b_name: str) -> str:
    """A text listing grouped by area: ``+`` added, ``-`` removed, ``~`` changed."""
    if not changes:
        return f"{b_name} is the same scenario as {a_name}"
    n = len(changes)
    out = [f"{b_name} against {a_name}: {n} change{'s' if n != 1 else ''}"]
    wide = max(len(c.where) for c in changes)
    mark = {"added": "+", "removed": "-", "changed": "~"}
    area = None
    for c in changes:
        if c.area != area:
            area = c.area
            out.append(area)
        if c.change == "changed":
            value = f"{c.before} -> {c.after}"
        else:
            value = c.after if c.change == "added" else c.before
        out.append(f"  {c.where:<{wide}}  {mark[c.change]} {c.what}" +
                   (f": {value}" if value else ""))
    return "\n".join(out)


# --------------------------------------------------------------------------- as an overlay

def _overlay(a: Any, b: Any, loc: Loc) -> Any:
    """What to lay on ``a`` to get ``b`` (``a != b``)."""
    spec = keyed_list_at(loc)
    if spec is not None and isinstance(a, list) and isinstance(b, list):
        items = _keyed_overlay(spec, a, b, loc)
        return items if items is not None else {"replace": b}
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if any(k not in b for k in a):
            return {"replace": dict(b)}
        return {k: _overlay(a.get(k), v, (*loc, k)) if k in a else v
                for k, v in b.items() if a.get(k) != v or k not in a}
    return b


def _keyed_overlay(spec: KeyedList, a: list[Any], b: list[Any], loc: Loc
                   ) -> list[Any] | None:
    pairs = _pairs(spec, a, b)
    if pairs is None:
        return None
    kept = [j for i, j in pairs if i is not None and j is not None]
    added = [j for i, j in pairs if i is None and j is not None]
    if [*kept, *added] != list(range(len(b))):
        return None  # an overlay keeps the base order and adds at the end
    out: list[Any] = []
    for i, j in pairs:
        if i is not None and (j is None or a[i] != b[j]):
            if j is not None and a[i].get(spec.id_field or "") != b[j].get(spec.id_field or ""):
                return None  # an id given or taken away: the list is given whole
            key = {f: a[i][f] for f in (*spec.key, spec.id_field) if f and f in a[i]}
            if j is None:
                out.append({**key, "remove": True})
            else:
                out.append({**key, **_overlay(a[i], b[j], (*loc, i))})
    out += [b[j] for j in added if j is not None]
    return out


def as_overlay(a: Scenario | Mapping[str, Any], b: Scenario | Mapping[str, Any]
               ) -> dict[str, Any]:
    """An overlay (without ``extends``) of only what differs, that turns ``a`` into ``b``."""
    da, db = _data(a), _data(b)
    if da == db:
        return {}
    result = _overlay(da, db, ())
    return dict(result)
