import sim, numpy as np
from sim.staffing.problem import build_pools
from sim.staffing.evaluate import run_values
plan = sim.load_scenario('/tmp/staff2/plan.yaml')
ps = build_pools(sim.load_scenario('scenarios/himachal-baseline.yaml'))
for off in (0, 20, 40, 1000, 1_000_000, 5_000_000):
    v=[]
    for i in range(15):
        vals = run_values(plan, plan.seed, off+i, ps)
        v.append(np.mean([x[2] for x in vals if x[0]=='abandonment-5pct' and 'cardiology' in x[1]]))
    print(off, np.mean(v))
