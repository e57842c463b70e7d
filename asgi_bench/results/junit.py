"""``run --junit FILE``: one JUnit test case per row, so that a CI system shows a run's
results without parsing them. A row that was measured passes, unless it missed its SLO; a
failed row fails with its reason; an unsupported one is skipped with what was observed.

>>> from asgi_bench.results.rows import Row
>>> row = Row("uvicorn", "hello", "open@300", "open", None, 300.0, "failed", "no answer", 0, 1)
>>> print(junit_xml([row], "20261201-120000"))
<?xml version='1.0' encoding='utf-8'?>
<testsuites>
  <testsuite name="asgi-bench 20261201-120000" tests="1" failures="1" skipped="0">
    <testcase classname="uvicorn.hello" name="open@300">
      <failure message="no answer" />
    </testcase>
  </testsuite>
</testsuites>
<BLANKLINE>
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from asgi_bench.results.rows import Row


def junit_xml(rows: Sequence[Row], run_id: str) -> str:
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=f"asgi-bench {run_id}")
    failures = skipped = 0
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname=f"{row.server}.{row.app}", name=row.step)
        if row.status == "unsupported":
            skipped += 1
            ET.SubElement(case, "skipped", message=row.reason)
        elif row.status != "ok":
            failures += 1
            ET.SubElement(case, "failure", message=row.reason or row.status)
        elif row.slo_pass is False:
            failures += 1
            ET.SubElement(case, "failure", message=f"SLO {row.slo} missed: {row.slo_detail}")
    suite.set("tests", str(len(rows)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
