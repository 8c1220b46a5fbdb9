"""The network model: one simulated run of a scenario.

``Model`` draws the arrivals and duty rosters (absence thins them), builds the network
(``sim.engine.network``), switches on the optional mechanisms the scenario asks for
(``sim.engine.mechanisms``: priorities, the PHC tier, booking, failures, follow-ups), runs
the one engine loop (``sim.engine.loop``, timed by SimPy) and gathers the records. A
scenario without mechanisms runs the loop with every hook empty.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from sim.engine.demand import Arrivals, draw_arrivals, draw_priorities
from sim.engine.loop import DTYPES, Engine
from sim.engine.mechanisms import SECTIONS, PhcTier, mechanisms_of
from sim.engine.network import Network
from sim.engine.records import NEW_DTYPES, SERVED, Records, RunResult
from sim.engine.roster import DutyTimeline, absent_timelines, all_timelines
from sim.engine.streams import SeedLike, Streams, seed_sequence
from sim.scenario.schema import Scenario


class Model:
    """One simulated run: build it from a scenario and a seed, then ``run()`` it once."""

    def __init__(self, scenario: Scenario, seed: SeedLike = None,
                 arrivals: Arrivals | None = None):
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a sim.Scenario, got {type(scenario).__name__}")
        self.scenario = scenario
        self.seed = seed_sequence(scenario.seed if seed is None else seed)
        self.streams = Streams(self.seed)
        self.arrivals = draw_arrivals(scenario, self.streams) if arrivals is None else arrivals
        self.rostered = all_timelines(scenario)
        spec_index = {spec: s for s, spec in enumerate(scenario.specialties)}
        never = DutyTimeline(np.zeros(1), np.zeros(1, int))
        for h, hub in enumerate(scenario.hubs):  # rostered, yet never on duty in this horizon:
            for x in hub.roster:  # still a queue, never served
                self.rostered.setdefault((h, spec_index[x.specialty]), never)
        self.duty = self.rostered
        self.sessions: dict[str, np.ndarray] = {}
        if scenario.absence is not None:
            self.duty, self.sessions = absent_timelines(scenario, self.rostered,
                                                        self.streams("absence"))
        self.priority: np.ndarray | None = None  # the class of each request, if any
        self.patience = self.arrivals.patience
        if scenario.priorities is not None:  # classes are drawn with the arrivals
            self.priority, self.patience = draw_priorities(scenario, self.streams,
                                                           self.arrivals)
        self._ran = False
        self.mechanisms = mechanisms_of(self)
        self.network = Network(scenario, self.duty)
        for m in self.mechanisms:
            m.extend(self.network)
        self.doctor_pool = self.network.doctor_pool

    def run(self) -> RunResult:
        """Simulate the whole horizon once and return the records."""
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another run")
        self._ran = True
        return self._run(general=False)

    def _run_realism(self) -> RunResult:
        """The run through the loop's general parts, needed or not (tests compare them).

        The general parts are the class-ordered queues and the arrival function that
        mechanisms hook into; without mechanisms they give the fast path's records.
        """
        return self._run(general=True)

    def _run(self, general: bool) -> RunResult:
        arr = self.arrivals
        mechs = self.mechanisms
        grows = any(m.adds_requests for m in mechs)
        eng = Engine(self.scenario, self.network, arr, self.patience, grows)
        eng.general = general
        eng.later = any(m.calls_later for m in mechs)
        for m in mechs:
            m.install(eng)
        eng.grow_hooks = [m.grow for m in mechs]
        eng.run()

        columns: dict[str, np.ndarray] = {}
        tables: dict[str, dict[str, np.ndarray]] = {}
        if self.sessions:
            tables["sessions"] = self.sessions
        for m in mechs:
            columns.update(m.columns())
            tables.update(m.tables())
        n = eng.n

        def col(name: str, code: str) -> np.ndarray:
            return np.frombuffer(getattr(eng, name), dtype=DTYPES[code])

        if grows:
            inputs = {"channel": col("chan", "b"), "spoke": col("spoke", "i"),
                      "spoke_type": col("stype", "b"), "district": col("dist", "h"),
                      "specialty": col("spc", "h"), "arrival": col("tm", "d")}
        else:
            inputs = {"channel": arr.channel, "spoke": arr.spoke,
                      "spoke_type": arr.spoke_type, "district": arr.district,
                      "specialty": arr.specialty, "arrival": arr.time}
        out = col("outcome", "b")
        defaults = plain_columns(inputs["arrival"], out)
        if eng.queued is not None:
            defaults["queued"] = col("queued", "d")
        if "tier" in columns:  # a request resolved by the PHC MO made no hub attempt
            defaults["attempts"] = ((out == SERVED) & (columns["tier"] != 1)).astype(
                NEW_DTYPES["attempts"])
        records = Records(
            id=np.arange(n, dtype=np.int64),
            **inputs,
            hub=col("routed", "h"),
            doctor=col("doctor", "i"),
            start=col("start", "d"),
            end=col("end", "d"),
            overtime=col("overtime", "d"),
            outcome=out,
            **{**defaults, **columns},
        )
        eng.release_views()
        phc_duty = next((m.duty for m in mechs if isinstance(m, PhcTier)), {})
        entropy = int(cast(int, self.seed.entropy))
        return RunResult(self.scenario, entropy, tuple(self.seed.spawn_key), records,
                         self.duty, self.network.doctor_names, phc_duty, tables)


def uses_mechanisms(scenario: Scenario) -> bool:
    """Whether the scenario switches on any optional mechanism of the engine loop."""
    return any(getattr(scenario, k) is not None for k in SECTIONS)


def plain_columns(arrival: np.ndarray, outcome: np.ndarray) -> dict[str, np.ndarray]:
    """The optional-mechanism columns of a run that used none of them.

    Constant columns are read-only zero-stride views of one value each (records are never
    written to) and ``queued`` is ``arrival`` itself, so the plain path pays about two
    bytes a request for them (``attempts``), not 53.
    """
    n = len(arrival)

    def const(value: float, dtype: type) -> np.ndarray:  # np.broadcast_to, without its checks
        view = np.ndarray((n,), dtype, np.asarray(value, dtype=dtype), 0, (0,))
        view.flags.writeable = False
        return view

    return {
        "priority": const(0, np.int8),
        "tier": const(0, np.int8),
        "phc_start": const(np.nan, np.float64),
        "phc_end": const(np.nan, np.float64),
        "queued": arrival,
        "slot": const(np.nan, np.float64),
        "attempts": (outcome == SERVED).astype(NEW_DTYPES["attempts"]),
        "lost_min": const(0.0, np.float64),
        "parent": const(-1, NEW_DTYPES["parent"]),
        "next_step": const(0, np.int8),
    }


def simulate(scenario: Scenario, seed: SeedLike = None) -> RunResult:
    """Run ``scenario`` once with ``seed`` (default: the scenario's own seed)."""
    return Model(scenario, seed).run()
