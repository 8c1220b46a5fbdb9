"""The benchmark shapes, built as ordinary scenarios through the project's schema.

Each builder takes the number of customers wanted and picks the rates so that the
expected count over a whole number of days is exactly that number, at the stated load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.engine.demand import rate_segments, sources
from sim.engine.mechanisms import SECTIONS
from sim.engine.roster import all_timelines
from sim.scenario.loader import apply_overrides, load_scenario, scenario_from_dict
from sim.scenario.schema import Scenario
from sim.scenario.textbook import queue_scenario

ROOT = Path(__file__).resolve().parent.parent
HIMACHAL = ROOT / "scenarios" / "himachal-baseline.yaml"
REALISM = ROOT / "scenarios" / "himachal-realism.yaml"
DAY = 1440.0

SPECIALTIES = ("medicine", "cardiology", "orthopaedics", "obstetrics", "gynaecology",
               "dermatology", "neurology", "paediatrics", "gastroenterology", "psychiatry")
# Shape 2 doctors: hub A and hub B have 2 or 3 per specialty, hub C the sum of the two,
# so c runs from 2 to 6 and the three hubs hold 28 + 28 + 56 = 112 doctors.
_C_A = (3, 3, 3, 2, 3, 3, 2, 3, 3, 3)
_C_B = (3, 2, 3, 3, 3, 3, 3, 2, 3, 3)


def mm10(customers: int, rho: float = 0.85, days: int = 100, seed: int = 1) -> Scenario:
    """Shape 1: M/M/10 at load ``rho``, ``customers`` expected arrivals over ``days``."""
    lam = customers / (days * DAY)
    return queue_scenario(10, lam, rho * 10 / lam, horizon_days=days, warmup_days=0.0,
                          seed=seed, name="M/M/10")


def shape2_servers() -> list[list[int]]:
    """Doctors per hub (rows A, B, C) and specialty: 30 queues, c in 2..6, 112 in all."""
    return [list(_C_A), list(_C_B), [a + b for a, b in zip(_C_A, _C_B, strict=True)]]


def network30(customers: int, rho: float = 0.8, days: int = 30, seed: int = 1) -> Scenario:
    """Shape 2: 3 hubs x 10 specialties = 30 independent M/M/c queues at load ``rho``.

    Every queue is 24/7 with exponential consults of one common mean. Hub A's districts
    send only doctor-to-doctor requests, hub B's only OPD requests and hub C's both, with
    the D2D mix proportional to hub A's doctors and the OPD mix to hub B's; so hub C's
    arrival rate per specialty is the sum of the two and every queue runs at ``rho``.
    """
    c = shape2_servers()
    total = sum(map(sum, c))
    mean = rho * total / (customers / (days * DAY))  # consult mean giving `customers`
    d2d_rate = rho * sum(_C_A) / mean * DAY  # requests per day into hub A (and C's D2D)
    opd_rate = rho * sum(_C_B) / mean * DAY
    per_hub = 4  # districts per hub, sharing the hub's volume equally
    districts: list[dict[str, Any]] = []
    opd_per_day: dict[str, float] = {}
    for hub in ("A", "B", "C"):
        for k in range(per_hub):
            name = f"{hub}{k + 1}"
            d2d = hub in ("A", "C")
            districts.append({"district": name, "home_hub": hub, "phcs": 5 if d2d else 0})
            if hub in ("B", "C"):
                opd_per_day[name] = opd_rate / per_hub
    all_day = {"days": "all", "start": "00:00", "end": "24:00"}
    data: dict[str, Any] = {
        "name": "30 x M/M/c",
        "seed": seed,
        "calendar": {"horizon_days": days, "warmup_days": 0.0},
        "specialties": {s: {"consult": {"kind": "exponential", "mean": mean}}
                        for s in SPECIALTIES},
        "hubs": [{
            "id": hub,
            "doctors": dict(zip(SPECIALTIES, row, strict=True)),
            "roster": [{"specialty": s, **all_day, "doctors": n}
                       for s, n in zip(SPECIALTIES, row, strict=True)],
        } for hub, row in zip(("A", "B", "C"), c, strict=True)],
        "spokes": {"hours": all_day, "districts": districts},
        "demand": {
            "d2d": {"per_spoke_per_day": {"phc": d2d_rate / (per_hub * 5)},
                    "specialty_mix": {s: n / sum(_C_A) for s, n in zip(SPECIALTIES, _C_A,
                                                                       strict=True)}},
            "opd": {"per_day": opd_per_day,
                    "specialty_mix": {s: n / sum(_C_B) for s, n in zip(SPECIALTIES, _C_B,
                                                                       strict=True)}},
        },
        "routing": {"policy": "home_hub"},
    }
    return scenario_from_dict(data, source="<benchmark shape 2>")


def himachal_standin(days: int = 365) -> Scenario:
    """A Himachal-like network for when the bundled baseline is missing.

    3 hubs, 10 specialties, 112 doctors, 12 districts with 504 sub-centres and 518 PHCs,
    spokes open 09:30-16:00 Mon-Sat, about 250 requests a day: sizes from the domain
    notes, the rest assumed. Used only by the benchmarks.
    """
    hubs = {"tanda": ("Kangra", "Chamba", "Una", "Hamirpur"),
            "nerchowk": ("Mandi", "Kullu", "Lahaul-Spiti", "Bilaspur"),
            "shimla": ("Shimla", "Solan", "Sirmaur", "Kinnaur")}
    pop = {"Kangra": 1507, "Mandi": 1000, "Shimla": 813, "Solan": 577, "Sirmaur": 530,
           "Una": 521, "Chamba": 519, "Hamirpur": 454, "Kullu": 437, "Bilaspur": 382,
           "Kinnaur": 84, "Lahaul-Spiti": 32}
    total = sum(pop.values())
    districts = [{"district": d, "home_hub": h, "subcentres": max(1, round(504 * pop[d] / total)),
                  "phcs": max(1, round(518 * pop[d] / total))}
                 for h, ds in hubs.items() for d in ds]
    doctors = (4, 3, 4, 4, 3, 4, 3, 4, 3, 5)  # 37 per hub plus one extra at Shimla = 112
    mix = (0.35, 0.06, 0.08, 0.08, 0.07, 0.08, 0.05, 0.13, 0.04, 0.06)
    consult = (8, 12, 10, 10, 10, 8, 12, 9, 10, 15)
    hub_list = []
    for i, h in enumerate(hubs):
        docs = dict(zip(SPECIALTIES, doctors, strict=True))
        if i == 2:
            docs["medicine"] += 1
        hub_list.append({
            "id": h,
            "doctors": docs,
            "roster": [{"specialty": s, "days": "working", "start": "09:30", "end": "16:00",
                        "doctors": max(1, n // 2)} for s, n in docs.items()],
        })
    data: dict[str, Any] = {
        "name": "himachal stand-in",
        "seed": 2020,
        "calendar": {"horizon_days": days, "warmup_days": 0.0},
        "specialties": {s: {"consult": {"kind": "exponential", "mean": m}}
                        for s, m in zip(SPECIALTIES, consult, strict=True)},
        "hubs": hub_list,
        "spokes": {"hours": {"days": "working", "start": "09:30", "end": "16:00"},
                   "districts": districts},
        "demand": {
            "d2d": {"per_spoke_per_day": {"subcentre": 0.12, "phc": 0.36},
                    "specialty_mix": dict(zip(SPECIALTIES, mix, strict=True))},
        },
        "queue": {"patience": {"kind": "exponential", "mean": 240}},
    }
    return scenario_from_dict(data, source="<benchmark himachal stand-in>")


def himachal() -> tuple[Scenario, str]:
    """The bundled Himachal baseline (one simulated year), or the stand-in if it is missing."""
    if HIMACHAL.exists():
        sc = load_scenario(HIMACHAL)
        if sc.calendar.horizon_days != 365:
            sc = apply_overrides(sc, {"calendar.horizon_days": 365,
                                      "calendar.warmup_days": min(sc.calendar.warmup_days,
                                                                  364)})
        return sc, str(HIMACHAL.relative_to(ROOT))
    return himachal_standin(), "stand-in (benchmarks/shapes.py; the baseline file is missing)"


def realism() -> tuple[Scenario, str]:
    """The bundled Himachal scenario with every mechanism on, over one simulated year."""
    sc = apply_overrides(load_scenario(REALISM), {"calendar.horizon_days": 365})
    return sc, str(REALISM.relative_to(ROOT))


MECHANISMS = (*SECTIONS, "absence")
"""Every optional mechanism section (``absence`` thins rosters; the rest fill loop hooks)."""


def mechanism_variants(full: Scenario) -> dict[str, Scenario]:
    """``full`` without any mechanism ("plain"), with each one alone, and as it is ("all")."""
    plain = full.model_copy(update=dict.fromkeys(MECHANISMS, None))
    return {"plain": plain,
            **{k: plain.model_copy(update={k: getattr(full, k)}) for k in MECHANISMS},
            "all": full}


def hub_loads(scenario: Scenario) -> dict[str, float]:
    """Offered load of each hub: expected consult minutes over its on-duty doctor-minutes.

    Requests are counted at their district's home hub (the ``home_hub`` routing).
    """
    home = {i: scenario.hub_ids.index(d.home_hub)
            for i, d in enumerate(scenario.spokes.districts)}
    work = [0.0] * len(scenario.hubs)
    for src in sources(scenario):
        n = rate_segments(scenario, src.hours, src.profile, src.per_day).expected
        total = sum(src.mix.values())
        work[home[src.district]] += n * sum(
            p / total * scenario.specialties[s].consult.mean for s, p in src.mix.items())
    duty = [0.0] * len(scenario.hubs)
    for (h, _), tl in all_timelines(scenario).items():
        duty[h] += tl.on_duty_minutes(0.0, scenario.horizon_min)
    return {hub: w / d for hub, w, d in zip(scenario.hub_ids, work, duty, strict=True) if d}


def loaded(scenario: Scenario, rho: float = 0.85) -> tuple[Scenario, float]:
    """``scenario`` with demand grown (``demand.growth``) until its busiest hub runs at ``rho``."""
    busiest = max(hub_loads(scenario).values())
    growth = scenario.demand.growth * rho / busiest
    return apply_overrides(scenario, {"demand.growth": growth}, source="<benchmark>"), growth


def national(days: int = 30, per_day: int = 500_000, seed: int = 7) -> Scenario:
    """A national-size network: ``per_day`` requests a day for ``days`` days.

    36 hubs x 10 specialties of 24/7 M/M/10 queues (3,600 doctors), each at load 0.85,
    fed by one district per hub; the volume is what matters here, not the geography.
    """
    hubs = [f"H{k:02d}" for k in range(36)]
    c = [[10] * len(SPECIALTIES) for _ in hubs]
    total = sum(map(sum, c))
    lam = per_day / DAY
    mean = 0.85 * total / lam
    all_day = {"days": "all", "start": "00:00", "end": "24:00"}
    weight = [1 / len(hubs)] * len(hubs)
    spec_w = [1 / len(SPECIALTIES)] * len(SPECIALTIES)
    data: dict[str, Any] = {
        "name": "national",
        "seed": seed,
        "calendar": {"horizon_days": days, "warmup_days": 0.0},
        "specialties": {s: {"consult": {"kind": "exponential", "mean": mean}}
                        for s in SPECIALTIES},
        "hubs": [{"id": h, "doctors": dict(zip(SPECIALTIES, row, strict=True)),
                  "roster": [{"specialty": s, **all_day, "doctors": n}
                             for s, n in zip(SPECIALTIES, row, strict=True)]}
                 for h, row in zip(hubs, c, strict=True)],
        "spokes": {"hours": all_day,
                   "districts": [{"district": f"D{k:02d}", "home_hub": h, "phcs": 100}
                                 for k, h in enumerate(hubs)]},
        "demand": {"opd": {"per_day": {f"D{k:02d}": per_day * w for k, w in enumerate(weight)},
                           "specialty_mix": dict(zip(SPECIALTIES, spec_w, strict=True))}},
    }
    return scenario_from_dict(data, source="<benchmark national>")


def himachal_times(k: int = 10, days: int | None = None) -> Scenario:
    """The bundled baseline copied ``k`` times side by side: ``3k`` hubs, ``12k`` districts.

    Copy ``j`` renames each hub and district with a ``-j`` suffix and keeps its rosters,
    doctors, spokes and OPD volume, so the network carries ``k`` times the baseline's
    requests (``k = 10``: 30 hubs, 120 districts, the plots' scaling case).
    """
    sc, _ = himachal()
    data = sc.model_dump(mode="json", by_alias=True)
    if days is not None:
        data["calendar"]["horizon_days"] = days
        data["calendar"]["warmup_days"] = min(data["calendar"]["warmup_days"], days / 5)
        data["calendar"]["holidays"] = [d for d in data["calendar"]["holidays"]
                                        if not isinstance(d, int) or d < days]
    if k == 1:
        return scenario_from_dict(data, source="<benchmark himachal x1>")
    copies = range(1, k + 1)
    data["hubs"] = [{**h, "id": f"{h['id']}-{j}", **({"name": f"{h['name']} {j}"}
                                                    if h.get("name") else {})}
                    for j in copies for h in data["hubs"]]
    data["spokes"]["districts"] = [
        {**d, "district": f"{d['district']}-{j}", "home_hub": f"{d['home_hub']}-{j}"}
        for j in copies for d in data["spokes"]["districts"]]
    opd = data["demand"].get("opd")
    if opd:
        opd["per_day"] = {f"{d}-{j}": v for j in copies for d, v in opd["per_day"].items()}
    for s in data.get("standards") or []:
        if (s.get("where") or {}).get("hubs"):
            s["where"]["hubs"] = [f"{h}-{j}" for j in copies for h in s["where"]["hubs"]]
    data["name"] = f"himachal x{k}"
    return scenario_from_dict(data, source=f"<benchmark himachal x{k}>")
