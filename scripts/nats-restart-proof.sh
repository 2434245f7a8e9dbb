#!/usr/bin/env bash
# Proves the promise under a NATS outage: a steady signed load runs against the bridge while its
# nats-server process is killed and restarted; providers' retries are simulated (-retry). At the
# end every event answered 2xx must be in the stream exactly once (loadgen exits 2 otherwise).
#   scripts/nats-restart-proof.sh            RATE=2000 DURATION=30s OUTAGE=5s by default
RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
OUTAGE=${OUTAGE:-5}
source "$(dirname "$0")/lib.sh"

start_nats() { "$work/nats-server" -js -sd "$work/nats" -a 127.0.0.1 -p 4333 >/dev/null 2>&1 & nats_pid=$!; pids+=($nats_pid); }
start_nats
wait_port 4333
cat > "$work/bridge.yaml" <<YAML
http: {listen: "127.0.0.1:8080"}
nats: {url: "nats://127.0.0.1:4333", publish_timeout: 2s}
log: {level: warn, format: json}
endpoints: [{id: aghanim, provider: aghanim, secrets: [proof-secret]}]
YAML
"$work/bridge" -config "$work/bridge.yaml" 2>"$work/bridge.log" & pids+=($!)
wait_port 8080

"$work/loadgen" -secret proof-secret -rate "$RATE" -d "$DURATION" -c 64 -retry -verify-stream nats://127.0.0.1:4333 > "$work/report.txt" & load=$!
sleep 8
echo "killing nats-server (SIGKILL) for ${OUTAGE}s" >&2
kill -KILL "$nats_pid"; wait "$nats_pid" 2>/dev/null || true
sleep "$OUTAGE"
start_nats
echo "nats-server restarted" >&2
status=0
wait "$load" || status=$?
cat "$work/report.txt"
exit "$status"
