#!/usr/bin/env bash
# The SWIG bindings' extra toolchains (install-deps.sh already brings swig,
# tcl-dev and valgrind): Perl's headers for the Perl module and a JDK for the
# Java one. Idempotent: installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
perl_core="$(perl -MConfig -e 'print $Config{archlibexp}' 2>/dev/null)/CORE"
if [ ! -f "$perl_core/perl.h" ]; then
  missing+=(libperl-dev)
fi
if ! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1; then
  missing+=(default-jdk-headless)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps/swig.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
