#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: one run, one machine, the same load tool for every target.
#   scripts/benchmarks.sh        (about 5 minutes; needs free ports 18080, 18090, 18099, 14222, 14333)
# Env: DURATION (default 10s), CONNS (default 64), SUSTAIN (ids in the window the sustained run
# reaches, default 1000000), OUT (default BENCHMARKS.md)
HTTP=18080 BASE=18099 EMB=14222 EXT=14333 BTH=18090
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
SUSTAIN=${SUSTAIN:-1000000}
OUT=${OUT:-BENCHMARKS.md}
source "$(dirname "$0")/lib.sh"
# The peer: Benthos v4.27 doing the same job (bench/, a module of its own).
(cd bench && go build -o "$work/benthos" ./benthos)


# The numbers of a loadgen text report.
rate() { awk '/^requests/ {print $4}' "$1" | tr -d '/s'; }
lat()  { awk -v k="$2" '/^latency/ {for (i=1;i<=NF;i++) if ($i==k) print $(i+1)}' "$1"; }
sent() { awk '/^requests/ {print $2}' "$1"; }
stored() { awk '/^stream/ {for (i=1;i<=NF;i++) if ($i=="acknowledged"||$i=="missing"||$i=="duplicated") printf "%s %s ", $i, $(i+1)}' "$1"; }
# cpu FILE N: CPU ms per 1,000 events of the report's Nth process (1: the client, then -cpu-pids).
cpu() { awk -v n="$2" '/^cpu/ {k++; if (k==n) for (i=1;i<=NF;i++) if ($i=="ms") print $(i-1)}' "$1"; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# The endpoints' secret: a configuration file may not carry the demo's (the bridge refuses it).
SECRET=bench-secret
load() { "$work/loadgen" -secret "$SECRET" -c "$CONNS" -d "$DURATION" -url "http://127.0.0.1:$HTTP/webhooks/aghanim" "$@"; }
bridge_yaml() { # bridge_yaml FILE NATS-BLOCK
  printf 'http: {listen: "127.0.0.1:'"$HTTP"'"}\nnats: %s\nlog: {level: info}\nendpoints: [{id: aghanim, provider: aghanim, secrets: ['"$SECRET"']}]\n' "$2" > "$1"
}

# 1. The client's ceiling: a handler that answers 204 and does nothing, in a process of its own.
"$work/loadgen" -baseline-listen 127.0.0.1:$BASE >/dev/null 2>&1 & basepid=$!; pids+=($basepid)
wait_port $BASE
"$work/loadgen" -c "$CONNS" -d "$DURATION" -url http://127.0.0.1:$BASE/ -cpu-pids "$basepid" > "$work/baseline.txt"
kill "$basepid"

# 2. The bridge with its embedded server (file storage, dedup on, 2xx after PubAck). The request
#    log stays on at info (JSON: standard error is a file), as in production.
bridge_yaml "$work/embedded.yaml" "{embedded: {listen: \"127.0.0.1:$EMB\", store_dir: \"$work/data-embedded\"}}"
"$work/bridge" -config "$work/embedded.yaml" 2>"$work/bridge-embedded.log" & bridge=$!; pids+=($bridge)
wait_port $HTTP
load -verify-stream nats://127.0.0.1:$EMB -cpu-pids "$bridge" > "$work/embedded.txt"
load -rate 2000 -verify-stream nats://127.0.0.1:$EMB -cpu-pids "$bridge" > "$work/embedded-2000.txt"
rss_embedded=$(peak_rss_mb "$bridge")
kill -TERM "$bridge"; wait "$bridge" || true

# 3. The bridge against an external nats-server process.
"$work/nats-server" -js -sd "$work/data-external" -a 127.0.0.1 -p $EXT >/dev/null 2>&1 & nats=$!; pids+=($nats)
wait_port $EXT
bridge_yaml "$work/external.yaml" "{url: \"nats://127.0.0.1:$EXT\"}"
"$work/bridge" -config "$work/external.yaml" 2>"$work/bridge-external.log" & bridge=$!; pids+=($bridge)
wait_port $HTTP
load -verify-stream nats://127.0.0.1:$EXT -cpu-pids "$bridge,$nats" > "$work/external.txt"
rss_external=$(peak_rss_mb "$bridge")

# 3b. Benthos against the same server and stream (bench/benthos/benthos.yaml). First, do the two
#     answer alike? A valid event, the same event again (a duplicate), a forged one.
SECRET=$SECRET NATS_URL=nats://127.0.0.1:$EXT BENTHOS_LISTEN=127.0.0.1:$BTH "$work/benthos" -c bench/benthos/benthos.yaml 2>"$work/benthos.log" & bth=$!; pids+=($bth)
wait_port $BTH
printf '{"event_type":"player.update","event_id":"whevt_compare_%s","event_time":1725548450,"event_data":{"player_id":"P1"}}' "$(date +%s%N)" > "$work/compare.json"
answer() { # answer PORT SECRET: status line and body of one signed POST
  "$work/bridge" send -provider aghanim -secret "$2" -file "$work/compare.json" -url "http://127.0.0.1:$1/webhooks/aghanim" 2>/dev/null | awk 'NR==1 {s=$2} body {b=b $0} /^\r?$/ {body=1} END {print s, b}'
}
: > "$work/compare.txt"
for c in "valid $SECRET" "duplicate $SECRET" "forged wrong-secret"; do
  set -- $c
  printf '| %s | %s | %s |\n' "$1" "$(answer $HTTP "$2")" "$(answer $BTH "$2")" >> "$work/compare.txt"
done
kill -TERM "$bridge"; wait "$bridge" || true
"$work/loadgen" -secret "$SECRET" -c "$CONNS" -d "$DURATION" -url "http://127.0.0.1:$BTH/webhooks/aghanim" -verify-stream nats://127.0.0.1:$EXT -cpu-pids "$bth,$nats" > "$work/benthos.txt"
rss_benthos=$(peak_rss_mb "$bth")
kill "$bth"; wait "$bth" 2>/dev/null || true

# 4. Raw JetStream publish rate of the same server, same message size and concurrency.
"$work/loadgen" -c "$CONNS" -d "$DURATION" -jetstream-publish nats://127.0.0.1:$EXT -cpu-pids "$nats" > "$work/raw.txt"
kill "$nats"; wait "$nats" 2>/dev/null || true

# 5. Sustained: a fresh embedded bridge, consecutive 20 s runs until the 24 h duplicate window
#    holds SUSTAIN ids; req/s, p99, the collector's share of the bridge's CPU (from gctrace) and
#    the process's RSS as the window fills. First, the same with a 5 s window, which never holds
#    more than a few seconds of ids: what changes between its runs is the machine and the
#    stream's size, not the window, so it shows how much of a drop is the window's.
# sustained NAME STREAM-BLOCK: writes $work/NAME.tsv (run, req/s, p99, ids, RSS MB, GC % of CPU)
# and $work/NAME.idle (the RSS in MB before the first run)
sustained() {
  bridge_yaml "$work/$1.yaml" "{embedded: {listen: \"127.0.0.1:$EMB\", store_dir: \"$work/data-$1\"}}"
  printf 'stream: %s\n' "$2" >> "$work/$1.yaml"
  GODEBUG=gctrace=1 "$work/bridge" -config "$work/$1.yaml" 2> >(grep --line-buffered -ao 'gc [0-9]* @[0-9.]*s [0-9]*%: [^,]*, [^ ]* ms cpu' > "$work/$1-gc.txt") & bridge=$!; pids+=($bridge)
  wait_port $HTTP
  sleep 1
  rss_mb "$bridge" > "$work/$1.idle"
  local ids=0 i=0
  : > "$work/$1.tsv"
  while [ "$ids" -lt "$SUSTAIN" ]; do
    i=$((i+1))
    local seen; seen=$(wc -l < "$work/$1-gc.txt")
    "$work/loadgen" -secret "$SECRET" -c "$CONNS" -d 20s -url "http://127.0.0.1:$HTTP/webhooks/aghanim" -cpu-pids "$bridge" > "$work/$1-$i.txt"
    ids=$((ids + $(sent "$work/$1-$i.txt")))
    local gc; gc=$(tail -n +"$((seen+1))" "$work/$1-gc.txt" | awk -v cpu="$(awk '/^cpu +bridge/ {print $3}' "$work/$1-$i.txt" | tr -d s)" \
      '{split($8, t, "[+/]"); for (k in t) ms += t[k]} END {printf "%.1f", ms/10/cpu}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$(rate "$work/$1-$i.txt")" "$(lat "$work/$1-$i.txt" p99)" "$ids" "$(rss_mb "$bridge")" "$gc" >> "$work/$1.tsv"
    echo "$1 run $i: $(tail -1 "$work/$1.tsv")" >&2
  done
  kill -TERM "$bridge"; wait "$bridge" || true
}
sustained control "{duplicate_window: 5s}"
sustained sustained "{duplicate_window: 24h}"
go test ./bridge/ -run '^$' -bench DuplicateWindowMemory -benchtime 300000x > "$work/window.txt"

# 6. Memory per id in an external nats-server's window: RSS before and after 300,000 events.
"$work/nats-server" -js -sd "$work/data-mem" -a 127.0.0.1 -p $EXT >/dev/null 2>&1 & nats=$!; pids+=($nats)
wait_port $EXT
"$work/bridge" -config "$work/external.yaml" 2>/dev/null & bridge=$!; pids+=($bridge)
wait_port $HTTP
"$work/loadgen" -secret "$SECRET" -c "$CONNS" -n 20000 -url "http://127.0.0.1:$HTTP/webhooks/aghanim" > /dev/null   # the stream and the server warmed up
nats_start=$(rss_mb "$nats")
"$work/loadgen" -secret "$SECRET" -c "$CONNS" -n 300000 -url "http://127.0.0.1:$HTTP/webhooks/aghanim" > "$work/nats-mem.txt"
nats_end=$(rss_mb "$nats")
kill -TERM "$bridge"; wait "$bridge" || true
kill "$nats"; wait "$nats" 2>/dev/null || true

# 7. The in-process pipeline: time and allocations per request.
go test ./bridge/ -run '^$' -bench 'Pipeline' -benchmem -benchtime 3s > "$work/gobench.txt"

base=$(rate "$work/baseline.txt")
over() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a/b}'; }
ratio() { over "$1" "$base"; }
row() { echo "| $1 | $(rate "$2") | $(lat "$2" p50) | $(lat "$2" p99) | $3 | $4 | $5 |"; }
per_id() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.0f", (b-a)*1048576/n}'; }
first=$(head -1 "$work/sustained.tsv"); last=$(tail -1 "$work/sustained.tsv")
cfirst=$(head -1 "$work/control.tsv"); clast=$(tail -1 "$work/control.tsv")
col() { echo "$1" | cut -f"$2"; }
ids=$(col "$last" 4); rss_start=$(cat "$work/sustained.idle"); rss_end=$(col "$last" 5)
bridge_per_id=$(per_id "$rss_start" "$rss_end" "$ids")
nats_per_id=$(per_id "$nats_start" "$nats_end" 300000)
{
  echo "# Benchmarks"
  echo
  echo "Regenerate with \`scripts/benchmarks.sh\` (one run, same machine, same load tool)."
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')),"
  echo "$(go version | cut -d' ' -f3). Load: \`loadgen -c $CONNS -d $DURATION\`, signed 1 KiB Aghanim \`player.update\` events,"
  echo "each unique, built and signed before the clock starts and written as raw HTTP/1.1 on keep-alive"
  echo "connections; the load tool runs on the same machine. The bridge answers 2xx only after the PubAck,"
  echo "with dedup (Nats-Msg-Id) and signature checks on, JetStream file storage, request log at info (JSON)."
  echo
  echo "## The client's ceiling first"
  echo
  echo "Against a handler that answers 204 and does nothing, in a process of its own, the load tool reaches"
  echo "**$(rate "$work/baseline.txt") req/s** (p99 $(lat "$work/baseline.txt" p99)), spending $(cpu "$work/baseline.txt" 1) ms of CPU per 1,000 requests itself."
  echo "Every ratio below is against that number, so a ratio is the bridge's, not the client's."
  echo
  echo "| target | req/s | p50 | p99 | vs baseline | CPU per 1,000 events | notes |"
  echo "|---|---|---|---|---|---|---|"
  row "baseline (204, does nothing)" "$work/baseline.txt" "1.00×" "$(cpu "$work/baseline.txt" 2) ms (handler)" "client $(cpu "$work/baseline.txt" 1) ms"
  row "bridge, embedded nats-server" "$work/embedded.txt" "$(ratio "$(rate "$work/embedded.txt")")" "$(cpu "$work/embedded.txt" 2) ms (bridge + its server)" "peak RSS ${rss_embedded} MB; $(stored "$work/embedded.txt")"
  row "bridge, embedded, steady 2,000 req/s" "$work/embedded-2000.txt" "—" "$(cpu "$work/embedded-2000.txt" 2) ms" "latency when not saturated; $(stored "$work/embedded-2000.txt")"
  row "bridge, external nats-server" "$work/external.txt" "$(ratio "$(rate "$work/external.txt")")" "bridge $(cpu "$work/external.txt" 2) ms + nats-server $(cpu "$work/external.txt" 3) ms" "bridge peak RSS ${rss_external} MB; $(stored "$work/external.txt")"
  row "Benthos v4.27, external nats-server" "$work/benthos.txt" "$(ratio "$(rate "$work/benthos.txt")")" "benthos $(cpu "$work/benthos.txt" 2) ms + nats-server $(cpu "$work/benthos.txt" 3) ms" "peak RSS ${rss_benthos} MB; $(stored "$work/benthos.txt"); no request log"
  row "raw JetStream publish (no HTTP)" "$work/raw.txt" "$(ratio "$(rate "$work/raw.txt")")" "nats-server $(cpu "$work/raw.txt" 2) ms" "PublishMsgAsync, each waits for its own ack"
  echo
  echo "Bridge against Benthos, both on the external nats-server: **$(over "$(rate "$work/external.txt")" "$(rate "$work/benthos.txt")")** the req/s."
  echo "Benthos (\`bench/benthos/\`, built from Go modules with only its io, pure, nats and prometheus components)"
  echo "checks the same HMAC in Bloblang, writes the CloudEvents headers and \`Nats-Msg-Id\`, and answers after the"
  echo "JetStream PubAck; it logs no line per request, the bridge does. Their answers to the same requests:"
  echo
  echo "| request | bridge | Benthos |"
  echo "|---|---|---|"
  cat "$work/compare.txt"
  echo
  echo "## Sustained: throughput as the duplicate window fills"
  echo
  echo "A fresh embedded bridge (24 h \`duplicate_window\`, \`GOGC\` 200 as the bridge sets it), consecutive 20 s runs"
  echo "at $CONNS connections until the window holds $ids ids. Before it, the control: the same runs with a 5 s"
  echo "window, which never holds more than a few seconds of ids (about 130,000 at these rates), so what changes"
  echo "between its runs is the machine and the stream's size, not the window. \"GC\" is the collector's share of"
  echo "the bridge's CPU during the run (every CPU term of gctrace, idle mark workers included)."
  echo
  echo "| | req/s | p99 | ids in the window | bridge RSS | GC | last ÷ first |"
  echo "|---|---|---|---|---|---|---|"
  echo "| first run | $(col "$first" 2) | $(col "$first" 3) | $(col "$first" 4) | $(col "$first" 5) MB | $(col "$first" 6) % | |"
  echo "| last run (run $(col "$last" 1)) | $(col "$last" 2) | $(col "$last" 3) | $(col "$last" 4) | $(col "$last" 5) MB | $(col "$last" 6) % | **$(over "$(col "$last" 2)" "$(col "$first" 2)")** |"
  echo "| control, first run | $(col "$cfirst" 2) | $(col "$cfirst" 3) | (5 s window) | $(col "$cfirst" 5) MB | $(col "$cfirst" 6) % | |"
  echo "| control, last run | $(col "$clast" 2) | $(col "$clast" 3) | (5 s window) | $(col "$clast" 5) MB | $(col "$clast" 6) % | $(over "$(col "$clast" 2)" "$(col "$cfirst" 2)") |"
  echo
  echo "Memory per id in the window: **${bridge_per_id} bytes** of RSS for the bridge with its embedded server"
  echo "(RSS ${rss_start} MB idle → ${rss_end} MB over $ids ids, the load's own working set included), **${nats_per_id} bytes** for an external nats-server"
  echo "(RSS ${nats_start} → ${nats_end} MB over 300,000 ids). RSS includes the collector's headroom, so it lands"
  echo "anywhere between the live table and about three times it (\`GOGC\` 200); the live table alone, from"
  echo "\`go test ./bridge -run '^\$' -bench DuplicateWindowMemory -benchtime 300000x\` (heap after collection per id):"
  echo
  echo "| Nats-Msg-Id | example length | live heap per id |"
  echo "|---|---|---|"
  awk '/^BenchmarkDuplicateWindowMemory/ {split($1, n, "/"); sub(/-[0-9]+$/, "", n[2]); for (i=1;i<=NF;i++) if ($i=="heap-B/id") v=$(i-1); len = (n[2]=="provider-id") ? "38 bytes: `aghanim:whevt_load_<run>_<n>`" : (n[2]=="body-hash") ? "77 bytes: `altdentifier:` + SHA-256 hex" : "22 bytes: base64url of 16 bytes of SHA-256(`{endpoint}:{id}`)"; printf "| %s | %s | %.0f bytes |\n", n[2], len, v}' "$work/window.txt"
  echo
  echo "What a 24 h window holds at a steady rate (RSS per id as measured above):"
  echo
  echo "| events/s | ids in 24 h | bridge, embedded | external nats-server |"
  echo "|---|---|---|---|"
  for r in 10 100 1000; do
    awk -v r="$r" -v b="$bridge_per_id" -v n="$nats_per_id" 'BEGIN {ids=r*86400; printf "| %d | %d | %.2f GiB | %.2f GiB |\n", r, ids, ids*b/2^30, ids*n/2^30}'
  done
  echo
  echo "Every run:"
  echo
  echo '```'
  echo -e "window\trun\treq/s\tp99\tids\tRSS MB\tGC %"
  sed 's/^/24h\t/' "$work/sustained.tsv"
  sed 's/^/5s\t/' "$work/control.tsv"
  echo '```'
  echo
  echo "## In-process pipeline"
  echo
  echo "\`go test ./bridge/ -bench Pipeline -benchmem\`: read → verify → map → encode → publish → PubAck on a"
  echo "real JetStream file store; B/op and allocs/op include the benchmark's own request construction and signing."
  echo
  echo '```'
  grep -E '^Benchmark' "$work/gobench.txt"
  echo '```'
  echo
  echo "Raw reports:"
  for f in baseline embedded embedded-2000 external benthos raw; do echo; echo "<details><summary>$f</summary>"; echo; echo '```'; cat "$work/$f.txt"; echo '```'; echo "</details>"; done
} > "$work/report.md"
if [ -f "$OUT" ] && grep -q '^## Notes' "$OUT"; then
  # Keep the hand-written notes below the generated part.
  sed -n '/^## Notes/,$p' "$OUT" >> "$work/report.md"
fi
cp "$work/report.md" "$OUT"
echo "wrote $OUT" >&2
