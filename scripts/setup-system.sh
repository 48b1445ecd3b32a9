#!/usr/bin/env bash
# Installs the system packages knelpunt and its test suite need, when they are missing:
# Debian's PostgreSQL server (the tests start a throwaway cluster of their own) and
# Graphviz (its `dot` lays out exported BPMN diagrams).
set -euo pipefail

find_pg_bin() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

missing=()
if find_pg_bin >/dev/null; then
  echo "setup: PostgreSQL server found in $(find_pg_bin)"
else
  missing+=(postgresql)
fi
if command -v dot >/dev/null; then
  echo "setup: Graphviz found ($(command -v dot))"
else
  missing+=(graphviz)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing system packages; run 'sudo apt-get install ${missing[*]}' and retry" >&2
  exit 1
fi

echo "setup: installing Debian's ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
find_pg_bin >/dev/null || { echo "setup: postgresql installed but initdb not found" >&2; exit 1; }
command -v dot >/dev/null || { echo "setup: graphviz installed but dot not found" >&2; exit 1; }
echo "setup: installed ${missing[*]}"
