#!/usr/bin/env bash
# Python packages the cellardb Python tests, notebook test and benchmark use.
# Idempotent: pip installs only what is missing, and is quick when all is there.
#   bash packaging/deps/python.sh        (PYTHON=python3.12 to pick an interpreter)
set -euo pipefail
PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "deps/python: $PY not found, skipping the Python packages" >&2
  exit 0
fi

# import name -> pip name
mods=(pytest nbclient ipykernel nbformat pandas tqdm lmdb setuptools wheel)
pips=(pytest nbclient ipykernel nbformat pandas tqdm lmdb setuptools wheel)

missing=()
for i in "${!mods[@]}"; do
  if ! "$PY" -c "import ${mods[$i]}" >/dev/null 2>&1; then
    missing+=("${pips[$i]}")
  fi
done
# The notebook test runs the kernel named python3: make sure one is registered.
need_kernel=0
if ! "$PY" -c "import jupyter_client.kernelspec as k; k.KernelSpecManager().get_kernel_spec('python3')" >/dev/null 2>&1; then
  need_kernel=1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps/python: installing ${missing[*]}"
  "$PY" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi
if [ "$need_kernel" = 1 ] && "$PY" -c "import ipykernel" >/dev/null 2>&1; then
  "$PY" -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
fi
echo "deps/python: all Python packages present"
