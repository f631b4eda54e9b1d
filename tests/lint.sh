#!/bin/bash
# Check that the C sources are formatted as .clang-format says (make lint).
#
#   tests/lint.sh            clang-format --dry-run --Werror over every .c/.h
#                            of the daemons, the unit tests, the fuzz targets
#                            and the benchmark; exit 1 when any would change
#   tests/lint.sh --summary  only "N file" for each file that would change
#                            (N: its lines clang-format rewrites) and a total
#   tests/lint.sh FILE...    the same for the files given
#
# The style is clang-format 14's reading of .clang-format (Debian's
# clang-format package, installed by make deps); another version may wrap
# a few lines differently. To apply it: clang-format -i FILE.

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
DIRS="common proxy-client proxy-server redir tests/unit tests/fuzz tests/bench"

summary=0
if [ "${1:-}" = --summary ]; then
	summary=1
	shift
fi

if ! command -v clang-format >/dev/null 2>&1; then
	echo "lint: clang-format not found (make deps installs it)" >&2
	exit 2
fi
ver=$(clang-format --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
[ "$ver" = 14 ] ||
	echo "lint: note: clang-format $ver, the style was tuned with 14" >&2

if [ $# -gt 0 ]; then
	files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # DIRS is a word list
	mapfile -t files < <(git ls-files -- $DIRS | grep -E '\.[ch]$')
else
	# shellcheck disable=SC2086
	mapfile -t files < <(find $DIRS -name '*.[ch]' | sort)
fi

if [ "$summary" = 0 ]; then
	clang-format --style=file --dry-run --Werror "${files[@]}"
	exit
fi

total=0
for f in "${files[@]}"; do
	n=$(clang-format --style=file "$f" | diff -- "$f" - | grep -c '^<')
	[ "$n" -gt 0 ] && echo "$n $f"
	total=$((total + n))
done
echo "$total lines would change"
[ "$total" = 0 ]
