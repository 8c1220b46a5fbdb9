"""Validation of the ``standards:`` section: each problem named by file, line, field and hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario.loader import ScenarioError, load_scenario
from tests.test_validation import BASE


def _load(tmp_path: Path, standards: str) -> ScenarioError:
    text = BASE + "standards:\n" + standards
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    return info.value


CASES = [
    ("  - {id: a, measure: share_whithin, target: 0.9, within_min: 30}\n",
     "standards[0].measure", "'share_within'"),
    ("  - {id: a, measure: share_within, target: 90, within_min: 30}\n",
     "standards[0].target", "fraction between 0 and 1, got 90; did you mean 0.9?"),
    ("  - {id: a, measure: abandonment, target: -0.1}\n",
     "standards[0].target", "fraction between 0 and 1"),
    ("  - {id: a, measure: wait_mean, target: 0}\n",
     "standards[0].target", "wait in minutes and must be > 0"),
    ("  - {id: a, measure: share_within, target: 0.9, within_min: 0}\n",
     "standards[0].within_min", "greater than 0"),
    ("  - {id: a, measure: share_within, target: 0.9}\n",
     "standards[0].within_min", "needs within_min"),
    ("  - {id: a, measure: wait_percentile, target: 60}\n",
     "standards[0].percentile", "needs percentile"),
    ("  - {id: a, measure: wait_percentile, target: 60, percentile: 100}\n",
     "standards[0].percentile", "less than 100"),
    ("  - {id: a, measure: wait_mean, target: 60, precentile: 90}\n",
     "standards[0].precentile", "did you mean 'percentile'?"),
    ("  - {id: a, measure: abandonment, target: 0.05, where: {specialties: [cardiolgy]}}\n",
     "standards[0].where.specialties[0]", "'cardiolgy' is not defined; did you mean 'cardiology'?"),
    ("  - {id: a, measure: abandonment, target: 0.05, where: {hubs: [shimal]}}\n",
     "standards[0].where.hubs[0]", "hub 'shimal' is not defined; did you mean 'shimla'?"),
    ("  - {id: a, measure: abandonment, target: 0.05, where: {priorities: [urgent]}}\n",
     "standards[0].where.priorities", "no priority classes"),
    ("  - {id: a, measure: abandonment, target: 0.05, by: [hub, specialy]}\n",
     "standards[0].by[1]", "'specialty'"),
    ("  - {id: a, measure: abandonment, target: 0.05, confidence: 95}\n",
     "standards[0].confidence", "less than 1"),
]


@pytest.mark.parametrize(("item", "field", "message"), CASES)
def test_bad_standard_is_named(tmp_path: Path, item: str, field: str, message: str) -> None:
    err = _load(tmp_path, item)
    assert len(err.problems) == 1, err.render()
    (pr,) = err.problems
    assert pr.path == field and message in pr.message, str(pr)
    assert pr.file.endswith("s.yaml") and pr.line == BASE.count("\n") + 2


def test_second_use_of_an_id_points_at_its_line(tmp_path: Path) -> None:
    items = ("  - {id: a, measure: abandonment, target: 0.05}\n"
             "  - {id: a, measure: wait_mean, target: 60}\n")
    (pr,) = _load(tmp_path, items).problems
    assert (pr.path, pr.line) == ("standards[1].id", BASE.count("\n") + 3)
    assert "used twice" in pr.message


def test_a_valid_standard_loads_with_its_defaults(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(BASE + "standards:\n  - {id: a, measure: share_within, target: 0.9, "
                 "within_min: 30, by: [specialty]}\n", encoding="utf-8")
    (s,) = load_scenario(p).standards
    assert (s.sense, s.group_by, s.confidence, s.where.specialties) == (
        "at_least", "specialty", 0.95, None)
