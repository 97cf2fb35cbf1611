#!/usr/bin/env bash
# Runs a command with moto_server (DynamoDB + Secrets Manager) on a free loopback port, then
# stops it. Installs moto into .venv/moto on first use.
#   scripts/with-moto.sh cargo test ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv/moto"
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing moto[server] into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.*'
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
log="$root/target/moto.log"
mkdir -p "$root/target"
# MOTO_PARTITION_QUERY=1 (make bench): see scripts/moto_server_bench.py.
if [ "${MOTO_PARTITION_QUERY:-0}" = 1 ]; then
  "$venv/bin/python" "$root/scripts/moto_server_bench.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
else
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
fi
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; wait $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 $moto_pid 2>/dev/null; then echo "moto_server failed to start:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
# The SDK must not look for IMDS or profiles while tests run.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$@"
