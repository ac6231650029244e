#!/bin/sh
# Run every conformance binary in <builddir>/conformance/ and summarise.
#   sh conformance/run.sh build
# Each binary (built from conformance/NN_name_test.c) runs under
# `timeout 300`. With HEARTH_URL set the binaries talk to that CSE;
# otherwise each starts its own daemon (HEARTH_BIN, default
# <builddir>/hearth-cse) through the harness. HEARTH_CSE_ID, HEARTH_CSE_RN,
# HEARTH_ADMIN, HEARTH_SP_ID and HEARTH_KEEP pass through unchanged.
# Ends with "conformance: N passed, M failed"; exit 1 if any failed.
set -u
B=${1:-build}
dir="$B/conformance"
if [ -z "${HEARTH_URL:-}" ] && [ -z "${HEARTH_BIN:-}" ]; then
	HEARTH_BIN="$B/hearth-cse"
	export HEARTH_BIN
fi
passed=0
failed=0
failed_names=""
for t in "$dir"/[0-9]*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "==== $name"
	timeout 300 "$t"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "==== $name: ok"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		if [ "$rc" -eq 124 ]; then
			echo "==== $name: FAILED (timed out after 300 s)"
		else
			echo "==== $name: FAILED (exit status $rc)"
		fi
	fi
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
