#!/bin/bash
# make bench still works: a short run (1 s per test, this proxy and the
# no-proxy path, 100 idle flows, the delay line, the lossy section at
# 1 % loss only, the outage section with a 2 s outage and this proxy
# only, the workers section with one client) must finish, fill every
# figure it measured, restart the systems after the idle test, print the
# bounds under the table and leave no namespace or temporary folder
# behind. Only that the figures exist is checked, never how fast they are
# (speed is compared in make bench itself, side by side with the peers).
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"
need_root
need_cmd ip cc iptables

OUT=$TMP/bench.out
JSON=$TMP/bench.json

run_bench() {
	rm -f "$BUILD/bench-workers.tsv" "$BUILD/bench-workers-hello.tsv"
	BENCH_INSTALL=0 BENCH_SECONDS=1 BENCH_SYSTEMS="none proxy" \
		BENCH_TESTS="idle dl ul ttfb pp udp load delay lossy outage workers" \
		BENCH_WORKERS_CLIENTS=1 \
		BENCH_IDLE_FLOWS=100 BENCH_DELAY_MS=10 BENCH_LOSSY_LOSS=1 \
		BENCH_LOSSY_SECONDS=1 BENCH_LOSSY_WARMUP=0.5 \
		BENCH_OUTAGE_S=2 BENCH_OUTAGE_WAIT=10 BENCH_OUTAGE_MIB=16 \
		BENCH_OUTAGE_SYSTEMS=proxy \
		BENCH_JSON=$JSON BENCH_KEEP=1 \
		timeout 300 bash -c 'echo $$ >"$0" && exec "$@"' "$TMP/bench.pid" \
		"$ROOT/tests/bench/run.sh" "$BUILD" >"$OUT" 2>&1
	local rc=$?
	tail -n 30 "$OUT"
	return $rc
}
check "bench: a short run exits 0" run_bench
check "bench: the table is printed" grep -q '^| download, 1 flow (MB/s) ' "$OUT"
check "bench: the lossy table is printed" \
	grep -q '^| 1 % loss: single download (MB/s) ' "$OUT"
lossy_dropped() {	# the link's own count of its random drops
	local n
	n=$(sed -n 's/^bench:     links: .*packets, \([0-9]*\) lost at random.*/\1/p' "$OUT")
	echo "dropped at random: ${n:-none}"
	[ -n "$n" ] && [ "$n" -gt 0 ]
}
check "bench: the lossy link dropped packets" lossy_dropped
check "bench: the systems are restarted after the idle test" \
	grep -q '^bench:   restarting every system' "$OUT"
check "bench: the outage table is printed" \
	grep -q '^| new flow: 1st echo byte, s after the link returns (s) ' "$OUT"
# The download held across the outage arrives whole (the tunnel resumes
# its flow; loadgen checks every byte), and a new flow works after it.
outage_figures() {
	"$PY" - "$JSON" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))["systems"]["proxy"]["values"]
got = {k: v.get(k) for k in ("outage_hold", "outage_back", "outage_resume",
                             "outage_done", "outage_mib")}
print(got)
num = lambda k: isinstance(got[k], (int, float)) and got[k] > 0
sys.exit(0 if got["outage_hold"] == "complete" and num("outage_back") and
         num("outage_resume") and num("outage_done") else 1)
EOF
}
check "bench: the outage figures (download complete, new flow back)" \
	outage_figures

# The workers section: a download and the handshake rate (loadgen hello,
# a replayed ClientHello) through servers with 1 and 2 workers.
workers_figures() {
	local w
	cat "$BUILD/bench-workers.tsv" "$BUILD/bench-workers-hello.tsv"
	for w in 1 2; do
		awk -v w=$w '$1 == w && $2 == 1 && $3 > 0 { ok = 1 } END { exit !ok }' \
			"$BUILD/bench-workers.tsv" || return 1
		awk -v w=$w '$1 == w && $2 > 0 && $3 > 0 { ok = 1 } END { exit !ok }' \
			"$BUILD/bench-workers-hello.tsv" || return 1
	done
}
check "bench: the workers figures (downloads, server flights a second)" \
	workers_figures

# figures SYSTEM KEY...: each KEY has a positive value for SYSTEM
figures() {
	"$PY" - "$JSON" "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
s = doc["systems"][sys.argv[2]]
print("status:", s["status"])
bad = [k for k in sys.argv[3:] if not (s["values"].get(k) or 0) > 0]
print("missing or not positive:", bad or "none")
sys.exit(1 if bad or s["status"] != "ok" else 0)
EOF
}
check "bench: the no-proxy path's figures" \
	figures none dl1 ul1 tcp_rtt_p50 udp64_p50 load_udp_p99 cpu_path slow_dl \
	lossy_1_dl lossy_1_udp_p50 lossy_1_tcp_p50 lossy_1_idle_udp_p99 \
	$(command -v openssl >/dev/null && echo aes_gcm)
check "bench: this proxy's figures" \
	figures proxy dl1 ul1 cpu_client cpu_server cpu_client_ul cpu_server_ul \
	ttfb1_p50 flows_per_s \
	tcp_rtt_p50 udp64_p50 \
	udp1200_p50 load_udp_p99 load_tcp_p99 load_dl mem_client_0 \
	mem_client_100 kib_per_flow_server slow_ttfb_p50 round_trips slow_dl \
	lossy_1_dl lossy_1_udp_p50 lossy_1_udp_p99 lossy_1_tcp_p50 \
	lossy_1_idle_udp_p99

bounds() {
	"$PY" - "$JSON" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["ceiling"]
print(c)
sys.exit(0 if c and c["mbps"] > 0 and c["side_s_per_gib"] > 0 else 1)
EOF
}
if command -v openssl >/dev/null; then
	check "bench: the bounds for any TLS proxy are printed" \
		grep -q 'a single download of at most .* MB/s' "$OUT"
	check "bench: the bounds are in the JSON" bounds
else
	skip "bench: the bounds for any TLS proxy" "no openssl command"
fi

# The bench keeps its folder (BENCH_KEEP=1) for this: the daemons' logs,
# which under the ASan build hold any report of theirs.
KEPT=$(sed -n 's/^bench: kept \(\/tmp\/proxy-bench\.[A-Za-z0-9]*\)$/\1/p' "$OUT")
sanitizer_clean() {
	local f bad=0
	[ -n "$KEPT" ] || { echo "the bench did not say what it kept"; return 1; }
	for f in "$KEPT"/srv-proxy.log "$KEPT"/cli-proxy.log; do
		[ -f "$f" ] || { echo "no $f"; bad=1; }
	done
	for f in "$KEPT"/*-proxy.log; do	# also the delay line's client
		if grep -E "$SANITIZER_RE" "$f"; then
			bad=1
		fi
	done
	return $bad
}
check "bench: the daemons' logs hold no sanitizer report" sanitizer_clean
[ -n "$KEPT" ] && rm -rf "$KEPT"

# Only this run's: another bench may be running on the machine. The bench
# names its namespaces pxb<its pid>; exec kept that pid for bench.pid.
left_behind() {
	local pid ns
	pid=$(cat "$TMP/bench.pid" 2>/dev/null)
	[ -n "$pid" ] || { echo "no bench pid"; return 1; }
	ns=$(ip netns list 2>/dev/null | awk -v p="pxb$pid" 'index($1, p) == 1 { print $1 }')
	echo "namespaces: ${ns:-none}; folder: ${KEPT:-none}"
	[ -z "$ns" ] && [ -n "$KEPT" ] && [ ! -e "$KEPT" ]
}
check "bench: no namespace or temporary folder is left" left_behind
