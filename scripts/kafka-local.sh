#!/usr/bin/env bash
# Local Kafka (KRaft) without Docker: Apache's own jars, resolved with Maven
# into a cache outside git, run with the machine's Java 17. One node by default;
# a cluster is one call per node with the cluster knobs below.
#   scripts/kafka-local.sh start|stop|status|resolve   (resolve: only fetch the jars)
# Env: KAFKA_VERSION (3.9.1), KAFKA_HOME_CACHE (~/.cache/omnibus/kafka),
#      KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_START_TIMEOUT (90 s),
#      KAFKA_SASL_PLAIN (user:password: a SASL/PLAIN listener instead of PLAINTEXT),
#      KAFKA_SASL_SCRAM (user:password, with KAFKA_SASL_PLAIN: that listener also takes
#      SCRAM-SHA-256 and SCRAM-SHA-512 for this user, whose credentials are stored at format time),
#      KAFKA_SSL_CERT, KAFKA_SSL_KEY, KAFKA_SSL_CA (PEM files: server certificate, its
#      unencrypted PKCS#8 key, the CA: a TLS listener, SSL or with KAFKA_SASL_PLAIN SASL_SSL),
#      KAFKA_HEAP_OPTS (-Xms256m -Xmx512m).
# Cluster knobs (same KAFKA_CLUSTER_ID and KAFKA_QUORUM_VOTERS on every node; start
# the nodes together: none finishes starting before a quorum of controllers is up):
#      KAFKA_NODE_ID (1), KAFKA_QUORUM_VOTERS (<id>@127.0.0.1:<controller port>, comma-separated;
#      default: this node alone), KAFKA_CLUSTER_ID (default: a random one at format time),
#      KAFKA_REPLICATION_FACTOR (1: default, offsets and transaction topics),
#      KAFKA_MIN_INSYNC_REPLICAS (1).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
CACHE="${KAFKA_HOME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/omnibus/kafka}"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
NODE_ID="${KAFKA_NODE_ID:-1}"
VOTERS="${KAFKA_QUORUM_VOTERS:-$NODE_ID@127.0.0.1:$CONTROLLER_PORT}"
REPLICATION="${KAFKA_REPLICATION_FACTOR:-1}"
MIN_ISR="${KAFKA_MIN_INSYNC_REPLICAS:-1}"
read -r -a HEAP <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
LIBS="$CACHE/libs-$KAFKA_VERSION"
RUN="$CACHE/run-$PORT"
PID_FILE="$RUN/kafka.pid"
LOG="$RUN/kafka.log"

say() { echo "[kafka-local] $*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

resolve_jars() {
  if [[ -f "$LIBS/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch Kafka's jars"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run Kafka"; exit 1; }
  say "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into $LIBS"
  local work="$CACHE/resolve-$KAFKA_VERSION"
  mkdir -p "$work"
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.omnibus</groupId>
  <artifactId>kafka-local</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>1.2.25</version>
    </dependency>
  </dependencies>
</project>
POM
  rm -rf "$LIBS.tmp"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$work/mvn.log" 2>&1 || {
      say "Maven could not resolve Kafka's jars; last lines of $work/mvn.log:"; tail -n 30 "$work/mvn.log"; exit 1; }
  # Exactly one SLF4J binding: drop any other binding a transitive dependency brought.
  find "$LIBS.tmp" -name 'slf4j-*.jar' ! -name 'slf4j-api-*' ! -name 'slf4j-reload4j-*' -delete
  touch "$LIBS.tmp/.complete"
  rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"
}

write_config() {
  mkdir -p "$RUN"
  local proto=PLAINTEXT
  [[ -n "${KAFKA_SASL_PLAIN:-}" ]] && proto=SASL_PLAINTEXT
  if [[ -n "${KAFKA_SSL_CERT:-}" ]]; then
    proto=SSL
    [[ -n "${KAFKA_SASL_PLAIN:-}" ]] && proto=SASL_SSL
  fi
  if [[ -n "${KAFKA_SASL_SCRAM:-}" && -z "${KAFKA_SASL_PLAIN:-}" ]]; then
    say "KAFKA_SASL_SCRAM needs KAFKA_SASL_PLAIN (the listener's SASL and inter-broker mechanism)"; exit 1
  fi
  # the listener's name in property keys: lower case (tr, not \${x,,}: bash 3 has no case conversion)
  local listener; listener="$(printf '%s' "$proto" | tr '[:upper:]' '[:lower:]')"
  cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$VOTERS
listeners=$proto://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$proto://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=$proto:$proto,CONTROLLER:PLAINTEXT
inter.broker.listener.name=$proto
log.dirs=$RUN/data
num.partitions=1
offsets.topic.replication.factor=$REPLICATION
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=$MIN_ISR
default.replication.factor=$REPLICATION
min.insync.replicas=$MIN_ISR
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
PROPS
  if [[ -n "${KAFKA_SASL_PLAIN:-}" ]]; then
    # SASL/PLAIN with one user (KAFKA_SASL_PLAIN=user:password), for tests of credentials
    local user="${KAFKA_SASL_PLAIN%%:*}" pass="${KAFKA_SASL_PLAIN#*:}"
    cat >>"$RUN/server.properties" <<PROPS
sasl.enabled.mechanisms=PLAIN${KAFKA_SASL_SCRAM:+,SCRAM-SHA-256,SCRAM-SHA-512}
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.$listener.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$user" password="$pass" user_$user="$pass";
PROPS
    if [[ -n "${KAFKA_SASL_SCRAM:-}" ]]; then
      cat >>"$RUN/server.properties" <<PROPS
listener.name.$listener.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.$listener.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
    fi
  fi
  if [[ -n "${KAFKA_SSL_CERT:-}" ]]; then
    # a PEM keystore: the key and its certificate in one file; the CA as the truststore
    (umask 077 && cat "$KAFKA_SSL_KEY" "$KAFKA_SSL_CERT" >"$RUN/keystore.pem")
    cat >>"$RUN/server.properties" <<PROPS
ssl.keystore.type=PEM
ssl.keystore.location=$RUN/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_SSL_CA
ssl.client.auth=none
PROPS
  fi
  cat >"$RUN/log4j.properties" <<'L4J'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
L4J
}

java_cmd() {
  java "${HEAP[@]}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$RUN/log4j.properties" -cp "$LIBS/*" "$@"
}

start() {
  if pid="$(running_pid)"; then say "already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
  if port_open "$PORT"; then say "127.0.0.1:$PORT is already in use by another process; set KAFKA_PORT"; exit 1; fi
  resolve_jars
  write_config
  if [[ ! -f "$RUN/data/meta.properties" ]]; then
    rm -rf "$RUN/data"
    local cluster_id="${KAFKA_CLUSTER_ID:-}"
    [[ -n "$cluster_id" ]] || cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    local scram=()
    if [[ -n "${KAFKA_SASL_SCRAM:-}" ]]; then
      local su="${KAFKA_SASL_SCRAM%%:*}" sp="${KAFKA_SASL_SCRAM#*:}"
      scram=(--add-scram "SCRAM-SHA-256=[name=$su,password=$sp]" --add-scram "SCRAM-SHA-512=[name=$su,password=$sp]")
    fi
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN/server.properties" ${scram[@]+"${scram[@]}"} >"$RUN/format.log" 2>&1 || {
      say "formatting the KRaft storage failed:"; tail -n 20 "$RUN/format.log"; exit 1; }
  fi
  say "starting Kafka $KAFKA_VERSION node $NODE_ID on 127.0.0.1:$PORT (controller $CONTROLLER_PORT)"
  nohup java "${HEAP[@]}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$RUN/log4j.properties" -cp "$LIBS/*" \
    kafka.Kafka "$RUN/server.properties" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local pid; pid="$(cat "$PID_FILE")"
  local waited=0
  until port_open "$PORT" && grep -q "Kafka Server started" "$LOG"; do
    if ! kill -0 "$pid" 2>/dev/null; then say "Kafka exited during start-up; log tail:"; tail -n 40 "$LOG"; rm -f "$PID_FILE"; exit 1; fi
    if (( waited >= TIMEOUT * 2 )); then say "Kafka did not accept connections within ${TIMEOUT}s; log tail:"; tail -n 40 "$LOG"; stop; exit 1; fi
    sleep 0.5; waited=$((waited + 1))
  done
  say "ready (pid $pid); KAFKA_BROKERS=127.0.0.1:$PORT"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then say "not running"; rm -f "$PID_FILE"; return 0; fi
  say "stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { say "pid $pid did not stop in 30s; killing it"; kill -9 "$pid" 2>/dev/null || true; }
  rm -f "$PID_FILE"
}

status() {
  if pid="$(running_pid)"; then say "running (pid $pid) on 127.0.0.1:$PORT"; else say "not running"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  resolve) resolve_jars; say "jars in $LIBS" ;;
  *) echo "usage: $0 start|stop|status|resolve" >&2; exit 2 ;;
esac
