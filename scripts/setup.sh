#!/usr/bin/env bash
# Idempotent set-up for a Debian 12 / Ubuntu machine: installs only what is missing, starts local
# PostgreSQL, Mosquitto and anvil when they are not already reachable, and migrates the database.
# Settings: DATABASE_URL, MQTT_URL, CHAIN_RPC_URL (defaults below); pointing them at existing
# services skips starting local ones.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run"
mkdir -p "$RUN"
export DATABASE_URL="${DATABASE_URL:-postgresql://vuonso:vuonso@127.0.0.1:5432/vuonso}"
export MQTT_URL="${MQTT_URL:-mqtt://127.0.0.1:1884}"
export CHAIN_RPC_URL="${CHAIN_RPC_URL:-http://127.0.0.1:8545}"

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

url_part() {  # url_part URL host|port|user|password|db
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, unquote
u = urlsplit(sys.argv[1]); part = sys.argv[2]
value = {"host": u.hostname or "127.0.0.1", "port": u.port or {"postgresql": 5432, "mqtt": 1883,
         "http": 80}.get(u.scheme, 0), "user": unquote(u.username or ""),
         "password": unquote(u.password or ""), "db": u.path.lstrip("/")}[part]
print(value)
PY
}

is_local() { case "$1" in 127.0.0.1|localhost|::1) return 0;; *) return 1;; esac; }
port_open() { python3 -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('$1', int('$2'))))"; }

# 1. System packages ------------------------------------------------------------------------------
install_system_packages() {
  local wanted=() pg_major
  command -v psql >/dev/null || wanted+=(postgresql postgresql-contrib)
  pg_major="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || true)"
  if [ -n "$pg_major" ] && [ ! -f "/usr/share/postgresql/$pg_major/extension/postgis.control" ]; then
    wanted+=("postgresql-$pg_major-postgis-3")
  fi
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || wanted+=(mosquitto)
  command -v mosquitto_pub >/dev/null || wanted+=(mosquitto-clients)
  command -v ogrinfo >/dev/null || wanted+=(gdal-bin)
  command -v node >/dev/null || wanted+=(nodejs)
  command -v npm >/dev/null || wanted+=(npm)
  if [ "${#wanted[@]}" -gt 0 ]; then
    say "installing system packages: ${wanted[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null
  fi
  pg_major="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  if [ ! -f "/usr/share/postgresql/$pg_major/extension/postgis.control" ]; then
    say "installing PostGIS for PostgreSQL $pg_major"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$pg_major-postgis-3" >/dev/null
  fi
}

# 2. Python virtualenv from the lock file ---------------------------------------------------------
install_python() {
  local stamp="$ROOT/.venv/.lock-hash" want
  want="$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$ROOT/.venv/bin/vuonso" ]; then
    return
  fi
  say "creating the virtualenv .venv from requirements.lock"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  [ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --upgrade pip
  "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements.lock"
  "$ROOT/.venv/bin/pip" install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
}

# 3. npm packages (anvil, map library) ------------------------------------------------------------
install_npm() {
  local stamp="$ROOT/node_modules/.lock-hash" want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  say "installing npm packages from package-lock.json"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
}

anvil_binary() { find "$ROOT/node_modules/@foundry-rs" -type f -name anvil -perm -u+x 2>/dev/null | head -1; }

# 4. PostgreSQL -----------------------------------------------------------------------------------
start_postgres() {
  local host port user password db
  host="$(url_part "$DATABASE_URL" host)"; port="$(url_part "$DATABASE_URL" port)"
  user="$(url_part "$DATABASE_URL" user)"; password="$(url_part "$DATABASE_URL" password)"
  db="$(url_part "$DATABASE_URL" db)"
  if ! pg_isready -q -h "$host" -p "$port"; then
    if ! is_local "$host"; then
      say "PostgreSQL at $host:$port is not reachable; start it or fix DATABASE_URL"; exit 1
    fi
    local version
    version="$(pg_lsclusters -h | awk -v p="$port" '$3 == p {print $1; exit}')"
    if [ -z "$version" ]; then
      version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
      say "creating PostgreSQL $version cluster 'main' on port $port"
      as_root pg_createcluster "$version" main --port "$port" >/dev/null
    fi
    say "starting PostgreSQL $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || as_root pg_ctlcluster "$version" main start
    for _ in $(seq 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
  fi
  if is_local "$host"; then
    # Create the role, the database and a PostGIS template for test databases, as the postgres
    # superuser over the local socket; skipped when they exist.
    as_root runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 \
      -v user="$user" -v password="$password" -v db="$db" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', 'vuonso_template', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'vuonso_template') \gexec
SQL
    for target in "$db" vuonso_template; do
      as_root runuser -u postgres -- psql -q -p "$port" -d "$target" -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null 2>&1 || true
    done
    as_root runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 \
      -c "UPDATE pg_database SET datistemplate = true WHERE datname = 'vuonso_template'" >/dev/null
  fi
}

# 5. Mosquitto ------------------------------------------------------------------------------------
start_mosquitto() {
  local host port dir="$RUN/mosquitto"
  host="$(url_part "$MQTT_URL" host)"; port="$(url_part "$MQTT_URL" port)"
  port_open "$host" "$port" && return
  if ! is_local "$host"; then say "MQTT broker at $host:$port is not reachable; fix MQTT_URL"; exit 1; fi
  mkdir -p "$dir"
  sed -e "s|@PORT@|$port|" -e "s|@DIR@|$dir|g" "$ROOT/deploy/mosquitto.conf.in" > "$dir/mosquitto.conf"
  if [ "$(id -u)" -eq 0 ]; then
    echo "user root" >> "$dir/mosquitto.conf"
  fi
  say "starting Mosquitto on $host:$port (config $dir/mosquitto.conf)"
  local mosquitto_bin; mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
  "$mosquitto_bin" -c "$dir/mosquitto.conf" -d
  for _ in $(seq 20); do port_open "$host" "$port" && return; sleep 0.5; done
  say "Mosquitto did not start; see $dir/mosquitto.log"; exit 1
}

# 6. anvil ----------------------------------------------------------------------------------------
start_anvil() {
  local host port bin
  host="$(url_part "$CHAIN_RPC_URL" host)"; port="$(url_part "$CHAIN_RPC_URL" port)"
  port_open "$host" "$port" && return
  if ! is_local "$host"; then say "chain RPC at $host:$port is not reachable; fix CHAIN_RPC_URL"; exit 1; fi
  bin="$(anvil_binary)"
  [ -n "$bin" ] || { say "anvil binary not found under node_modules/@foundry-rs"; exit 1; }
  say "starting anvil on $host:$port (state $RUN/anvil-state.json)"
  nohup "$bin" --host "$host" --port "$port" --chain-id 31337 --state "$RUN/anvil-state.json" \
    --state-interval 5 > "$RUN/anvil.log" 2>&1 &
  echo $! > "$RUN/anvil.pid"
  for _ in $(seq 30); do port_open "$host" "$port" && return; sleep 0.5; done
  say "anvil did not start; see $RUN/anvil.log"; exit 1
}

install_system_packages
install_python
install_npm
start_postgres
start_mosquitto
start_anvil
"$ROOT/.venv/bin/vuonso" db upgrade
say "ready: database, broker ($MQTT_URL) and chain ($CHAIN_RPC_URL)"
