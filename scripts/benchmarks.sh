#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: one run, one machine, the same load tool for every target.
#   scripts/benchmarks.sh            (about 2 minutes; needs free ports 8080, 8099, 4222, 4333)
# Env: DURATION (default 10s), CONNS (default 64), OUT (default BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
OUT=${OUT:-BENCHMARKS.md}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building into $work" >&2
go build -o "$work/bridge" ./cmd/bridge
go build -o "$work/loadgen" ./cmd/loadgen
go build -o "$work/nats-server" github.com/nats-io/nats-server/v2

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
# metric NAME FILE: the numbers of a loadgen text report
rate() { awk '/^requests/ {print $4}' "$1" | tr -d '/s'; }
lat()  { awk -v k="$2" '/^latency/ {for (i=1;i<=NF;i++) if ($i==k) print $(i+1)}' "$1"; }
stored() { awk '/^stream/ {for (i=1;i<=NF;i++) if ($i=="acknowledged"||$i=="missing"||$i=="duplicated") printf "%s %s ", $i, $(i+1)}' "$1"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

load() { "$work/loadgen" -c "$CONNS" -d "$DURATION" "$@"; }

# 1. Baseline: a handler that answers 204 and does nothing, served by the same load tool binary.
"$work/loadgen" -baseline-listen 127.0.0.1:8099 >/dev/null 2>&1 & pids+=($!)
wait_port 8099
load -url http://127.0.0.1:8099/ > "$work/baseline.txt"
kill "${pids[-1]}"

# 2. The bridge with its embedded server (file storage, dedup on, 2xx after PubAck).
cat > "$work/embedded.yaml" <<YAML
http: {listen: "127.0.0.1:8080"}
nats: {embedded: {listen: "127.0.0.1:4222", store_dir: "$work/data-embedded"}}
log: {level: info, format: json}
endpoints: [{id: aghanim, provider: aghanim, secrets: [demo-secret]}]
YAML
"$work/bridge" -config "$work/embedded.yaml" 2>"$work/bridge-embedded.log" & bridge=$!; pids+=($bridge)
wait_port 8080
load -verify-stream nats://127.0.0.1:4222 > "$work/embedded.txt"
# The same bridge at a steady 2,000 req/s: latency when not saturated.
load -rate 2000 -verify-stream nats://127.0.0.1:4222 > "$work/embedded-2000.txt"
rss_embedded=$(peak_rss_mb "$bridge")
kill -TERM "$bridge"; wait "$bridge" || true

# 3. The bridge against an external nats-server process.
"$work/nats-server" -js -sd "$work/data-external" -a 127.0.0.1 -p 4333 >/dev/null 2>&1 & pids+=($!)
wait_port 4333
cat > "$work/external.yaml" <<YAML
http: {listen: "127.0.0.1:8080"}
nats: {url: "nats://127.0.0.1:4333"}
log: {level: info, format: json}
endpoints: [{id: aghanim, provider: aghanim, secrets: [demo-secret]}]
YAML
"$work/bridge" -config "$work/external.yaml" 2>"$work/bridge-external.log" & bridge=$!; pids+=($bridge)
wait_port 8080
load -verify-stream nats://127.0.0.1:4333 > "$work/external.txt"
rss_external=$(peak_rss_mb "$bridge")
kill -TERM "$bridge"; wait "$bridge" || true

# 4. Raw JetStream publish rate of the same server, same message size and concurrency.
load -jetstream-publish nats://127.0.0.1:4333 > "$work/raw.txt"

# 5. The in-process pipeline: time and allocations per request.
go test ./bridge/ -run '^$' -bench 'Pipeline' -benchmem -benchtime 3s > "$work/gobench.txt"

base=$(rate "$work/baseline.txt")
ratio() { awk -v a="$1" -v b="$base" 'BEGIN {printf "%.2f×", a/b}'; }
row() { echo "| $1 | $(rate "$2") | $(lat "$2" p50) | $(lat "$2" p99) | $3 | $4 |"; }
{
  echo "# Benchmarks"
  echo
  echo "Regenerate with \`scripts/benchmarks.sh\` (one run, same machine, same load tool)."
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')),"
  echo "$(go version | cut -d' ' -f3). Load: \`loadgen -c $CONNS -d $DURATION\`, signed 1 KiB Aghanim \`player.update\` events,"
  echo "each unique; the load tool runs on the same machine. The bridge answers 2xx only after the PubAck,"
  echo "with dedup (Nats-Msg-Id) and signature checks on, JetStream file storage, request log at info (JSON)."
  echo
  echo "| target | req/s | p50 | p99 | vs baseline | notes |"
  echo "|---|---|---|---|---|---|"
  row "baseline (204, does nothing)" "$work/baseline.txt" "1.00×" ""
  row "bridge, embedded nats-server" "$work/embedded.txt" "$(ratio "$(rate "$work/embedded.txt")")" "peak RSS ${rss_embedded} MB; $(stored "$work/embedded.txt")"
  row "bridge, embedded, steady 2,000 req/s" "$work/embedded-2000.txt" "—" "latency when not saturated; $(stored "$work/embedded-2000.txt")"
  row "bridge, external nats-server" "$work/external.txt" "$(ratio "$(rate "$work/external.txt")")" "peak RSS ${rss_external} MB; $(stored "$work/external.txt")"
  row "raw JetStream publish (no HTTP)" "$work/raw.txt" "$(ratio "$(rate "$work/raw.txt")")" "PublishMsgAsync, each waits for its own ack"
  echo
  echo "In-process pipeline (\`go test ./bridge/ -bench Pipeline -benchmem\`; read → verify → map → encode →"
  echo "publish → PubAck on a real JetStream file store; the B/op and allocs/op include the benchmark's own"
  echo "request construction and signing):"
  echo
  echo '```'
  grep -E '^Benchmark' "$work/gobench.txt"
  echo '```'
  echo
  echo "Raw reports:"
  for f in baseline embedded embedded-2000 external raw; do echo; echo "<details><summary>$f</summary>"; echo; echo '```'; cat "$work/$f.txt"; echo '```'; echo "</details>"; done
} > "$work/report.md"
if [ -f "$OUT" ] && grep -q '^## Profiles' "$OUT"; then
  # Keep the hand-written profile notes below the generated part.
  sed -n '/^## Profiles/,$p' "$OUT" >> "$work/report.md"
fi
cp "$work/report.md" "$OUT"
echo "wrote $OUT" >&2
