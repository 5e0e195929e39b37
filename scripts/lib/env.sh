# Sourced by the scripts. Sets REPO, loads .env defaults without overriding the environment,
# and defines small helpers.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO

# Every KEY=VALUE of .env becomes a default: a variable already set in the environment wins.
load_env_defaults() {
  local file="${ENV_FILE:-$REPO/.env}" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    key="${line%%=*}"; value="${line#*=}"
    key="${key//[[:space:]]/}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [ -z "${!key+x}" ]; then export "$key=$value"; fi
  done < "$file"
}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for_port HOST PORT SECONDS [PID]: 0 once something accepts TCP connections there; 1 when
# the time is up; 2 as soon as process PID (if given) has exited: no use waiting for it.
wait_for_port() {
  local host=$1 port=$2 deadline=$((SECONDS + $3)) pid=${4:-}
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 2
    sleep 0.2
  done
  return 1
}

# wait_for_http URL SECONDS [PID]: 0 once the URL answers 200; 1 when the time is up; 2 as soon
# as process PID (if given) has exited.
wait_for_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" = 200 ] && return 0
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 2
    sleep 0.2
  done
  return 1
}

KAFKA_LIBS_DIR="${KAFKA_LIBS_DIR:-$REPO/.cache/kafka/libs}"
BUILD_DIR="${BUILD_DIR:-$REPO/build}"
export KAFKA_LIBS_DIR BUILD_DIR
