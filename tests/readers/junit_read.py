"""Reads a JUnit XML report with junitparser, a JUnit consumer, and prints it as JSON: per suite
its name and counts, per case its class name, name and result (passed, failure, error or skipped)
with the message.

Run: python3 junit_read.py FILE.xml
"""

import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        result = "passed"
        message = None
        for r in case.result:
            if isinstance(r, Error):
                result, message = "error", r.message
            elif isinstance(r, Failure) and result != "error":
                result, message = "failure", r.message
            elif isinstance(r, Skipped) and result == "passed":
                result, message = "skipped", r.message
        cases.append({"classname": case.classname, "name": case.name, "result": result, "message": message})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": suites}))
