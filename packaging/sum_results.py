#!/usr/bin/env python3
"""Print one 'N passed, N failed' line for a ctest log: each ctest test (one
suite program or runner of some language) counts once, from ctest's own
result lines ("Test #3: c_test_core ....   Passed")."""
import re
import sys


def main(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    passed = failed = 0
    for _name, res in re.findall(r"Test\s+#\d+: (\S+) \.+\s*(\*{3}\w+|Passed|Not Run)", text):
        if res == "Passed":
            passed += 1
        else:
            failed += 1
    print(f"suites: {passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
