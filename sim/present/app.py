"""The planner's web app (Streamlit): ``hubsim app`` serves this script.

Open a bundled or uploaded scenario, see its hubs, rosters and demand, edit doctors on
duty per hub x specialty x session, run paired replications of the edited plan against
the base, read the breach table and the comparison, download the plan, the workbook and
the report. Every step calls ``sim.present.planner`` (the same API as the CLI); every
edit lives in this browser session's ``st.session_state``, so two tabs never share edits.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from sim.present import planner
from sim.scenario.loader import ScenarioError

SHARE_MEASURES = ("share_within", "share_by_next_session", "abandonment")


def _problems(exc: ScenarioError) -> None:
    """A scenario's problems as the CLI prints them: file, line, field, problem."""
    st.error("The scenario has problems; nothing was run.")
    st.code(exc.render(), language=None)


def _session() -> dict[str, Any]:
    """The browser session's own state (scenarios folder, choice and last run)."""
    ss = st.session_state
    if "space" not in ss:
        ss["space"] = str(planner.workspace(Path(tempfile.mkdtemp(prefix="hubsim-app-"))))
        ss["run"] = None
        ss["generation"] = 0
    return ss  # type: ignore[return-value]


def _choose(ss: dict[str, Any]) -> str | None:
    """The sidebar: a bundled scenario or an upload; returns its name in the workspace."""
    space = Path(ss["space"])
    st.sidebar.header("Scenario")
    names = planner.bundled_scenarios(space)
    pick = st.sidebar.selectbox("Bundled scenario", names, key="bundled")
    up = st.sidebar.file_uploader("... or upload a scenario or plan (YAML)", type=["yaml", "yml"],
                                  key="upload")
    if up is not None:
        try:
            return planner.save_upload(space, up.name, up.getvalue())
        except ScenarioError as exc:
            _problems(exc)
            return None
    return str(pick)


def _show_network(sc: Any) -> None:
    st.subheader("Network")
    st.caption(f"{len(sc.hubs)} hubs, {len(sc.specialties)} specialties, "
               f"{len(sc.spokes.districts)} districts; {sc.calendar.horizon_days} days "
               f"from a {sc.calendar.start_weekday}, the first {sc.calendar.warmup_days:g} "
               "warm-up.")
    with st.expander("Hubs and registered doctors", expanded=False):
        st.dataframe(planner.hubs_table(sc), hide_index=True)
    with st.expander("Demand (mean requests per open day)", expanded=False):
        st.dataframe(planner.demand_table(sc), hide_index=True,
                     column_config={"share": st.column_config.NumberColumn(format="%.3f"),
                                    "requests per open day": st.column_config.NumberColumn(
                                        format="%.1f")})


def _edit_duty(ss: dict[str, Any], source: str, sc: Any) -> Any:
    st.subheader("Doctors on duty")
    st.caption("Edit the **on duty** column: doctors of that specialty on tele-duty in that "
               "session (0 removes the session). A hub cannot put more doctors on duty than "
               "it has registered.")
    table = planner.duty_table(sc)
    disabled = [c for c in table.columns if c != "on duty"]
    return st.container(key="duty").data_editor(
        table, key=f"duty-{source}-{ss['generation']}", hide_index=True, disabled=disabled,
        column_config={"on duty": st.column_config.NumberColumn(min_value=0, step=1)},
        use_container_width=True, height=38 + 35 * len(table))


def _breach_view(standards: Any) -> tuple[Any, dict[str, int]]:
    """The plan's standards not met (breached, then not settled, worst first), shares in %.

    Also the count of each verdict over all the plan's rows.
    """
    plan = standards[standards["plan"] == planner.PLAN_LABEL] if "plan" in standards \
        else standards
    counts = {str(k): int(v) for k, v in plan["verdict"].value_counts().items()}
    rank = {"breached": 0, "not settled": 1}
    plan = plan[plan["verdict"].isin(list(rank))]
    plan = plan.assign(_r=plan["verdict"].map(rank)).sort_values(
        ["_r", "relative_gap"], ascending=[True, False], kind="stable")
    cols = ["standard", "group", "target", "mean", "ci_low", "ci_high", "verdict", "gap",
            "unit", "change"]
    view = plan[cols].copy()
    share = plan["measure"].isin(SHARE_MEASURES).to_numpy()
    for c in ("target", "mean", "ci_low", "ci_high", "change"):
        view[c] = [("" if v != v else f"{v:.1%}" if s else f"{v:,.1f}")
                   for v, s in zip(view[c], share, strict=True)]
    view["gap"] = [f"{v:,.1f}" if v == v else "" for v in view["gap"]]
    return view, counts


def _numbers(df: Any) -> Any:
    """Numbers as short text (4 significant digits), so a table reads at a glance."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = [f"{v:,.4g}" if v == v else "" for v in out[c]]
    return out


def _run(ss: dict[str, Any], base: Any, edited: Any, source: str) -> None:
    st.subheader("Run")
    c1, c2, c3 = st.columns(3)
    reps = int(c1.number_input("Replications", min_value=2, max_value=50, value=5, step=1,
                               key="reps"))
    days = int(c2.number_input("Days simulated", min_value=1, max_value=3660,
                               value=int(base.calendar.horizon_days), step=1, key="days"))
    seed = int(c3.number_input("Root seed", min_value=0, value=int(base.seed), step=1,
                               key="seed"))
    if not st.button("Run base and edited plan", type="primary", key="run-button"):
        return
    try:
        plan = planner.apply_duty(base, edited)
    except ScenarioError as exc:
        _problems(exc)
        return
    total = 2 * reps
    bar = st.progress(0.0, text=f"0 of {total} runs")

    def report(done: int) -> None:
        bar.progress(min(done / total, 1.0), text=f"{done} of {total} runs")

    out = Path(ss["space"]).parent / "run"
    try:
        result = planner.run_plan(base, plan, reps, out, report, days=days, seed=seed)
    except ScenarioError as exc:
        _problems(exc)
        return
    ss["run"] = {"out": str(out), "comparison": result.comparison, "source": source,
                 "changes": planner.changes(base, plan),
                 "overlay": planner.plan_overlay(base, plan, source), "report": None,
                 "standards": planner.standards_of(out), "reps": reps, "days": days}
    bar.progress(1.0, text=f"{total} of {total} runs done")


def _staff(ss: dict[str, Any], base: Any, source: str) -> None:
    """The staff button: ``hubsim staff`` on the base, its plan to download."""
    st.subheader("Staffing")
    st.caption("Search the fewest doctor-hours a week that meet the scenario's standards "
               "(as `hubsim staff`), verified on fresh seeds; uses the replications, days and "
               "seed above. It runs many candidate rosters, so it takes minutes.")
    if st.button("Find the fewest doctor-hours (hubsim staff)", key="staff-button"):
        try:
            with st.spinner("Searching rosters"):
                res = planner.staff_plan(base, int(ss["reps"]), int(ss["days"]),
                                         int(ss["seed"]))
        except ValueError as exc:
            st.error(str(exc))
            return
        ss["staffed"] = {"feasible": res.feasible, "verified": res.verified,
                         "infeasible": [str(x) for x in res.infeasible],
                         "changes": planner.changes(base, res.scenario) if res.scenario
                         else [],
                         "overlay": planner.plan_overlay(base, res.scenario, source)
                         if res.scenario else None}
    found = ss.get("staffed")
    if not found:
        return
    if not found["feasible"]:
        st.warning("No roster within the registered doctors meets every standard: "
                   + "; ".join(found["infeasible"]))
    state = "verified on fresh seeds" if found["verified"] else "NOT verified on fresh seeds"
    st.markdown(f"Staffing plan ({state}): " + ("; ".join(found["changes"]) or "no change"))
    if found["overlay"]:
        st.download_button("Download the staffing plan (YAML)", found["overlay"],
                            f"{Path(source).stem}-staffed.yaml", mime="text/yaml",
                            key="dl-staff")


def _results(ss: dict[str, Any]) -> None:
    run = ss.get("run")
    if not run:
        return
    out = Path(run["out"])
    st.subheader("Results")
    st.caption(f"{run['reps']} paired replications of {run['days']} days (common random "
               "numbers). Changes: " + ("; ".join(run["changes"]) or "none"))
    st.markdown("**Service standards (edited plan), breached first**")
    if run["standards"] is None:
        st.info("This scenario sets no service standards (add a standards: list to judge it).")
    else:
        view, counts = _breach_view(run["standards"])
        box = st.container(key="breaches")
        box.caption(", ".join(f"{v} {k}" for k, v in counts.items()) + " (mean and CI over "
                   "the replications; change: plan minus base, paired)")
        if view.empty:
            box.success("No standard is breached or unsettled.")
        else:
            box.table(view.set_index("standard"))
    st.markdown("**Edited plan against the base** (difference with its paired 95% CI)")
    st.container(key="comparison").table(
        _numbers(planner.comparison_view(run["comparison"])).set_index("metric"))
    for name, fig in planner.key_figures(out).items():
        st.pyplot(fig, clear_figure=True)
        st.caption(name)
    c1, c2, c3 = st.columns(3)
    stem = Path(run["source"]).stem
    c1.download_button("Download the plan (YAML)", run["overlay"], f"{stem}-edited.yaml",
                       mime="text/yaml", key="dl-plan")
    c2.download_button("Download the workbook (Excel)", (out / "results.xlsx").read_bytes(),
                       f"{stem}-edited.xlsx", key="dl-xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if run["report"] is None:
        if c3.button("Make the report", key="report-button"):
            with st.spinner("Drawing the plots and writing the report"):
                run["report"] = str(planner.make_report(out))
            st.rerun()
    else:
        c3.download_button("Download the report (HTML)", Path(run["report"]).read_bytes(),
                           f"{stem}-edited-report.html", mime="text/html", key="dl-report")


def main() -> None:
    """The page, top to bottom; a problem with the input is shown, never raised."""
    st.set_page_config(page_title="hubsim planner", layout="wide")
    st.title("hubsim planner")
    ss = _session()
    try:
        source = _choose(ss)
        if source is None:
            return
        try:
            base = planner.load(Path(ss["space"]), source)
        except ScenarioError as exc:
            _problems(exc)
            return
        if ss.get("source") != source:
            ss["source"], ss["run"], ss["staffed"] = source, None, None
            ss["generation"] += 1
        st.caption(f"Scenario **{base.name}** ({source})" +
                   (f": {base.description}" if getattr(base, "description", "") else ""))
        _show_network(base)
        edited = _edit_duty(ss, source, base)
        _run(ss, base, edited, source)
        _results(ss)
        _staff(ss, base, source)
    except Exception as exc:  # noqa: BLE001 - the page reports it and the server stays up
        st.error(f"Something went wrong: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
