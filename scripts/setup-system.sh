#!/usr/bin/env bash
# Installs the system packages the test suite needs, when they are missing:
# Debian's PostgreSQL server (the tests start a throwaway cluster of their own).
set -euo pipefail

find_pg_bin() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

if find_pg_bin >/dev/null; then
  echo "setup: PostgreSQL server found in $(find_pg_bin)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: PostgreSQL server is missing; run 'sudo apt-get install postgresql' and retry" >&2
  exit 1
fi

echo "setup: installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
find_pg_bin >/dev/null || { echo "setup: postgresql installed but initdb not found" >&2; exit 1; }
echo "setup: PostgreSQL server installed in $(find_pg_bin)"
