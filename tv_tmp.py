import math, time, numpy as np, sim
from sim.scenario.textbook import queue_scenario
from sim.scenario.loader import scenario_from_dict
from sim.staffing.problem import Target, build_pools
from sim.staffing.analytic import stationary_hourly, isa_staffing
from sim.staffing.evaluate import Evaluator
from sim.staffing.search import to_scenario
from sim.experiment.executors import open_executor

def tv_scenario(days=30):
    q = queue_scenario(40, 15/60, 40, patience_mean=60, horizon_days=days, warmup_days=2, name="sinusoid")
    d = q.model_dump(mode="json", by_alias=True)
    prof = [1 + 0.8*math.sin(2*math.pi*(h+0.5)/24) for h in range(24)]
    d["demand"]["d2d"]["hour_profile"] = prof
    d["demand"]["d2d"]["per_spoke_per_day"]["phc"] = 15*24.0
    d["staffing"] = {"sessions": {f"h{h:02d}": {"start": f"{h:02d}:00", "end": f"{h+1:02d}:00" if h<23 else "24:00"} for h in range(24)}, "days": "all"}
    return scenario_from_dict(d)
sc = tv_scenario()
t = Target("wait0", "share_within", 0.8, "at_least", within_min=0.0, hourly=True)
pools = build_pools(sc, [t]); p = pools[0]
print(p.groups, p.load[0]*60)
stat = stationary_hourly(p, [t]); print("stationary", stat, stat.sum())
with open_executor("process", 2) as ex:
    ev = Evaluator(pools, sc.seed, 20, ex)
    def run(staffing):
        cells = {(0, f"h{h:02d}"): int(staffing[h]) for h in range(24) if staffing[h] > 0}
        return ev.results(to_scenario(sc, pools, {p.key: cells}, unlimited=True))
    t0=time.perf_counter()
    s, hist = isa_staffing(p, t, run)
    print("isa", s, s.sum(), len(hist), time.perf_counter()-t0)
    for h in hist: print(list(h))
    vf = Evaluator(pools, sc.seed, 40, ex, offset=1_000_000)
    for name, st in (("stat", stat), ("isa", s)):
        cells = {(0, f"h{h:02d}"): int(st[h]) for h in range(24)}
        j = vf.judge([to_scenario(sc, pools, {p.key: cells})])[0]
        j = sorted(j, key=lambda x: x.group)
        miss = [x.group[-2:] for x in j if x.mean < 0.8]
        print(name, "misses", len(miss), miss, [round(x.mean,3) for x in j])
