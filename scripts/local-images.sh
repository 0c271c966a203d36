#!/usr/bin/env bash
# Broker images built from what is installed on this machine — no image registry:
#   omnibus-local/nats:2.9      /usr/sbin/nats-server (JetStream)
#   omnibus-local/redis:7.0     redis-server + redis-cli
#   omnibus-local/kafka:3.9.1   the machine's JDK + Kafka's jars (resolved with Maven by
#                               scripts/kafka-local.sh), KRaft config written from env at start
#                               the way the official apache/kafka image does (KAFKA_* → properties)
#   omnibus-local/rabbitmq:3.10 Debian's Erlang (/usr/lib/erlang) and RabbitMQ (/usr/lib/rabbitmq),
#                               AMQP on 5672, guest allowed from outside the container, logs on
#                               stdout ("Server startup complete" when ready), like the official image
# Each rootfs is the binaries plus the libraries `ldd` lists, imported with `docker import`.
# Idempotent and cached: an image whose `omnibus.inputs` label matches the hash of its inputs
# (this script, the binaries, the JDK and jar listings) is not rebuilt.
#   scripts/local-images.sh [nats|redis|kafka|rabbitmq ...]     (default: all four)
#   scripts/local-images.sh --print-env                 the OMNIBUS_TEST_*_IMAGE lines to export
# Env: LOCAL_IMAGES_PREFIX (omnibus-local), KAFKA_VERSION (3.9.1), KAFKA_HOME_CACHE, JAVA_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX="${LOCAL_IMAGES_PREFIX:-omnibus-local}"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_CACHE="${KAFKA_HOME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/omnibus/kafka}"
NATS_IMAGE="$PREFIX/nats:2.9"
REDIS_IMAGE="$PREFIX/redis:7.0"
KAFKA_IMAGE="$PREFIX/kafka:$KAFKA_VERSION"
RABBITMQ_IMAGE="$PREFIX/rabbitmq:3.10"
SELF_HASH="$(sha256sum "$0" | cut -c1-16)"

say() { echo "[local-images] $*"; }
die() { say "$*" >&2; exit 1; }

if [[ "${1:-}" == "--print-env" ]]; then
  echo "OMNIBUS_TEST_NATS_IMAGE=$NATS_IMAGE"
  echo "OMNIBUS_TEST_REDIS_IMAGE=$REDIS_IMAGE"
  echo "OMNIBUS_TEST_KAFKA_IMAGE=$KAFKA_IMAGE"
  echo "OMNIBUS_TEST_RABBITMQ_IMAGE=$RABBITMQ_IMAGE"
  exit 0
fi

command -v docker >/dev/null || die "docker (the client) is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd first)"

find_bin() { command -v "$1" 2>/dev/null || { [[ -x "/usr/sbin/$1" ]] && echo "/usr/sbin/$1"; } || true; }

# copy_with_libs ROOT FILE... : each file at its own path (symlinks resolved) plus every library
# `ldd` lists, and the dynamic loader.
copy_with_libs() {
  local root="$1"; shift
  local f lib
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
    while read -r lib; do
      [[ -e "$root$lib" ]] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done < <(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
  done
}

# base ROOT: /bin/sh (dash), bash, the dirs and /etc files a process expects.
base_rootfs() {
  local root="$1"
  mkdir -p "$root"/{bin,etc,tmp,data,usr/local/bin,var/tmp}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  copy_with_libs "$root" "$(readlink -f /bin/sh)" "$(readlink -f /bin/bash)"
  [[ -e "$root/bin/sh" ]] || ln -s "$(readlink -f /bin/sh)" "$root/bin/sh"
  [[ -e "$root/bin/bash" ]] || ln -s "$(readlink -f /bin/bash)" "$root/bin/bash"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  mkdir -p "$root/root"
  # a minimal `wget -q -O - http://host:port/path` (what the compose healthchecks call), in bash
  cat >"$root/usr/local/bin/wget" <<'WGET'
#!/bin/bash
# minimal wget for healthchecks: wget [-q] [-O -] http://host:port/path ; exit 0 on HTTP 2xx
url=""; for a in "$@"; do case "$a" in http://*) url="$a" ;; esac; done
[[ -n "$url" ]] || { echo "usage: wget -q -O - http://host:port/path" >&2; exit 2; }
rest="${url#http://}"; hostport="${rest%%/*}"; path="/${rest#*/}"; [[ "$rest" == */* ]] || path=/
host="${hostport%%:*}"; port="${hostport##*:}"; [[ "$hostport" == *:* ]] || port=80
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
read -r -t 5 _ code _ <&3 || exit 1
while IFS= read -r -t 5 line <&3 || [[ -n "$line" ]]; do printf '%s\n' "$line"; done; [[ "$code" == 2* ]]
WGET
  chmod +x "$root/usr/local/bin/wget"
}

# inputs_hash FILE... : content hash of small files, size+mtime listing of the rest
inputs_hash() {
  { echo "$SELF_HASH"; for f in "$@"; do
      if [[ -d "$f" ]]; then find -L "$f" -type f -printf '%P %s %T@\n' | sort; else sha256sum "$(readlink -f "$f")"; fi
    done; } | sha256sum | cut -c1-16
}

image_current() { # image hash
  [[ "$(docker image inspect -f '{{index .Config.Labels "omnibus.inputs"}}' "$1" 2>/dev/null || true)" == "$2" ]]
}

# import ROOT IMAGE HASH --change... : tar the rootfs and `docker import` it
import_rootfs() {
  local root="$1" image="$2" hash="$3"; shift 3
  say "importing $image ($(du -sh "$root" | cut -f1))"
  local old; old="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
  tar -C "$root" --numeric-owner -cf - . | docker import --change "LABEL omnibus.inputs=$hash" "$@" - "$image" >/dev/null
  # the previous build of this tag, now untagged, is ours to remove
  [[ -n "$old" && "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]] && docker rmi "$old" >/dev/null 2>&1 || true
  say "built $image"
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/omnibus-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

build_nats() {
  local bin; bin="$(find_bin nats-server)"; [[ -n "$bin" ]] || die "nats-server is not installed"
  local hash; hash="$(inputs_hash "$bin" /bin/sh /bin/bash)"
  if image_current "$NATS_IMAGE" "$hash"; then say "$NATS_IMAGE is up to date"; return; fi
  local root="$WORK/nats"
  base_rootfs "$root"
  copy_with_libs "$root" "$(readlink -f "$bin")"
  ln -sf "$(readlink -f "$bin")" "$root/usr/local/bin/nats-server"
  # like the official image's entrypoint: arguments starting with '-' are nats-server's
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- nats-server "$@"; fi
exec "$@"
SH
  chmod +x "$root/usr/local/bin/docker-entrypoint.sh"
  import_rootfs "$root" "$NATS_IMAGE" "$hash" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'EXPOSE 4222 8222 6222' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["nats-server", "-js"]'
}

build_redis() {
  local server cli; server="$(find_bin redis-server)"; cli="$(find_bin redis-cli)"
  [[ -n "$server" && -n "$cli" ]] || die "redis-server and redis-cli must be installed"
  local hash; hash="$(inputs_hash "$server" "$cli" /bin/sh /bin/bash)"
  if image_current "$REDIS_IMAGE" "$hash"; then say "$REDIS_IMAGE is up to date"; return; fi
  local root="$WORK/redis"
  base_rootfs "$root"
  # Debian's redis-server is a link to redis-check-rdb: redis picks its mode from argv[0],
  # so the copy must be named redis-server
  copy_with_libs "$root" "$(readlink -f "$server")" "$(readlink -f "$cli")"
  cp -L "$server" "$root/usr/local/bin/redis-server"
  ln -sf "$(readlink -f "$cli")" "$root/usr/local/bin/redis-cli"
  # like the official image: '-…' arguments are redis-server's; without a config file the
  # server runs with protected mode off (clients come through Docker's bridge, not loopback)
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then
  case "${2:-}" in *.conf) ;; *) set -- "$@" --protected-mode no ;; esac
fi
cd /data
exec "$@"
SH
  chmod +x "$root/usr/local/bin/docker-entrypoint.sh"
  import_rootfs "$root" "$REDIS_IMAGE" "$hash" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'EXPOSE 6379' \
    --change 'WORKDIR /data' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["redis-server"]'
}

build_kafka() {
  local java_bin java_home libs
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then java_bin="$JAVA_HOME/bin/java"; else
    java_bin="$(command -v java || true)"; [[ -n "$java_bin" ]] || die "Java 17+ is required for the Kafka image"; fi
  java_bin="$(readlink -f "$java_bin")"
  java_home="$(dirname "$(dirname "$java_bin")")"
  libs="$KAFKA_CACHE/libs-$KAFKA_VERSION"
  if [[ ! -f "$libs/.complete" ]]; then
    say "resolving Kafka $KAFKA_VERSION's jars (scripts/kafka-local.sh resolve)"
    KAFKA_VERSION="$KAFKA_VERSION" KAFKA_HOME_CACHE="$KAFKA_CACHE" bash scripts/kafka-local.sh resolve
  fi
  local hash; hash="$(inputs_hash "$java_home" "$libs" /bin/sh /bin/bash)"
  if image_current "$KAFKA_IMAGE" "$hash"; then say "$KAFKA_IMAGE is up to date"; return; fi
  local root="$WORK/kafka"
  base_rootfs "$root"
  # the JDK at the official image's place, symlinks into /etc and /usr/share resolved
  mkdir -p "$root/opt/java" "$root/opt/kafka/libs" "$root/opt/kafka/bin" "$root/opt/kafka/config" "$root/etc/kafka/docker"
  cp -a "$java_home" "$root/opt/java/openjdk"
  local link target
  while read -r link; do # Debian's JDK links into /etc and /usr/share: copy what they point at
    target="$(readlink -f "$java_home/${link#"$root/opt/java/openjdk/"}" || true)"
    rm -f "$link"
    [[ -n "$target" && -e "$target" ]] && cp -rL "$target" "$link"
  done < <(find "$root/opt/java/openjdk" -type l)
  rm -rf "$root/opt/java/openjdk/"{demo,man,src.zip,jmods} 2>/dev/null || true
  local so
  while read -r so; do copy_with_libs "$root" "$so"; done < <(find "$java_home" -name '*.so' -type f)
  cp "$libs"/*.jar "$root/opt/kafka/libs/"
  cat >"$root/opt/kafka/config/log4j.properties" <<'L4J'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
L4J
  cat >"$root/opt/kafka/config/tools-log4j.properties" <<'L4J'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
L4J
  # bin/kafka-run-class.sh's essentials: the jars, the heap (KAFKA_HEAP_OPTS) and KAFKA_OPTS
  cat >"$root/opt/kafka/bin/kafka-run-class.sh" <<'SH'
#!/bin/bash
cls="$1"; shift
log4j="${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties}"
exec /opt/java/openjdk/bin/java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true} \
  $log4j ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$cls" "$@"
SH
  cat >"$root/opt/kafka/bin/kafka-broker-api-versions.sh" <<'SH'
#!/bin/bash
KAFKA_HEAP_OPTS="-Xmx128m" exec /opt/kafka/bin/kafka-run-class.sh kafka.admin.BrokerApiVersionsCommand "$@"
SH
  cat >"$root/opt/kafka/bin/kafka-storage.sh" <<'SH'
#!/bin/bash
exec /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool "$@"
SH
  cat >"$root/opt/kafka/bin/kafka-server-start.sh" <<'SH'
#!/bin/bash
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
export KAFKA_LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:/opt/kafka/config/log4j.properties}"
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$@"
SH
  # the official image's contract: every KAFKA_* variable (but the JVM ones) is a server property,
  # name lower-cased with '___' → '-', '__' → '_', '_' → '.'; CLUSTER_ID formats the storage on
  # the first start; without KAFKA_* variables, a single-node broker+controller on 9092/9093
  cat >"$root/etc/kafka/docker/run" <<'SH'
#!/bin/bash
set -euo pipefail
conf=/opt/kafka/config/server.properties
declare -A props=()
if [[ -z "${KAFKA_PROCESS_ROLES:-}" ]]; then
  props=(
    [node.id]=1 [process.roles]=broker,controller [controller.quorum.voters]=1@localhost:9093
    [listeners]=PLAINTEXT://:9092,CONTROLLER://:9093 [advertised.listeners]=PLAINTEXT://localhost:9092
    [controller.listener.names]=CONTROLLER [inter.broker.listener.name]=PLAINTEXT
    [listener.security.protocol.map]=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
    [log.dirs]=/tmp/kraft-combined-logs [num.partitions]=1
    [offsets.topic.replication.factor]=1 [transaction.state.log.replication.factor]=1
    [transaction.state.log.min.isr]=1
  )
fi
for var in $(compgen -e); do
  case "$var" in
    KAFKA_*) ;;
    *) continue ;;
  esac
  case "$var" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_DEBUG|KAFKA_VERSION|KAFKA_HOME) continue ;;
  esac
  name="${var#KAFKA_}"; name="${name,,}"
  name="${name//___/-}"; name="${name//__/@}"; name="${name//_/.}"; name="${name//@/_}"
  props[$name]="${!var}"
done
: >"$conf"
for key in "${!props[@]}"; do printf '%s=%s\n' "$key" "${props[$key]}" >>"$conf"; done
logdirs="${props[log.dirs]:-${props[log.dir]:-/tmp/kraft-combined-logs}}"
first="${logdirs%%,*}"
if [[ ! -f "$first/meta.properties" ]]; then
  cluster="${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}"
  /opt/kafka/bin/kafka-storage.sh format -t "$cluster" -c "$conf" --ignore-formatted >/tmp/format.log 2>&1 || {
    echo "formatting the KRaft storage failed:" >&2; while IFS= read -r l; do echo "$l" >&2; done </tmp/format.log; exit 1; }
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
SH
  chmod +x "$root/opt/kafka/bin/"*.sh "$root/etc/kafka/docker/run"
  import_rootfs "$root" "$KAFKA_IMAGE" "$hash" \
    --change 'ENV PATH=/opt/kafka/bin:/opt/java/openjdk/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'ENV JAVA_HOME=/opt/java/openjdk' \
    --change 'EXPOSE 9092' \
    --change 'WORKDIR /opt/kafka' \
    --change 'ENTRYPOINT ["/etc/kafka/docker/run"]'
}

build_rabbitmq() {
  local server; server="$(find_bin rabbitmq-server)"
  [[ -n "$server" && -d /usr/lib/erlang && -d /usr/lib/rabbitmq ]] \
    || die "rabbitmq-server (Debian's package: /usr/lib/rabbitmq, /usr/lib/erlang) is not installed"
  # what the start scripts call, and df (RabbitMQ's free-disk monitor)
  local tools=(dirname basename readlink expr env date sed cat uname id mkdir rm sleep head od tr hostname chmod ls df)
  local paths=() t
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || die "$t is needed for the RabbitMQ image and is not installed"
    paths+=("$(readlink -f "$(command -v "$t")")")
  done
  local hash; hash="$(inputs_hash /usr/lib/erlang /usr/lib/rabbitmq "${paths[@]}" /bin/sh /bin/bash)"
  if image_current "$RABBITMQ_IMAGE" "$hash"; then say "$RABBITMQ_IMAGE is up to date"; return; fi
  local root="$WORK/rabbitmq"
  base_rootfs "$root"
  mkdir -p "$root/usr/lib" "$root/usr/bin" "$root/etc/rabbitmq" "$root/var/lib/rabbitmq" "$root/var/log/rabbitmq"
  cp -a /usr/lib/erlang /usr/lib/rabbitmq "$root/usr/lib/"
  ln -s ../lib/erlang/bin/erl "$root/usr/bin/erl"
  ln -s ../lib/erlang/bin/epmd "$root/usr/bin/epmd"
  copy_with_libs "$root" "${paths[@]}"
  for t in "${tools[@]}"; do
    [[ -e "$root/usr/bin/$t" ]] || ln -s "$(readlink -f "$(command -v "$t")")" "$root/usr/bin/$t"
  done
  # the VM, its ports and drivers, and their libraries (crypto's libcrypto, …)
  local elf
  while read -r elf; do copy_with_libs "$root" "$elf"; done < <(
    find /usr/lib/erlang /usr/lib/rabbitmq -type f \( -name '*.so' -o -perm -u+x \) -exec sh -c 'head -c 4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
  # as the official image: AMQP on every interface, guest allowed from outside the container
  # (clients come through Docker's bridge), logs on the console, no plugins
  cat >"$root/etc/rabbitmq/rabbitmq.conf" <<'CONF'
listeners.tcp.default = 5672
loopback_users = none
log.console = true
log.console.level = info
log.file = false
CONF
  echo '[].' >"$root/etc/rabbitmq/enabled_plugins"
  printf 'NODENAME=rabbit@localhost\n' >"$root/etc/rabbitmq/rabbitmq-env.conf"
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- rabbitmq-server "$@"; fi
if [ "$1" = "rabbitmq-server" ]; then
  # (the scripts find their siblings by $0's directory: they run from /usr/lib/rabbitmq/bin, on PATH)
  # the Erlang cookie the server and rabbitmqctl (healthchecks) share, made once
  if [ ! -f "$HOME/.erlang.cookie" ]; then
    head -c 15 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$HOME/.erlang.cookie"
    chmod 400 "$HOME/.erlang.cookie"
  fi
fi
exec "$@"
SH
  chmod +x "$root/usr/local/bin/docker-entrypoint.sh"
  import_rootfs "$root" "$RABBITMQ_IMAGE" "$hash" \
    --change 'ENV PATH=/usr/local/bin:/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'ENV HOME=/var/lib/rabbitmq' \
    --change 'ENV RABBITMQ_LOGS=-' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'EXPOSE 5672' \
    --change 'WORKDIR /var/lib/rabbitmq' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["rabbitmq-server"]'
}

kinds=("$@"); [[ ${#kinds[@]} -gt 0 ]] || kinds=(nats redis kafka rabbitmq)
for kind in "${kinds[@]}"; do
  case "$kind" in
    nats) build_nats ;;
    redis) build_redis ;;
    kafka) build_kafka ;;
    rabbitmq) build_rabbitmq ;;
    *) die "unknown image '$kind' (nats, redis, kafka, rabbitmq)" ;;
  esac
done
