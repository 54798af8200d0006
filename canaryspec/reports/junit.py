"""JUnit XML from the run record: one file per feature, every selected scenario a test case.

Written by canaryspec rather than behave, so that an outcome reads the same here as everywhere
else: failed is a <failure>, broken and aborted are <error>s (never a bare "untested" case that CI
gates count as passed), skipped is <skipped> with its reason.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from canaryspec.outcomes import JUNIT_ELEMENT, Outcome
from canaryspec.reports.record import RunRecord, ScenarioRecord

JUNIT_DIR = "junit"
# XML 1.0 cannot carry most control characters (a log tail may hold some).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _testcase(scenario: ScenarioRecord) -> ET.Element:
    case = ET.Element("testcase", classname=f"{scenario.feature_file}.{scenario.feature}",
                      name=scenario.name, time=f"{scenario.seconds:.2f}",
                      status=scenario.status)
    element = JUNIT_ELEMENT[scenario.outcome]
    if element is not None:
        # A finding's root cause first: what a CI gate's one line shows.
        detail = ET.SubElement(case, element, message=_clean(scenario.message),
                               type=scenario.category_name or scenario.status)
        if element != "skipped":
            detail.text = _clean(scenario.reason)
    steps = "\n".join(f"{s['keyword']} {s['name']} ... {s['status']}" for s in scenario.steps)
    if steps:
        ET.SubElement(case, "system-out").text = _clean(steps)
    return case


def write(record: RunRecord, reports_dir: Path) -> Path:
    """Replace `<reports_dir>/junit/` with this run's files; return the directory."""
    directory = reports_dir / JUNIT_DIR
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    by_feature: dict[str, list[ScenarioRecord]] = defaultdict(list)
    for scenario in record.scenarios:
        by_feature[scenario.feature_file].append(scenario)
    if not by_feature and record.setup_error:
        # Nothing could be listed (a configuration error before behave parsed the features):
        # one broken case still tells the CI gate that this run judged nothing.
        by_feature["setup"].append(ScenarioRecord(
            "Set-up", "setup", "The canary can be set up", [], Outcome.BROKEN.value, 0.0,
            f"{record.setup_error['kind']}: {record.setup_error['message']}", "infrastructure"))
    for stem, scenarios in by_feature.items():
        count = {o: sum(s.outcome is o for s in scenarios) for o in Outcome}
        suite = ET.Element(
            "testsuite", name=f"{stem}.{scenarios[0].feature}", tests=str(len(scenarios)),
            failures=str(count[Outcome.FAILED]),
            errors=str(count[Outcome.BROKEN] + count[Outcome.ABORTED]),
            skipped=str(count[Outcome.SKIPPED]),
            time=f"{sum(s.seconds for s in scenarios):.2f}")
        suite.extend(_testcase(s) for s in scenarios)
        ET.indent(suite)
        ET.ElementTree(suite).write(directory / f"TESTS-{stem}.xml", encoding="utf-8",
                                    xml_declaration=True)
    return directory
