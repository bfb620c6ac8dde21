#!/usr/bin/env python3
"""Add up every suite's own test counts into one line 'N passed, N failed'.

Reads the JUnit file that ctest writes (--output-junit), which holds each
ctest entry's status and output, and finds in that output the closing counts of
the runner behind it: Check ("Checks: 12, Failures: 0, Errors: 0"), pytest
("3 passed, 1 failed, 2 skipped"), node --test ("# pass 3" / "# fail 0", or "\u2139 pass 3" from its spec reporter),
prove ("Files=2, Tests=40" with "Result: PASS"/"FAIL"), tcltest ("Total 10
Passed 9 Skipped 0 Failed 1"), and the plain "N passed, N failed" of the other
runners. An entry whose output shows no counts counts as one test, by its
ctest status. Prints one line per entry with -v.
"""
import re
import sys
import xml.etree.ElementTree as ET


def counts(out):
    """(passed, failed) found in a runner's output, or None."""
    m = re.findall(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
    if m:
        t = [sum(int(x[i]) for x in m) for i in range(3)]
        return t[0] - t[1] - t[2], t[1] + t[2]
    m = re.findall(r"^(?:#|\u2139) pass (\d+)\s*$", out, re.M)
    if m:
        f = re.findall(r"^(?:#|\u2139) fail (\d+)\s*$", out, re.M)
        return sum(map(int, m)), sum(map(int, f))
    m = re.findall(r"Total\s+(\d+)\s+Passed\s+(\d+)\s+Skipped\s+(\d+)\s+Failed\s+(\d+)", out)
    if m:
        return sum(int(x[1]) for x in m), sum(int(x[3]) for x in m)
    m = re.search(r"Files=\d+, Tests=(\d+)", out)
    if m:
        n = int(m.group(1))
        bad = re.search(r"Failed (\d+)/(\d+) subtests", out)
        failed = int(bad.group(1)) if bad else (0 if "Result: PASS" in out else 1)
        return n - failed, failed
    # pytest's and the plain closing lines: take the last such line
    lines = [l for l in out.splitlines() if re.search(r"\b\d+ passed\b|\b\d+ failed\b", l)]
    if lines:
        last = lines[-1]
        p = re.search(r"(\d+) passed", last)
        f = re.search(r"(\d+) failed", last)
        e = re.search(r"(\d+) errors?\b", last)
        return (int(p.group(1)) if p else 0), (int(f.group(1)) if f else 0) + (int(e.group(1)) if e else 0)
    return None


def main(argv):
    verbose = "-v" in argv
    path = [a for a in argv if a != "-v"][0]
    root = ET.parse(path).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        name = case.get("name")
        bad = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        out = "".join((e.text or "") for e in case.iter() if e.tag in ("system-out", "failure", "error"))
        c = counts(out)
        if c is None:
            c = (0, 1) if bad else ((0, 0) if skipped else (1, 0))
        elif bad and c[1] == 0:
            c = (c[0], 1)  # the runner said nothing failed, but the entry did
        if verbose:
            print(f"  {name}: {c[0]} passed, {c[1]} failed")
        passed += c[0]
        failed += c[1]
    print(f"{passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
