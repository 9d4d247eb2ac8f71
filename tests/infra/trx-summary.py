#!/usr/bin/env python3
"""Adds up the TRX files that xunit v3 wrote for one test run.

Usage: trx-summary.py RESULTS_DIR [NOT_BEFORE]

Only *.trx files under RESULTS_DIR (modified at or after NOT_BEFORE, in seconds since the epoch, when
given) are read. Prints the lines of a test's
output that start with "==> " (a test's own report, e.g. the fuzz test's seed and counts), one line per failed
test ("==> FAILED <name>: <first line of the message>"), then, last, "COUNTS <passed> <failed> <skipped>
<files>". Outcomes: Passed -> passed; NotExecuted (xunit's skipped tests) -> skipped; everything else
(Failed, Error, Timeout, Aborted, ...) -> failed. A TRX file without per-test results falls back to its
<Counters> element.
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    results_dir = sys.argv[1]
    not_before = float(sys.argv[2]) if len(sys.argv) == 3 else None
    passed = failed = skipped = files = 0
    for path in sorted(glob.glob(os.path.join(results_dir, "**", "*.trx"), recursive=True)):
        if not_before is not None and os.path.getmtime(path) < not_before:
            continue
        files += 1
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            print(f"==> FAILED unreadable result file {path}: {e}")
            failed += 1
            continue
        results = root.findall(f"{NS}Results/{NS}UnitTestResult")
        if results:
            for result in results:
                for line in (result.findtext(f"{NS}Output/{NS}StdOut") or "").splitlines():
                    if line.startswith("==> "):
                        print(line)
                outcome = result.get("outcome", "")
                if outcome == "Passed":
                    passed += 1
                elif outcome == "NotExecuted":
                    skipped += 1
                else:
                    failed += 1
                    message = result.findtext(f"{NS}Output/{NS}ErrorInfo/{NS}Message") or outcome
                    first = message.strip().splitlines()[0] if message.strip() else outcome
                    print(f"==> FAILED {result.get('testName', '?')}: {first}")
        else:
            counters = root.find(f"{NS}ResultSummary/{NS}Counters")
            if counters is not None:
                c = {k: int(v) for k, v in counters.attrib.items() if v.isdigit()}
                passed += c.get("passed", 0)
                skipped += c.get("notExecuted", 0)
                failed += sum(c.get(k, 0) for k in ("failed", "error", "timeout", "aborted"))
    print(f"COUNTS {passed} {failed} {skipped} {files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
