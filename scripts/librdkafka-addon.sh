#!/usr/bin/env bash
# The native addon of @confluentinc/kafka-javascript (the Kafka adapter's client) built for another
# Node.js line. The addon is tied to one Node ABI: the install builds it for the machine's Node, and
# a user on another line gets the prebuilt binary for theirs. This machine cannot download those, so
# the Node 22/24 runs (scripts/test-node-lines.sh) build it from the installed package's sources
# with that line's headers (the official binary package ships them), linked to the librdkafka the
# install already built (the C library is the same for every Node line: only the addon is built). Cached by package version
# and ABI under ~/.cache/omnibus/librdkafka-addon.
#   usage: bash scripts/librdkafka-addon.sh NODE_DIR   → prints the .node file built for NODE_DIR/bin/node
set -euo pipefail
cd "$(dirname "$0")/.."

node_dir="$1"
node_bin="$node_dir/bin/node"
pkg="$(cd packages/kafka && node -p "require('node:path').dirname(require.resolve('@confluentinc/kafka-javascript/package.json'))")"
version="$(node -p "require('$pkg/package.json').version")"
abi="$("$node_bin" -p 'process.versions.modules')"
cache="${OMNIBUS_ADDON_CACHE:-$HOME/.cache/omnibus/librdkafka-addon}/$version-abi$abi"
addon="$cache/confluent-kafka-javascript.node"
if [[ -f "$addon" ]]; then echo "$addon"; exit 0; fi

echo "::: building the librdkafka addon $version for Node ABI $abi (once; cached)" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/node_modules/@confluentinc"
# the sources, without the install's build (its librdkafka is reused below)
(cd "$pkg" && tar cf - --exclude=./build .) | (mkdir -p "$work/node_modules/@confluentinc/kafka-javascript" && cd "$work/node_modules/@confluentinc/kafka-javascript" && tar xf -)
for dep in nan bindings; do ln -s "$(cd "$pkg/../.." && pwd)/$dep" "$work/node_modules/$dep"; done
(
  cd "$work/node_modules/@confluentinc/kafka-javascript"
  # only the addon: against the librdkafka the install built (its headers and shared libraries)
  export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" BUILD_LIBRDKAFKA=0 \
    CXXFLAGS="-I$pkg/build/deps/include/librdkafka" \
    LDFLAGS="-L$pkg/build/deps -Wl,-rpath,'\$\$ORIGIN/../deps'"
  npx --yes node-gyp@11 rebuild --nodedir "$node_dir" -j 2 >"$work/build.log" 2>&1
) || { grep -E "error|Error|cannot" "$work/build.log" | tail -n 20 >&2; echo "::: the addon build failed" >&2; exit 1; }
mkdir -p "$cache"
cp "$work/node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node" "$addon"
echo "$addon"
