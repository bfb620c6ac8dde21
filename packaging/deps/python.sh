#!/usr/bin/env bash
# Python packages the cellardb Python tests, notebook test and benchmark use:
# pytest, nbclient, ipykernel, nbformat, pandas, tqdm, lmdb (py-lmdb), and
# setuptools/wheel to build the extension. Idempotent: pip installs only what
# is missing; one interpreter start when everything is there.
#   bash packaging/deps/python.sh        (PYTHON=python3.12 to pick an interpreter)
set -euo pipefail
PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "deps/python: $PY not found, skipping the Python packages" >&2
  exit 0
fi

# Prints the pip names of missing packages (the notebook test makes its own
# kernelspec for the running interpreter, so none needs registering).
missing="$("$PY" - <<'PYEOF'
import importlib.util
wanted = {"pytest": "pytest", "nbclient": "nbclient", "ipykernel": "ipykernel",
          "nbformat": "nbformat", "pandas": "pandas", "tqdm": "tqdm", "lmdb": "lmdb",
          "setuptools": "setuptools", "wheel": "wheel"}
print(" ".join(pip for mod, pip in wanted.items() if importlib.util.find_spec(mod) is None))
PYEOF
)"

if [ -n "$missing" ]; then
  echo "deps/python: installing $missing"
  # shellcheck disable=SC2086  # a list of package names
  if ! "$PY" -m pip install -q --disable-pip-version-check $missing; then
    # A distribution's Python that refuses pip (PEP 668): install for this user.
    echo "deps/python: retrying with --user --break-system-packages" >&2
    "$PY" -m pip install -q --disable-pip-version-check --user --break-system-packages $missing
  fi
fi
echo "deps/python: all Python packages present"
