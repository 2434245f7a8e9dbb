#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: one run, one machine, the same load tool for every target.
#   scripts/benchmarks.sh        (about 22 minutes; needs curl and free ports 18080, 18090, 18091, 18099, 14222, 14333)
# Env: DURATION (one round, default 10s), CONNS (default 64), ROUNDS (rounds of each target, the
# best one counts, default 5), SERIES (sustained series, default 3), RUNS (20 s runs per series,
# default 4), OUT (default BENCHMARKS.md)
HTTP=18080 BASE=18099 EMB=14222 EXT=14333 BTH=18090 ADM=18091
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-5}
SERIES=${SERIES:-3}
RUNS=${RUNS:-4}
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
# best NAME: copies the round of NAME-<r>.txt with the most req/s to NAME.txt (and its .rss).
best() {
  local top="" topr=0 f r
  for f in "$work/$1"-[0-9]*.txt; do
    r=$(rate "$f")
    if awk -v a="$r" -v b="$topr" 'BEGIN {exit !(a > b)}'; then top=$f topr=$r; fi
  done
  cp "$top" "$work/$1.txt"
  if [ -f "${top%.txt}.rss" ]; then cp "${top%.txt}.rss" "$work/$1.rss"; fi
  if [ -f "${top%.txt}.sse" ]; then cp "${top%.txt}.sse" "$work/$1.sse"; fi
}
rounds() { for f in "$work/$1"-[0-9]*.txt; do printf '%s ' "$(rate "$f")"; done; }
# The endpoints' secret: a configuration file may not carry the demo's (the bridge refuses it).
SECRET=bench-secret
load() { "$work/loadgen" -secret "$SECRET" -c "$CONNS" -d "$DURATION" -url "http://127.0.0.1:$HTTP/webhooks/aghanim" "$@"; }
raw() { "$work/loadgen" -c "$CONNS" -d "$DURATION" -jetstream-publish "$@"; }
bridge_yaml() { # bridge_yaml FILE NATS-BLOCK
  printf 'http: {listen: "127.0.0.1:'"$HTTP"'"}\nnats: %s\nlog: {level: info}\nendpoints: [{id: aghanim, provider: aghanim, secrets: ['"$SECRET"']}]\n' "$2" > "$1"
}
embedded_yaml() { bridge_yaml "$1" "{embedded: {listen: \"127.0.0.1:$EMB\", store_dir: \"$2\"}}"; }
# start_bridge CONFIG [ARGS]: a bridge in the background; its pid in $bridge.
start_bridge() { "$work/bridge" -config "$@" 2>>"$work/bridge.log" & bridge=$!; pids+=($bridge); wait_port $HTTP; }
stop_bridge() { kill -TERM "$bridge"; wait "$bridge" || true; }
start_nats() { rm -rf "$work/data-nats"; "$work/nats-server" -js -sd "$work/data-nats" -a 127.0.0.1 -p $EXT >/dev/null 2>&1 & nats=$!; pids+=($nats); wait_port $EXT; }
stop_nats() { kill "$nats"; wait "$nats" 2>/dev/null || true; }
# start_benthos: Benthos on the external server; its pid in $bth.
start_benthos() { SECRET=$SECRET NATS_URL=nats://127.0.0.1:$EXT BENTHOS_LISTEN=127.0.0.1:$BTH "$work/benthos" -c bench/benthos/benthos.yaml >>"$work/benthos.log" 2>&1 & bth=$!; pids+=($bth); wait_port $BTH; }

# 1. The client's ceiling: a handler that answers 204 and does nothing, in a process of its own.
"$work/loadgen" -baseline-listen 127.0.0.1:$BASE >/dev/null 2>&1 & basepid=$!; pids+=($basepid)
wait_port $BASE
for r in $(seq "$ROUNDS"); do
  "$work/loadgen" -c "$CONNS" -d "$DURATION" -url http://127.0.0.1:$BASE/ -cpu-pids "$basepid" > "$work/baseline-$r.txt"
done
kill "$basepid"
best baseline

# 2. The bridge with its embedded server (file storage, dedup on, 2xx after PubAck), a fresh one
#    each round, so every round starts with an empty duplicate window; the request log stays on at
#    info (JSON: standard error is a file), as in production. Beside each round, the same server
#    with nothing but raw JetStream publishing: a fresh bridge left idle, loadgen publishing the
#    same events to its embedded server.
embedded_yaml "$work/embedded.yaml" "$work/data-embedded"
for r in $(seq "$ROUNDS"); do
  rm -rf "$work/data-embedded"; start_bridge "$work/embedded.yaml"
  load -verify-stream nats://127.0.0.1:$EMB -cpu-pids "$bridge" > "$work/embedded-$r.txt"
  peak_rss_mb "$bridge" > "$work/embedded-$r.rss"
  stop_bridge
  rm -rf "$work/data-embedded"; start_bridge "$work/embedded.yaml"
  raw nats://127.0.0.1:$EMB -cpu-pids "$bridge" > "$work/rawemb-$r.txt"
  stop_bridge
done
best embedded; best rawemb

# 2b. The same with the operator console open: the admin listener serving it, and one page's live
#     stream (what the page's EventSource reads) connected for the whole round.
embedded_yaml "$work/console.yaml" "$work/data-embedded"
sed -i "s|^http: {|http: {admin_listen: \"127.0.0.1:$ADM\", |" "$work/console.yaml"
for r in $(seq "$ROUNDS"); do
  rm -rf "$work/data-embedded"; start_bridge "$work/console.yaml"
  curl -sN "http://127.0.0.1:$ADM/console/api/stream" > "$work/console-$r.sse" & page=$!; pids+=($page)
  load -cpu-pids "$bridge" > "$work/console-$r.txt"
  kill "$page"; wait "$page" 2>/dev/null || true
  stop_bridge
done
best console
rm -rf "$work/data-embedded"; start_bridge "$work/embedded.yaml"
load -rate 2000 -verify-stream nats://127.0.0.1:$EMB -cpu-pids "$bridge" > "$work/steady2000.txt"
stop_bridge

# 3. The bridge against an external nats-server process; raw JetStream publishing to the same
#    server build; Benthos doing the bridge's job against it. A fresh server for each round.
bridge_yaml "$work/external.yaml" "{url: \"nats://127.0.0.1:$EXT\"}"
for r in $(seq "$ROUNDS"); do
  start_nats; start_bridge "$work/external.yaml"
  load -verify-stream nats://127.0.0.1:$EXT -cpu-pids "$bridge,$nats" > "$work/external-$r.txt"
  peak_rss_mb "$bridge" > "$work/external-$r.rss"
  stop_bridge; stop_nats
  start_nats
  raw nats://127.0.0.1:$EXT -cpu-pids "$nats" > "$work/rawext-$r.txt"
  stop_nats
  start_nats
  start_bridge "$work/external.yaml"; stop_bridge   # the stream, as the bridge creates it
  start_benthos
  "$work/loadgen" -secret "$SECRET" -c "$CONNS" -d "$DURATION" -url "http://127.0.0.1:$BTH/webhooks/aghanim" -verify-stream nats://127.0.0.1:$EXT -cpu-pids "$bth,$nats" > "$work/benthos-$r.txt"
  peak_rss_mb "$bth" > "$work/benthos-$r.rss"
  kill "$bth"; wait "$bth" 2>/dev/null || true
  stop_nats
done
best external; best rawext; best benthos

# 3b. Do the bridge and Benthos answer alike? A valid event, the same event again (a duplicate),
#     a forged one.
start_nats; start_bridge "$work/external.yaml"
start_benthos
printf '{"event_type":"player.update","event_id":"whevt_compare_%s","event_time":1725548450,"event_data":{"player_id":"P1"}}' "$(date +%s%N)" > "$work/compare.json"
answer() { # answer PORT SECRET: status line and body of one signed POST
  "$work/bridge" send -provider aghanim -secret "$2" -file "$work/compare.json" -url "http://127.0.0.1:$1/webhooks/aghanim" 2>/dev/null | awk 'NR==1 {s=$2} body {b=b $0} /^\r?$/ {body=1} END {print s, b}'
}
: > "$work/compare.txt"
for c in "valid $SECRET" "duplicate $SECRET" "forged wrong-secret"; do
  set -- $c
  printf '| %s | %s | %s |\n' "$1" "$(answer $HTTP "$2")" "$(answer $BTH "$2")" >> "$work/compare.txt"
done
kill "$bth"; wait "$bth" 2>/dev/null || true
stop_bridge; stop_nats

# 4. Where the embedded bridge's CPU goes: one more round under a CPU profile.
rm -rf "$work/data-embedded"; start_bridge "$work/embedded.yaml" -cpuprofile "$work/embedded.prof"
load -cpu-pids "$bridge" > "$work/profiled.txt"
stop_bridge
# share FOCUS [IGNORE]: the percentage of the profile's samples whose stack matches FOCUS.
share() {
  go tool pprof -top -focus="$1" ${2:+-ignore="$2"} "$work/bridge" "$work/embedded.prof" 2>/dev/null |
    awk '/^Showing nodes accounting for/ {gsub(/,/, "", $6); print $6; exit}'
}

# 5. Sustained: a fresh embedded bridge, RUNS consecutive 20 s runs, the 24 h duplicate window
#    filling to over a million ids; req/s, p99, the collector's share of the bridge's CPU (from
#    gctrace) and the process's RSS as the window fills. SERIES series, then the control: the same
#    runs with a 5 s window, which never holds more than a few seconds of ids, so what changes
#    between its runs is the machine and the stream's size, not the window.
# sustained NAME STREAM-BLOCK: writes $work/NAME.tsv (run, req/s, p99, ids, RSS MB, GC % of CPU)
# and $work/NAME.idle (the RSS in MB before the first run)
sustained() {
  embedded_yaml "$work/$1.yaml" "$work/data-$1"
  printf 'stream: %s\n' "$2" >> "$work/$1.yaml"
  GODEBUG=gctrace=1 "$work/bridge" -config "$work/$1.yaml" 2> >(grep --line-buffered -ao 'gc [0-9]* @[0-9.]*s [0-9]*%: [^,]*, [^ ]* ms cpu' > "$work/$1-gc.txt") & bridge=$!; pids+=($bridge)
  wait_port $HTTP
  sleep 1
  rss_mb "$bridge" > "$work/$1.idle"
  local ids=0 i
  : > "$work/$1.tsv"
  for i in $(seq "$RUNS"); do
    local seen; seen=$(wc -l < "$work/$1-gc.txt")
    "$work/loadgen" -secret "$SECRET" -c "$CONNS" -d 20s -url "http://127.0.0.1:$HTTP/webhooks/aghanim" -cpu-pids "$bridge" > "$work/$1-$i.txt"
    ids=$((ids + $(sent "$work/$1-$i.txt")))
    local gc; gc=$(tail -n +"$((seen+1))" "$work/$1-gc.txt" | awk -v cpu="$(awk '/^cpu +bridge/ {print $3}' "$work/$1-$i.txt" | tr -d s)" \
      '{split($8, t, "[+/]"); for (k in t) ms += t[k]} END {printf "%.1f", ms/10/cpu}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$(rate "$work/$1-$i.txt")" "$(lat "$work/$1-$i.txt" p99)" "$ids" "$(rss_mb "$bridge")" "$gc" >> "$work/$1.tsv"
    echo "$1 run $i: $(tail -1 "$work/$1.tsv")" >&2
  done
  kill -TERM "$bridge"; wait "$bridge" || true
  rm -rf "$work/data-$1"
}
for s in $(seq "$SERIES"); do sustained "sustained$s" "{duplicate_window: 24h}"; done
sustained control "{duplicate_window: 5s}"
go test ./bridge/ -run '^$' -bench DuplicateWindowMemory -benchtime 300000x > "$work/window.txt"

# 6. Memory per id in an external nats-server's window: RSS before and after 300,000 events.
start_nats; start_bridge "$work/external.yaml"
"$work/loadgen" -secret "$SECRET" -c "$CONNS" -n 20000 -url "http://127.0.0.1:$HTTP/webhooks/aghanim" > /dev/null   # the stream and the server warmed up
nats_start=$(rss_mb "$nats")
"$work/loadgen" -secret "$SECRET" -c "$CONNS" -n 300000 -url "http://127.0.0.1:$HTTP/webhooks/aghanim" > "$work/nats-mem.txt"
nats_end=$(rss_mb "$nats")
stop_bridge; stop_nats

# 7. The in-process pipeline: time and allocations per request.
go test ./bridge/ -run '^$' -bench 'Pipeline' -benchmem -benchtime 3s > "$work/gobench.txt"

base=$(rate "$work/baseline.txt")
over() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a/b}'; }
ratio() { over "$1" "$base"; }
floor() { awk -v a="$base" -v b="$(rate "$1")" 'BEGIN {printf "%.1f", 1/(1/a + 1/b)}'; }
floor_emb=$(floor "$work/rawemb.txt"); floor_ext=$(floor "$work/rawext.txt")
row() { echo "| $1 | $(rate "$2") | $(lat "$2" p50) | $(lat "$2" p99) | $3 | $4 | $5 | $6 |"; }
per_id() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.0f", (b-a)*1048576/n}'; }
col() { echo "$1" | cut -f"$2"; }
last_over_first() { over "$(col "$(tail -1 "$1")" 2)" "$(col "$(head -1 "$1")" 2)"; }
last=$(tail -1 "$work/sustained1.tsv")
ids=$(col "$last" 4); rss_start=$(cat "$work/sustained1.idle"); rss_end=$(col "$last" 5)
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
  echo "Every target runs $ROUNDS rounds, each on a fresh process and an empty store; the table shows the best"
  echo "round of each (every round is listed under it)."
  echo
  echo "## The client's ceiling and the floor"
  echo
  echo "Against a handler that answers 204 and does nothing, in a process of its own, the load tool reaches"
  echo "**$base req/s** (p99 $(lat "$work/baseline.txt" p99)), spending $(cpu "$work/baseline.txt" 1) ms of CPU per 1,000 requests itself."
  echo "A bridge does that HTTP work and a JetStream publish per event; the same events published straight to"
  echo "JetStream (each waiting for its own PubAck, no HTTP) reach $(rate "$work/rawemb.txt") msg/s on the embedded server and"
  echo "$(rate "$work/rawext.txt") msg/s on the external one. Paying both costs one after the other on these 2 cores, the best a"
  echo "bridge can do is the **floor**, 1 / (1/baseline + 1/raw): **$floor_emb req/s** embedded, **$floor_ext req/s** external."
  echo
  echo "| target | req/s | p50 | p99 | vs baseline | vs floor | CPU per 1,000 events | notes |"
  echo "|---|---|---|---|---|---|---|---|"
  row "baseline (204, does nothing)" "$work/baseline.txt" "1.00×" "" "$(cpu "$work/baseline.txt" 2) ms (handler)" "client $(cpu "$work/baseline.txt" 1) ms"
  row "raw JetStream publish, embedded server (no HTTP)" "$work/rawemb.txt" "$(ratio "$(rate "$work/rawemb.txt")")" "" "$(cpu "$work/rawemb.txt" 2) ms (process with the server)" "PublishMsgAsync, each waits for its own ack"
  echo "| **floor, embedded** | $floor_emb | | | $(ratio "$floor_emb") | 1.00× | | 1 / (1/baseline + 1/raw) |"
  row "**bridge, embedded nats-server**" "$work/embedded.txt" "$(ratio "$(rate "$work/embedded.txt")")" "**$(over "$(rate "$work/embedded.txt")" "$floor_emb")**" "$(cpu "$work/embedded.txt" 2) ms (bridge + its server)" "peak RSS $(cat "$work/embedded.rss") MB; $(stored "$work/embedded.txt")"
  row "bridge, embedded, a console page open" "$work/console.txt" "$(ratio "$(rate "$work/console.txt")")" "$(over "$(rate "$work/console.txt")" "$floor_emb")" "$(cpu "$work/console.txt" 2) ms (bridge + its server)" "$(over "$(rate "$work/console.txt")" "$(rate "$work/embedded.txt")") of the row above; the page's live stream got $(wc -c < "$work/console.sse" 2>/dev/null || echo 0) bytes"
  row "bridge, embedded, steady 2,000 req/s" "$work/steady2000.txt" "—" "—" "$(cpu "$work/steady2000.txt" 2) ms" "latency when not saturated; $(stored "$work/steady2000.txt")"
  row "raw JetStream publish, external server (no HTTP)" "$work/rawext.txt" "$(ratio "$(rate "$work/rawext.txt")")" "" "nats-server $(cpu "$work/rawext.txt" 2) ms" "PublishMsgAsync, each waits for its own ack"
  echo "| **floor, external** | $floor_ext | | | $(ratio "$floor_ext") | 1.00× | | 1 / (1/baseline + 1/raw) |"
  row "**bridge, external nats-server**" "$work/external.txt" "$(ratio "$(rate "$work/external.txt")")" "**$(over "$(rate "$work/external.txt")" "$floor_ext")**" "bridge $(cpu "$work/external.txt" 2) ms + nats-server $(cpu "$work/external.txt" 3) ms" "bridge peak RSS $(cat "$work/external.rss") MB; $(stored "$work/external.txt")"
  row "Benthos v4.27, external nats-server" "$work/benthos.txt" "$(ratio "$(rate "$work/benthos.txt")")" "$(over "$(rate "$work/benthos.txt")" "$floor_ext")" "benthos $(cpu "$work/benthos.txt" 2) ms + nats-server $(cpu "$work/benthos.txt" 3) ms" "peak RSS $(cat "$work/benthos.rss") MB; $(stored "$work/benthos.txt"); no request log"
  echo
  echo "Every round (req/s):"
  echo
  echo '```'
  for t in baseline rawemb embedded console rawext external benthos; do echo "$t: $(rounds "$t")"; done
  echo '```'
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
  echo "## Where the embedded bridge's CPU goes"
  echo
  echo "One more round ($(rate "$work/profiled.txt") req/s) under \`bridge -cpuprofile\`; the share of the profile's samples"
  echo "whose stack passes through each part (\`go tool pprof -top -focus=…\`):"
  echo
  echo "| part | share of the process's CPU |"
  echo "|---|---|"
  echo "| \`net/http\` serving outside the handler: reading and parsing requests, writing and flushing answers | $(share 'net/http.\(\*conn\).serve' 'bridge.\(\*Server\).ServeHTTP') |"
  echo "| the embedded nats-server (its client connection, the stream, file-store writes) | $(share 'nats-server') |"
  echo "| of which writing each message to the file store (\`pwrite\`, one per message for a one-replica stream) | $(share 'fileStore..storeRawMsg') |"
  echo "| the NATS client: publishing, reading PubAcks, handing them to the request | $(share 'nats%2ego|nats.go/jetstream') |"
  echo "| the bridge's own work: routing, reading the body, verify, map, encode, metrics, answer (not the client's) | $(share 'bridge.\(\*Server\).ServeHTTP' 'nats%2ego|nats.go/jetstream|logRequest') |"
  echo "| of which the HMAC | $(share 'providers.verifyMAC') |"
  echo "| of which the CloudEvent: building and encoding it | $(share 'bridge.newEvent|cloudevents.Encode') |"
  echo "| the request log line | $(share 'logRequest') |"
  echo "| garbage collection (background marking, assists, sweeping) | $(share 'runtime.gcBgMarkWorker|runtime.gcAssistAlloc|runtime.bgsweep|runtime.bgscavenge') |"
  echo
  echo "## Sustained: throughput as the duplicate window fills"
  echo
  echo "$SERIES series, each a fresh embedded bridge (24 h \`duplicate_window\`, \`GOGC\` 200 as the bridge sets it) and"
  echo "$RUNS consecutive 20 s runs at $CONNS connections. Then the control: the same runs with a 5 s window, which never"
  echo "holds more than a few seconds of ids, so what changes between its runs is the machine and the stream's size,"
  echo "not the window. \"GC\" is the collector's share of the bridge's CPU during the run (every CPU term of gctrace,"
  echo "idle mark workers included)."
  echo
  echo "| series | first run req/s | last run req/s | ids in the window at the end | RSS at the end | GC first → last | last ÷ first |"
  echo "|---|---|---|---|---|---|---|"
  for s in $(seq "$SERIES") control; do
    name=sustained$s; [ "$s" = control ] && name=control
    f=$(head -1 "$work/$name.tsv"); l=$(tail -1 "$work/$name.tsv")
    window="$(col "$l" 4)"; [ "$s" = control ] && window="(5 s window)"
    echo "| $([ "$s" = control ] && echo "control, 5 s window" || echo "24 h window, series $s") | $(col "$f" 2) | $(col "$l" 2) | $window | $(col "$l" 5) MB | $(col "$f" 6) → $(col "$l" 6) % | **$(last_over_first "$work/$name.tsv")** |"
  done
  echo
  echo "Memory per id in the window: **${bridge_per_id} bytes** of RSS for the bridge with its embedded server"
  echo "(series 1: RSS ${rss_start} MB idle → ${rss_end} MB over $ids ids, the load's own working set included), **${nats_per_id} bytes** for an external nats-server"
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
  echo -e "series\trun\treq/s\tp99\tids\tRSS MB\tGC %"
  for s in $(seq "$SERIES"); do sed "s/^/24h-$s\t/" "$work/sustained$s.tsv"; done
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
  echo "Raw reports (the best round of each):"
  for f in baseline rawemb embedded steady2000 rawext external benthos; do echo; echo "<details><summary>$f</summary>"; echo; echo '```'; cat "$work/$f.txt"; echo '```'; echo "</details>"; done
} > "$work/report.md"
if [ -f "$OUT" ] && grep -q '^## Notes' "$OUT"; then
  # Keep the hand-written notes below the generated part.
  sed -n '/^## Notes/,$p' "$OUT" >> "$work/report.md"
fi
cp "$work/report.md" "$OUT"
echo "wrote $OUT" >&2
