#!/bin/bash
# Run every test: the unit test binaries, then the integration scripts
# against BUILD, then the same again against the ASan+UBSan build in
# BUILD/asan (make asan), then the unit tests and the server's worker
# threads (the workers part of test_accounting.sh) against the
# ThreadSanitizer build in BUILD/tsan (make tsan).
#
#   tests/run.sh [BUILD] [PATTERN]      BUILD defaults to build
#   TESTS=PATTERN tests/run.sh build    only tests whose name matches the
#                                       extended regex PATTERN (e.g. socks|udp)
#   TEST_TIMEOUT=600                    seconds allowed per integration script
#   FUZZ_SMOKE_SECONDS=5                seconds per fuzz target (tests/fuzz/)
#
# Each check is one line "PASS name" / "FAIL name: reason" / "SKIP name:
# reason"; the last line is "N passed, M failed". Exit status 1 when
# anything failed or nothing ran.

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
n=0
for arg in "$@"; do
	case $arg in
	TESTS=*) TESTS=${arg#TESTS=} ;;
	-h | --help)
		sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		n=$((n + 1))
		if [ "$n" -eq 1 ]; then BUILD=$arg; else TESTS=$arg; fi
		;;
	esac
done
TESTS=${TESTS:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}	# seconds per integration script
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
unset RESULTS PROXY_ASAN

# Many flows at once: raise the descriptor limit when allowed.
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 65536 ]; then
	ulimit -Hn 65536 2>/dev/null
fi
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
echo "# open files limit: $(ulimit -Sn)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxy-run.XXXXXX") || exit 1
ALL=$WORK/all
: >"$ALL"
RUNNING=		# pid (and process group) of the test script running now
on_exit() {
	if [ -n "$RUNNING" ]; then
		kill -TERM "$RUNNING" 2>/dev/null	# timeout passes it on
		wait "$RUNNING" 2>/dev/null
		kill_group "$RUNNING" "the interrupted test"
	fi
	rm -rf "$WORK"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

selected() {	# NAME: matches $TESTS?
	[ -z "$TESTS" ] || [[ $1 =~ $TESTS ]]
}

# add KIND LABEL [REASON]: one aggregated result line.
add() {
	local line="$1 $2"
	[ $# -ge 3 ] && line="$line: $3"
	printf '%s\n' "$line" >>"$ALL"
	printf '%s\n' "$line"
}

SANITIZER_RE='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|WARNING: ThreadSanitizer'

# run_unit DIR PREFIX: every test_* binary in DIR.
run_unit() {
	local dir=$1 prefix=$2 bin name out rc n=0
	for bin in "$dir"/test_*; do
		{ [ -f "$bin" ] && [ -x "$bin" ]; } || continue
		n=$((n + 1))
		name=$(basename "$bin")
		selected "$name" || continue
		out=$WORK/unit.out
		(cd "$ROOT" && timeout -k 10 300 "$bin") >"$out" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && ! grep -qE "$SANITIZER_RE" "$out"; then
			add PASS "$prefix$name"
		else
			if [ "$rc" -eq 124 ]; then
				add FAIL "$prefix$name" "timed out after 300 s"
			elif [ "$rc" -eq 0 ]; then
				add FAIL "$prefix$name" "sanitizer report"
			else
				add FAIL "$prefix$name" "exit status $rc"
			fi
			sed 's/^/    | /' "$out" | tail -n 100
		fi
	done
	[ "$n" -gt 0 ] || echo "# no unit test binaries in $dir"
}

# kill_group PGID NAME: end what a finished test script left running.
kill_group() {
	local pg=$1 i
	kill -0 -- "-$pg" 2>/dev/null || return 0
	echo "# $2 left processes running: stopping them"
	kill -TERM -- "-$pg" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		kill -0 -- "-$pg" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null
	return 0
}

# run_integration PREFIX: every tests/integration/test_*.sh against $BUILD
# (exported by the caller).
run_integration() {
	local prefix=$1 script name res rc kind rest start
	for script in "$ROOT"/tests/integration/test_*.sh; do
		[ -f "$script" ] || continue
		name=$(basename "$script")
		selected "$name" || continue
		echo "== $prefix$name"
		res=$WORK/results.$$.$RANDOM
		: >"$res"
		start=$SECONDS
		# timeout puts the script in a process group of its own: on a
		# timeout the whole group gets the signal, and whatever the
		# script left running is found by that group id afterwards.
		RESULTS=$res timeout -k 10 "$TEST_TIMEOUT" bash "$script" </dev/null &
		RUNNING=$!
		wait "$RUNNING"
		rc=$?
		kill_group "$RUNNING" "$name"
		RUNNING=
		# the suite has a time budget: say where it goes
		echo "# $prefix$name took $((SECONDS - start)) s"
		while read -r kind rest; do
			case $kind in
			PASS | FAIL | SKIP)
				# "SKIP test_x.sh: reason" from need_root stays as is.
				[ "${rest%%: *}" = "$name" ] && rest=${rest#"$name: "}
				printf '%s %s%s: %s\n' "$kind" "$prefix" "$name" "$rest" >>"$ALL"
				;;
			esac
		done <"$res"
		if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$res"; then
			if [ $((SECONDS - start)) -ge "$TEST_TIMEOUT" ]; then
				add FAIL "$prefix$name" "timed out after $TEST_TIMEOUT s"
			elif [ "$rc" -gt 128 ]; then
				add FAIL "$prefix$name" "killed by signal $((rc - 128))"
			else
				add FAIL "$prefix$name" "exited with status $rc"
			fi
		elif [ ! -s "$res" ]; then
			add FAIL "$prefix$name" "recorded no result"
		fi
		rm -f "$res"
	done
}

export ROOT
cd "$ROOT" || exit 1

echo "== unit tests ($BUILD/tests)"
run_unit "$BUILD/tests" "unit/"

export BUILD
run_integration ""

ASAN=$BUILD/asan
if [ -d "$ASAN/tests" ]; then
	echo "== unit tests under ASan+UBSan ($ASAN/tests)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_unit "$ASAN/tests" "asan/unit/"
fi
if [ -x "$ASAN/proxy-server" ] && [ -x "$ASAN/proxy-client" ]; then
	BUILD=$ASAN PROXY_ASAN=1 run_integration "asan/"
else
	add SKIP "asan/integration" "$ASAN/proxy-server not built (make asan)"
fi

# ThreadSanitizer: the unit tests, and of the integration scripts only the
# part that runs the server's worker threads (the suite's time).
TSAN=$BUILD/tsan
if [ -d "$TSAN/tests" ]; then
	echo "== unit tests under TSan ($TSAN/tests)"
	TSAN_OPTIONS=halt_on_error=0 run_unit "$TSAN/tests" "tsan/unit/"
fi
if ! selected test_accounting.sh; then
	:
elif [ -x "$TSAN/proxy-server" ] && [ -x "$TSAN/proxy-client" ]; then
	(TESTS='^test_accounting\.sh$' BUILD=$TSAN PROXY_ASAN=1 \
		ACCOUNTING_PART=workers TSAN_OPTIONS=halt_on_error=0 \
		run_integration "tsan/")
else
	add SKIP "tsan/integration" "$TSAN/proxy-server not built (make tsan)"
fi

# The C sources as .clang-format says (tests/lint.sh, make lint): a patch
# formatted otherwise fails here, with the lines clang-format would change.
if selected lint; then
	echo "== lint"
	lint_out=$("$ROOT/tests/lint.sh" 2>&1)
	case $? in
	0) add PASS lint "the C sources are formatted as .clang-format says" ;;
	2) add SKIP lint "$(tail -n 1 <<<"$lint_out")" ;;
	*)
		tail -n 60 <<<"$lint_out"
		add FAIL lint "clang-format would change the sources (make lint; clang-format -i FILE)"
		;;
	esac
fi

# libFuzzer targets, FUZZ_SMOKE_SECONDS (default 5) each on their seed
# corpus: a parser regression fails here (tests/fuzz/run.sh; SKIP without
# clang or libFuzzer).
RESULTS=$ALL TESTS=$TESTS FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-5} \
	"$ROOT/tests/fuzz/run.sh" "$BUILD" </dev/null

# ---------------------------------------------------------------- summary
passed=$(grep -c '^PASS ' "$ALL")
failed=$(grep -c '^FAIL ' "$ALL")
skipped=$(grep -c '^SKIP ' "$ALL")
echo
echo "==================== summary"
if [ "$skipped" -gt 0 ]; then
	grep '^SKIP ' "$ALL"
fi
if [ "$failed" -gt 0 ]; then
	grep '^FAIL ' "$ALL"
fi
[ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && echo "no test ran"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
