import sim
from sim.staffing.problem import build_pools
from sim.staffing.evaluate import Evaluator
from sim.experiment.executors import open_executor
base = sim.load_scenario('scenarios/himachal-baseline.yaml')
plan = sim.load_scenario('/tmp/staff2/plan.yaml')
ps = build_pools(base)
with open_executor("process", 2) as ex:
    for off in (0, 1_000_000):
        ev = Evaluator(ps, base.seed, 20, ex, offset=off, guard=1.8)
        j = ev.judge([plan])[0]
        for x in j:
            if x.group in ("igmc_shimla/cardiology", "rpgmc_tanda/gastroenterology"): print(off, x.target.id, x.group, round(x.mean,4), round(x.ci_low,4), round(x.ci_high,4), x.verdict, x.requests)
