#!/usr/bin/env bash
# Proves store-and-forward (docs/store-and-forward.md) under a hub outage: a steady signed load runs
# against a bridge whose embedded server is a leaf of a hub nats-server process; the hub is
# killed (SIGKILL) for longer than providers retry and started again. The bridge must answer 2xx
# throughout (from its local stream), and afterwards every event answered 2xx must be on the hub
# exactly once (loadgen exits 2 otherwise).
#   scripts/edge-restart-proof.sh            RATE=1000 DURATION=40s OUTAGE=20 by default
RATE=${RATE:-1000}
DURATION=${DURATION:-40s}
OUTAGE=${OUTAGE:-20}
source "$(dirname "$0")/lib.sh"

cat > "$work/hub.conf" <<CONF
server_name: hub
listen: 127.0.0.1:4333
max_payload: 1114112
jetstream { store_dir: "$work/hub", domain: hub }
leafnodes { listen: 127.0.0.1:7433 }
CONF
start_hub() { "$work/nats-server" -c "$work/hub.conf" >/dev/null 2>&1 & hub_pid=$!; pids+=($hub_pid); }
start_hub
wait_port 4333
cat > "$work/bridge.yaml" <<YAML
http: {listen: "127.0.0.1:8080"}
nats:
  publish_timeout: 2s
  embedded:
    listen: "127.0.0.1:4334"
    store_dir: "$work/edge"
    domain: edge-0
    leaf: {url: "nats-leaf://127.0.0.1:7433", hub_domain: hub}
log: {level: warn, format: json}
endpoints: [{id: aghanim, provider: aghanim, secrets: [proof-secret]}]
YAML
"$work/bridge" -config "$work/bridge.yaml" 2>"$work/bridge.log" & pids+=($!)
wait_port 8080
"$work/bridge" hub apply -config "$work/bridge.yaml" -replicas 1 -nats nats://127.0.0.1:4333

"$work/loadgen" -secret proof-secret -rate "$RATE" -d "$DURATION" -c 64 -retry -verify-stream nats://127.0.0.1:4333 -verify-wait 3m > "$work/report.txt" & load=$!
sleep 8
echo "killing the hub (SIGKILL) for ${OUTAGE}s" >&2
kill -KILL "$hub_pid"; wait "$hub_pid" 2>/dev/null || true
sleep "$OUTAGE"
start_hub
echo "hub restarted; waiting for the load and for forwarding" >&2
status=0
wait "$load" || status=$?
cat "$work/report.txt"
"$work/bridge" check -config "$work/bridge.yaml" | sed -n '/local stream/,$p' || true
exit "$status"
