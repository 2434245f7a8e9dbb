# Shared by the scripts in scripts/: a work directory removed on exit with every process started
# there (add their pids to "pids"), the three binaries built into it, and wait_port.
#   source "$(dirname "$0")/lib.sh"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
echo "building into $work" >&2
go build -o "$work/bridge" ./cmd/bridge
go build -o "$work/loadgen" ./cmd/loadgen
go build -o "$work/nats-server" github.com/nats-io/nats-server/v2
# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most).
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
