#!/bin/sh
# tests/fuzz/run.sh - drive the libFuzzer targets (called by mk/fuzz.mk).
#
#   run.sh check CC OUTDIR              fail with an install hint without libFuzzer
#   run.sh fuzz  OUTDIR SECONDS T...    fuzz each target SECONDS on OUTDIR/corpus/T
#                                       (seeds copied in; grows across runs)
#   run.sh smoke OUTDIR SECONDS T...    fresh copy of the seeds + regressions,
#                                       then SECONDS of fuzzing
#
# Targets run one after another (the machine is shared). Every run uses the
# target's dictionary tests/fuzz/T.dict, its -max_len, and also loads
# tests/fuzz/regressions/T/ (inputs that once crashed). A crash, leak,
# timeout, out-of-memory or sanitizer report fails the target; the input is
# kept under OUTDIR/crashes/T/ and the log under OUTDIR/logs/T.log. One line
# per run is appended to OUTDIR/stats.tsv (date, target, mode, seconds,
# executions, corpus files, result). Exit status 1 when any target failed.
set -u

mode=${1:-}
here=tests/fuzz

max_len() {
	case $1 in
	fuzz_http_request)  echo 4096 ;;
	fuzz_resource_json) echo 4096 ;;
	fuzz_xml)           echo 4096 ;;
	fuzz_filter)        echo 1024 ;;
	fuzz_address)       echo 1100 ;; # HL_MAX_ID (1024) and a bit over
	fuzz_config)        echo 2048 ;;
	fuzz_signed)        echo 8192 ;; # a JWS with an x5c certificate chain
	*)                  echo 4096 ;;
	esac
}

if [ "$mode" = check ]; then
	cc=$2 out=$3
	mkdir -p "$out"
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		> "$out/check.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined "$out/check.c" -o "$out/check" \
		> "$out/check.log" 2>&1; then
		echo "fuzz: '$cc' cannot build a libFuzzer target (-fsanitize=fuzzer,address,undefined):"
		sed 's/^/  /' "$out/check.log" | head -5
		echo "fuzz: install clang and its runtime: sudo apt-get install -y clang libclang-rt-14-dev"
		echo "      (tools/deps.sh does it), or pass FUZZ_CC=/path/to/clang"
		exit 1
	fi
	exit 0
fi

if [ "$mode" != fuzz ] && [ "$mode" != smoke ]; then
	echo "usage: $0 check CC OUTDIR | fuzz|smoke OUTDIR SECONDS TARGET..." >&2
	exit 2
fi
out=$2 secs=$3
shift 3
failed=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$out/logs"

for t in "$@"; do
	seeds=$here/corpus/$t
	if [ "$mode" = smoke ]; then
		corpus=$out/smoke-corpus/$t
		rm -rf "$corpus"
	else
		corpus=$out/corpus/$t
	fi
	crashes=$out/crashes/$t
	log=$out/logs/$t.log
	mkdir -p "$corpus" "$crashes"
	[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	set -- "$corpus"
	[ -d "$here/regressions/$t" ] && set -- "$@" "$here/regressions/$t"
	dict=""
	[ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$out/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" $dict \
		-timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$@" > "$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	files=$(find "$corpus" -type f | wc -l | tr -d ' ')
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="FAIL($rc)"
		failed="$failed $t"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$mode" \
		"$took" "${execs:-?}" "$files" "$result" >> "$out/stats.tsv"
	echo "fuzz: $t ($mode): ${took}s, ${execs:-?} executions, corpus $files files: $result"
	if [ "$rc" -ne 0 ]; then
		echo "---- last lines of $log"
		tail -n 60 "$log"
		echo "---- crashing input(s) kept in $crashes/:"
		ls -l "$crashes"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (logs in $out/logs/, inputs in $out/crashes/)"
	exit 1
fi
echo "fuzz: all targets passed"
exit 0
