#!/usr/bin/env bash
# Installs the system packages knelpunt and its test suite need, when they are missing:
# Debian's PostgreSQL server (the tests start a throwaway cluster of their own),
# Graphviz (its `dot` lays out exported BPMN diagrams) and Node.js with npm (the tests read
# exported BPMN with bpmn-moddle, the parser of bpmn.io and Camunda Modeler). Then installs
# bpmn-moddle, pinned by tests/js/package-lock.json, into tests/js/node_modules; Debian's
# Chromium, which the dashboard's browser tests drive through Playwright; and a Java runtime
# for Spark (tests/spark/).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js="$repo/tests/js"

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
if command -v node >/dev/null; then
  echo "setup: Node.js found ($(command -v node), $(node --version))"
else
  missing+=(nodejs)
fi
if [ -x /usr/bin/chromium ]; then
  echo "setup: Chromium found (/usr/bin/chromium)"
else
  missing+=(chromium)
fi
if command -v npm >/dev/null; then
  echo "setup: npm found ($(command -v npm))"
else
  missing+=(npm)
fi
# Spark (engine="spark", tests/spark/) runs in a JVM: Spark 4.0 needs Java 17 or newer,
# which Debian 12's default-jre-headless is.
if command -v java >/dev/null; then
  echo "setup: Java found ($(command -v java))"
else
  missing+=(default-jre-headless)
fi

if [ ${#missing[@]} -gt 0 ]; then
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
  command -v node >/dev/null || { echo "setup: nodejs installed but node not found" >&2; exit 1; }
  command -v npm >/dev/null || { echo "setup: npm installed but npm not found" >&2; exit 1; }
  command -v java >/dev/null || { echo "setup: default-jre-headless installed but java not found" >&2; exit 1; }
  echo "setup: installed ${missing[*]}"
fi

# bpmn-moddle's XML parser (saxen) declares Node.js >= 20.12; older ones (Debian 12 ships 18)
# are used anyway, with a word.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 12) ? 0 : 1)'; then
  echo "setup: note: Node.js $(node --version) is older than the 20.12 bpmn-moddle declares" >&2
fi

# (Re)install bpmn-moddle when node_modules is missing or older than the lock file; the
# age of the install is that of npm's own record of it, node_modules/.package-lock.json.
installed="$js/node_modules/.package-lock.json"
if [ ! -f "$installed" ] || [ "$js/package-lock.json" -nt "$installed" ] \
  || [ "$js/package.json" -nt "$installed" ]; then
  echo "setup: installing bpmn-moddle into tests/js/node_modules (npm ci)"
  if ! npm ci --prefix "$js" --no-audit --no-fund --loglevel=error >/dev/null; then
    echo "setup: 'npm ci --prefix tests/js' failed; it needs the npm registry (registry.npmjs.org)" >&2
    exit 1
  fi
  touch "$installed"
else
  echo "setup: bpmn-moddle found (tests/js/node_modules)"
fi
