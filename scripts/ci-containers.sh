#!/usr/bin/env bash
# CI, second pass: the integration suites against brokers in Docker (called by .ci/run after the
# README's test command; runnable on its own after `pnpm install` and a build).
#   1. a Docker engine: docker.io installed if missing (apt, as root), dockerd started if no engine
#      answers (bounded wait; published ports on 127.0.0.1 only) and stopped at the end — only the
#      dockerd this script started, by PID;
#   2. the local broker images (scripts/local-images.sh: no registry needed);
#   3. every broker's smoke test, and the Redis adapter's whole conformance suite, with NATS_URL,
#      REDIS_URL, KAFKA_BROKERS and RABBITMQ_URL unset, so each broker comes from testcontainers
#      (the first pass ran every adapter's suite on the same broker binaries; this one proves the
#      testcontainers path end to end — CONTAINERS_CONFORMANCE=all runs every adapter's here too);
#   4. docker-compose.test.yml up with the local images (`pnpm brokers:up`, bounded wait on the
#      healthchecks), the smoke tests against it, and down.
# If Docker cannot be made to work it says so in one line; under CI=true that fails the run.
# Env: DOCKERD_START_TIMEOUT (60 s), CONTAINERS_SUITE_TIMEOUT (600 s per suite).
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "::: containers: $*"; }
START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"
SUITE_TIMEOUT="${CONTAINERS_SUITE_TIMEOUT:-600}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/omnibus-ci-containers.XXXXXX")"
DOCKERD_PID=""
COMPOSE_UP=""

cleanup() {
  if [[ -n "$COMPOSE_UP" ]]; then bash scripts/brokers.sh down >/dev/null 2>&1 || true; fi
  if [[ -n "$DOCKERD_PID" ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "stopping the dockerd this run started (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

no_docker() { # one line, then fail under CI=true
  say "Docker unavailable: $* — the testcontainers and docker-compose suites did not run"
  if [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; then exit 1; fi
  exit 0
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# 1. Docker
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null || ! command -v docker-compose >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing docker.io and docker-compose (apt)"
    { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq docker.io docker-compose; } \
      >"$WORK/apt.log" 2>&1 || no_docker "apt-get install docker.io docker-compose failed ($(tail -n 1 "$WORK/apt.log"))"
  fi
fi
command -v docker >/dev/null || no_docker "the docker client is not installed (and cannot be installed here)"
if ! engine_answers; then
  command -v dockerd >/dev/null || no_docker "no Docker engine answers and dockerd is not installed"
  [[ "$(id -u)" == 0 ]] || no_docker "no Docker engine answers and starting dockerd needs root"
  say "starting dockerd (published ports on 127.0.0.1 only)"
  nohup dockerd --ip 127.0.0.1 >"${TMPDIR:-/tmp}/omnibus-ci-dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  for _ in $(seq 1 $((START_TIMEOUT * 2))); do
    engine_answers && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.5
  done
  engine_answers || no_docker "dockerd did not answer within ${START_TIMEOUT}s ($(tail -n 1 "${TMPDIR:-/tmp}/omnibus-ci-dockerd.log" 2>/dev/null))"
fi
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || no_docker "no docker compose / docker-compose"

# 2. images
t0=$SECONDS
bash scripts/local-images.sh || no_docker "scripts/local-images.sh could not build the local broker images"
say "local images ready ($((SECONDS - t0))s)"
while IFS= read -r line; do export "${line?}"; done < <(bash scripts/local-images.sh --print-env)

# the packages the suites import, built (turbo: cached after pnpm test)
npx turbo run build --filter=@omnibus/testing --filter=@omnibus/nats --filter=@omnibus/redis \
  --filter=@omnibus/kafka --filter=@omnibus/rabbitmq --output-logs=errors-only >"$WORK/build.log" 2>&1 || {
  tail -n 40 "$WORK/build.log"; say "build failed"; exit 1; }

# 3. the suites, brokers from testcontainers
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export TESTCONTAINERS_RYUK_DISABLED=true
export OMNIBUS_REPORT_DIR="$WORK/reports" # the env run's conformance reports stay the ones the table shows
failed=()
results=()
run_suite() { # label dir file [env…]
  local label="$1" dir="$2" file="$3"; shift 3
  local t=$SECONDS rc=0
  say "$label"
  (cd "$dir" && env "$@" timeout "$SUITE_TIMEOUT" npx vitest run "$file") || rc=$?
  if ((rc == 0)); then results+=("$label ok ($((SECONDS - t))s)"); else
    failed+=("$label"); results+=("$label FAILED (exit $rc, $((SECONDS - t))s)"); fi
}
unset NATS_URL REDIS_URL KAFKA_BROKERS RABBITMQ_URL
tc_containers() { docker ps -aq --no-trunc --filter label=org.testcontainers=true | sort; }
before="$(tc_containers)"
run_suite "testcontainers: broker smoke tests (nats, redis, kafka, rabbitmq)" packages/testing test/brokers.test.ts
run_suite "testcontainers: redis conformance" packages/redis test/conformance.test.ts
if [[ "${CONTAINERS_CONFORMANCE:-}" == "all" ]]; then
  run_suite "testcontainers: nats conformance" packages/nats test/conformance.test.ts
  run_suite "testcontainers: kafka conformance" packages/kafka test/conformance.test.ts
  run_suite "testcontainers: rabbitmq conformance" packages/rabbitmq test/conformance.test.ts
fi
# every container the suites started must be gone (no reaper here: the fixtures stop them)
left="$(comm -13 <(echo "$before") <(tc_containers) | tr '\n' ' ')"
left="${left% }"
[[ -z "$left" ]] || { failed+=("containers left running"); results+=("containers left running: $left"); }

# 4. docker-compose.test.yml with the local images, on spare ports (4222/6379/9092/5672 may be in use)
spare_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
export COMPOSE_PROJECT_NAME="omnibus-ci-$$"
OMNIBUS_TEST_NATS_PORT="$(spare_port)"; OMNIBUS_TEST_REDIS_PORT="$(spare_port)"; OMNIBUS_TEST_KAFKA_PORT="$(spare_port)"
OMNIBUS_TEST_RABBITMQ_PORT="$(spare_port)"
export OMNIBUS_TEST_NATS_PORT OMNIBUS_TEST_REDIS_PORT OMNIBUS_TEST_KAFKA_PORT OMNIBUS_TEST_RABBITMQ_PORT
t=$SECONDS
say "docker-compose.test.yml up (pnpm brokers:up) with the local images"
COMPOSE_UP=1
if npx pnpm -s brokers:up; then
  results+=("docker-compose: nats, redis, kafka, rabbitmq healthy ($((SECONDS - t))s)")
  run_suite "docker-compose: broker smoke tests" packages/testing test/brokers.test.ts \
    NATS_URL="nats://127.0.0.1:$OMNIBUS_TEST_NATS_PORT" REDIS_URL="redis://127.0.0.1:$OMNIBUS_TEST_REDIS_PORT" \
    KAFKA_BROKERS="127.0.0.1:$OMNIBUS_TEST_KAFKA_PORT" RABBITMQ_URL="amqp://guest:guest@127.0.0.1:$OMNIBUS_TEST_RABBITMQ_PORT"
else
  failed+=("docker-compose up"); results+=("docker-compose: not healthy ($((SECONDS - t))s)")
fi
npx pnpm -s brokers:down >/dev/null 2>&1 || { failed+=("docker-compose down"); results+=("docker-compose: down failed"); }
COMPOSE_UP=""

for r in "${results[@]}"; do say "$r"; done
if ((${#failed[@]} > 0)); then say "${#failed[@]} failed: ${failed[*]}"; exit 1; fi
say "all passed"
