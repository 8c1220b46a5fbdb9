import math, time
from sim.scenario.textbook import queue_scenario
from sim.staffing import staff
from sim.staffing.problem import Target
import sim.staffing.search, sim.experiment.runner
q = queue_scenario(30, 0.25, 40, horizon_days=20, warmup_days=1, patience_mean=60)
t = Target("a", "abandonment", 0.04, "at_most")
t0 = time.perf_counter()
res = staff(q, targets=[t], replications=10, verify_replications=10)
print(time.perf_counter()-t0, res.runs)
