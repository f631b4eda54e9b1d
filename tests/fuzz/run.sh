#!/bin/bash
# Run the libFuzzer targets of tests/fuzz/ for a bounded time each.
#
#   tests/fuzz/run.sh [--no-build] [BUILD] [TARGET...]
#
# BUILD defaults to build; the binaries are BUILD/fuzz/fuzz_TARGET (built
# with `make fuzz-build` first unless --no-build). TARGET is frame,
# socks5, addr, conf or daemon_conf; default: all of them.
#
#   FUZZ_SECONDS=60     seconds per target
#   FUZZ_JOBS=N         targets run at once (default: the processor count)
#   FUZZ_CC=clang       compiler (must ship the libFuzzer runtime)
#   RESULTS=FILE        also append the result lines to FILE (tests/run.sh)
#   TESTS=REGEX         only targets whose name (fuzz/fuzz_frame, ...)
#                       matches
#
# Each target runs on a fresh copy of its seed corpus in
# BUILD/fuzz/work/TARGET (the repository's corpus is never written; new
# inputs stay there for `-merge=1` by hand). A crashing input is saved as
# BUILD/fuzz/crashes/TARGET/crash-* (or leak-*, timeout-*, oom-*).
# One line per target, "PASS fuzz/fuzz_frame" or "FAIL fuzz/fuzz_frame:
# reason", or "SKIP fuzz: reason" when clang or libFuzzer is missing.
# Exit status 1 when a target failed.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ALL_TARGETS="frame socks5 addr conf daemon_conf dns_msg"
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_CC=${FUZZ_CC:-clang}
TESTS=${TESTS:-}
build=1
BUILD=
targets=()
for arg in "$@"; do
	case $arg in
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		if [ -z "$BUILD" ] && [ ${#targets[@]} -eq 0 ] &&
			! [[ " $ALL_TARGETS " == *" ${arg#fuzz_} "* ]]; then
			BUILD=$arg
		else
			targets+=("${arg#fuzz_}")
		fi
		;;
	esac
done
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$ALL_TARGETS"

record() {	# KIND NAME [REASON]
	local line="$1 $2"
	[ $# -ge 3 ] && line="$line: $3"
	printf '%s\n' "$line"
	if [ -n "${RESULTS:-}" ]; then
		printf '%s\n' "$line" >>"$RESULTS"
	fi
}

selected=()
for t in "${targets[@]}"; do
	if ! [[ " $ALL_TARGETS " == *" $t "* ]]; then
		echo "fuzz: unknown target '$t' (known: $ALL_TARGETS)" >&2
		exit 2
	fi
	[ -z "$TESTS" ] || [[ fuzz/fuzz_$t =~ $TESTS ]] || continue
	selected+=("$t")
done
[ ${#selected[@]} -gt 0 ] || exit 0
echo "== fuzz targets (${FUZZ_SECONDS} s each): ${selected[*]}"

if [ "$build" = 1 ]; then
	if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
		record SKIP fuzz "$FUZZ_CC not found (make deps installs clang)"
		exit 0
	fi
	probe=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-probe.XXXXXX") || exit 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$probe/p.c"
	if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$probe/p" \
		"$probe/p.c" >"$probe/log" 2>&1; then
		record SKIP fuzz "$FUZZ_CC cannot link -fsanitize=fuzzer (no libFuzzer runtime): $(head -n 1 "$probe/log")"
		rm -rf "$probe"
		exit 0
	fi
	rm -rf "$probe"
	if ! make -s -C "$ROOT" --no-print-directory -j2 BUILD="$BUILD" \
		FUZZ_CC="$FUZZ_CC" FUZZ_TARGETS="${selected[*]}" fuzz-build; then
		record FAIL fuzz/build "make fuzz-build failed"
		exit 1
	fi
fi

# fuzz_one TARGET: one target's run: prints its lines, records its result
# (record), status 1 when it failed.
fuzz_one() {
	local t=$1 name bin work crashes log opts dict before after rc runs input what
	name=fuzz/fuzz_$t
	bin=$BUILD/fuzz/fuzz_$t
	work=$BUILD/fuzz/work/$t
	crashes=$BUILD/fuzz/crashes/$t
	log=$BUILD/fuzz/fuzz_$t.log
	if [ ! -x "$bin" ]; then
		record FAIL "$name" "$bin not built (make fuzz-build)"
		return 1
	fi
	rm -rf "$work"
	mkdir -p "$work" "$crashes"
	cp "$ROOT/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null
	opts=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$crashes/")
	case $t in
	frame) opts+=(-max_len=17000 -dict="$ROOT/tests/fuzz/frame.dict") ;;
	socks5) opts+=(-max_len=1200) ;;
	addr) opts+=(-max_len=600) ;;
	conf | daemon_conf)
		# the static words, plus every directive name of the daemons'
		# tables as they are today
		dict=$BUILD/fuzz/conf.dict
		{
			cat "$ROOT/tests/fuzz/conf.dict"
			sed -n 's/^[[:space:]]*{ "\([A-Za-z0-9_-]\{1,\}\)",.*/"\1"/p' \
				"$ROOT"/proxy-server/*conf*.[ch] \
				"$ROOT"/proxy-client/*conf*.[ch] \
				"$ROOT"/common/*conf*.[ch] | sort -u
		} >"$dict"
		opts+=(-max_len=10000 -dict="$dict") ;;
	esac
	echo "# $name: ${FUZZ_SECONDS} s on $(find "$work" -type f | wc -l) inputs"
	before=$(find "$crashes" -type f | wc -l)
	# LeakSanitizer reports what one input leaked; UBSan stops at once.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout -k 10 $((FUZZ_SECONDS + 120)) "$bin" "${opts[@]}" "$work" \
		>"$log" 2>&1
	rc=$?
	after=$(find "$crashes" -type f | wc -l)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
		echo "# $name: ${runs:-?} runs, corpus now $(find "$work" -type f | wc -l) inputs"
		record PASS "$name"
		return 0
	fi
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	# the most telling line: a broken invariant or UBSan's file:line,
	# else the sanitizer's summary
	what=$(grep -m 1 -E 'invariant broken:|runtime error:' "$log" ||
		grep -m 1 -E '^SUMMARY: ' "$log" ||
		grep -m 1 -E 'ERROR: ' "$log")
	what=${what#==*== }
	[ -n "$what" ] || what="exit status $rc"
	record FAIL "$name" "${what}${input:+; input saved as $input}"
	grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken:' \
		"$log" | head -n 60 | sed 's/^/    | /'
	echo "    | (whole log: $log)"
	return 1
}

# The targets are independent and each is one process busy on one core:
# up to FUZZ_JOBS of them (default: the number of processors) run at once,
# each still for FUZZ_SECONDS; their lines come out in target order.
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$FUZZ_JOBS" -ge 1 ] 2>/dev/null || FUZZ_JOBS=1
OUT=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-run.XXXXXX") || exit 1
trap 'rm -rf "$OUT"' EXIT
for t in "${selected[@]}"; do
	while [ "$(jobs -pr | wc -l)" -ge "$FUZZ_JOBS" ]; do
		wait -n
	done
	(
		RESULTS=$OUT/$t.res fuzz_one "$t"
		echo "$?" >"$OUT/$t.rc"
	) >"$OUT/$t.out" 2>&1 &
done
wait
failed=0
for t in "${selected[@]}"; do
	cat "$OUT/$t.out"
	[ -f "$OUT/$t.res" ] && [ -n "${RESULTS:-}" ] && cat "$OUT/$t.res" >>"$RESULTS"
	[ "$(cat "$OUT/$t.rc" 2>/dev/null)" = 0 ] || failed=1
done
exit "$failed"
