#!/usr/bin/env bash
# The suites that show a Node.js line works, on Node 22 and 24 (the LTS lines users run; the full
# run is on the machine's Node): core's unit tests, the in-memory bus (unit, conformance and the
# model-based test's fixed budget), the factory (its Kafka bus on this line's build of the Kafka
# client's native addon), the NATS conformance suite, and
# require() of every package (publint, attw and the source maps read files: Node 20 checks them). The official binaries come from the npm
# registry's `node-linux-<arch>` package, cached under ~/.cache/omnibus/node/<line>.
# Reports go to a temporary directory: reports/ keeps the main run's.
#   usage: bash scripts/test-node-lines.sh [22 24 ...]   (OMNIBUS_NODE_LINES, default "22 24")
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${OMNIBUS_NODE_CACHE:-$HOME/.cache/omnibus/node}"
read -r -a LINES <<< "${*:-${OMNIBUS_NODE_LINES:-22 24}}"
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "::: no official Node.js binary package for $(uname -m)" >&2; exit 1 ;;
esac

# node_dir LINE: the cached binary's directory for that line (fetched once)
node_dir() {
  local dir="$CACHE/$1"
  if [[ ! -x "$dir/bin/node" ]]; then
    local tmp; tmp="$(mktemp -d)"
    echo "::: fetching Node.js $1 (node-linux-$ARCH@$1)" >&2
    (cd "$tmp" && npm pack "node-linux-$ARCH@$1" --silent >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$CACHE" && rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
  fi
  echo "$dir"
}

# The Kafka client's native addon is built for one Node ABI: each line gets its own
# (scripts/librdkafka-addon.sh), swapped in for that line's run and the machine's put back after.
addon_pkg="$(cd packages/kafka && node -p "require('node:path').dirname(require.resolve('@confluentinc/kafka-javascript/package.json'))")"
installed_addon="$addon_pkg/build/Release/confluent-kafka-javascript.node"
saved_addon="$(mktemp)"
cp "$installed_addon" "$saved_addon"
# rm before cp: the installed file may be a hard link into pnpm's store (writing through it would
# change every checkout's copy); a new file leaves the store alone
place_addon() { rm -f "$installed_addon" && cp "$1" "$installed_addon"; }
restore_addon() { place_addon "$saved_addon"; }
trap 'restore_addon; rm -f "$saved_addon"' EXIT

status=0
for line in "${LINES[@]}"; do
  dir="$(node_dir "$line")"
  reports="$(mktemp -d)"
  if ! line_addon="$(bash scripts/librdkafka-addon.sh "$dir")"; then
    echo "::: Node.js $line: the Kafka client's addon could not be built" >&2
    status=1
    continue
  fi
  place_addon "$line_addon"
  echo "::: Node.js $("$dir/bin/node" --version): unit, memory conformance + model, factory, NATS conformance, require() of each package"
  if ! (
    export PATH="$dir/bin:$PATH" OMNIBUS_REPORT_DIR="$reports"
    set -e
    # the four suites at once (each to its own log, printed after): the memory model is CPU work, the
    # factory's and NATS's wait on brokers and timers, so together they take about as long as the longest
    logs="$(mktemp -d)"
    suite() { # name dir command...: runs in the background, its exit code in $logs/name.rc
      local name="$1" dir="$2"; shift 2
      ( cd "$dir" && "$@" >"$logs/$name.log" 2>&1; echo $? >"$logs/$name.rc" ) &
    }
    suite core packages/core npx vitest run
    # the model test with a smaller fixed budget than pnpm test's (same seed; 300 there)
    suite memory packages/memory env OMNIBUS_MODEL_RUNS=100 npx vitest run
    suite factory packages/factory npx vitest run
    suite nats packages/nats npx vitest run test/conformance.test.ts
    wait
    failed_suites=0
    for name in core memory factory nats; do
      rc="$(cat "$logs/$name.rc" 2>/dev/null || echo 1)"
      if [[ "$rc" != 0 ]]; then cat "$logs/$name.log"; echo "::: Node.js $line: $name FAILED (exit $rc)" >&2; failed_suites=1
      else grep -E "Test Files|Tests " "$logs/$name.log" | sed "s/^/::: $name: /"; fi
    done
    rm -rf "$logs"
    ((failed_suites == 0))
    # what differs between Node lines in the package checks: require() of each package (require(esm)
    # changed in 22 and 24); publint and attw read the files, the same on every line (run on Node 20)
    for pkg in packages/*/; do (cd "$pkg" && node ../../scripts/check-require.mjs .); done
  ); then
    echo "::: Node.js $line: FAILED" >&2
    status=1
  else
    echo "::: Node.js $line: passed"
  fi
  restore_addon
  rm -rf "$reports"
done
exit "$status"
