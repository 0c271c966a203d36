#!/usr/bin/env bash
# docker-compose.test.yml up (waiting, bounded, until every broker's healthcheck reports healthy)
# and down — with Docker Compose v2 (`docker compose`) or Debian's docker-compose 1.29, which
# has no `--wait`.
#   scripts/brokers.sh up|down|status        (pnpm brokers:up / brokers:down)
# Env: BROKERS_UP_TIMEOUT (180 s), COMPOSE_PROJECT_NAME, and the file's own variables
#      (OMNIBUS_TEST_{NATS,REDIS,KAFKA,RABBITMQ}_IMAGE, OMNIBUS_TEST_{NATS,REDIS,KAFKA,RABBITMQ}_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."

FILE=docker-compose.test.yml
TIMEOUT="${BROKERS_UP_TIMEOUT:-180}"
SERVICES=(nats redis kafka rabbitmq)

say() { echo "[brokers] $*"; }

if docker compose version >/dev/null 2>&1; then
  compose() { docker compose -f "$FILE" "$@"; }
elif command -v docker-compose >/dev/null; then
  compose() { docker-compose -f "$FILE" "$@"; }
else
  say "neither 'docker compose' nor 'docker-compose' is installed"; exit 1
fi

health() { # service → healthy | starting | unhealthy | exited | missing
  local id; id="$(compose ps -q "$1" 2>/dev/null || true)"
  [[ -n "$id" ]] || { echo missing; return; }
  docker inspect -f '{{if .State.Running}}{{if .State.Health}}{{.State.Health.Status}}{{else}}running{{end}}{{else}}exited{{end}}' "$id" 2>/dev/null || echo missing
}

status() {
  local s all=0
  for s in "${SERVICES[@]}"; do
    local h; h="$(health "$s")"; echo "$s: $h"; [[ "$h" == healthy ]] || all=1
  done
  return "$all"
}

up() {
  compose up -d
  local deadline=$((SECONDS + TIMEOUT)) s h pending
  while :; do
    pending=()
    for s in "${SERVICES[@]}"; do
      h="$(health "$s")"
      case "$h" in
        healthy) ;;
        unhealthy|exited|missing)
          say "$s is $h; its log's tail:"; compose logs --tail=40 "$s" || true; exit 1 ;;
        *) pending+=("$s") ;;
      esac
    done
    [[ ${#pending[@]} -eq 0 ]] && break
    if ((SECONDS >= deadline)); then
      say "not healthy within ${TIMEOUT}s: ${pending[*]}"
      for s in "${pending[@]}"; do compose logs --tail=40 "$s" || true; done
      exit 1
    fi
    sleep 1
  done
  say "nats, redis, kafka and rabbitmq are healthy"
}

case "${1:-}" in
  up) up ;;
  down) compose down -v --remove-orphans ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
