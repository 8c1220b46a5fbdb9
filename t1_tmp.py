import sim, time, math
from sim.scenario.textbook import queue_scenario
from sim.staffing import staff
from sim.staffing.problem import Target
from sim.analysis import theory
q = queue_scenario(20, 0.25, 40, patience_mean=60, horizon_days=20, warmup_days=1)
t = Target("p", "share_within", 0.8, "at_least", within_min=10.0)
t0=time.perf_counter()
r = staff(q, targets=[t], log=print, replications=10, verify_replications=10)
print(time.perf_counter()-t0, r.plan, r.feasible, r.verified)
print(theory.min_servers(0.25, 40, measure='share_within', target=0.8, within=10, mean_patience=60))
for j in r.verification: print(j)
