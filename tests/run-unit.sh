#!/bin/sh
# run-unit.sh BUILDDIR - run every unit test binary in BUILDDIR/tests/.
#
# Each binary runs under a 120 s timeout; its name is printed before its
# output. Exits 1 when any test fails, times out, or none is found. The last
# line is always "unit: N passed, M failed".
set -u

if [ $# -ne 1 ]; then
	echo "usage: sh tests/run-unit.sh BUILDDIR" >&2
	exit 2
fi
dir="$1/tests"
passed=0
failed=0
failed_names=""

for t in "$dir"/*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then
		continue
	fi
	name=$(basename "$t")
	echo "=== $name"
	timeout 120 "$t"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		if [ "$rc" -eq 124 ]; then
			echo "=== $name: TIMEOUT after 120 s"
		else
			echo "=== $name: FAILED (exit $rc)"
		fi
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done

status=0
if [ $((passed + failed)) -eq 0 ]; then
	echo "no unit test binaries in $dir"
	status=1
fi
if [ "$failed" -ne 0 ]; then
	echo "failed:$failed_names"
	status=1
fi
echo "unit: $passed passed, $failed failed"
exit $status
