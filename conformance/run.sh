#!/bin/sh
# Run the conformance binaries in <builddir>/conformance/ once per
# binding/serialization pass and summarise.
#   sh conformance/run.sh build
# Passes (HEARTH_PASSES, default "http:json http:xml mqtt:json mqtt:xml"),
# each exported to the harness as HEARTH_BINDING / HEARTH_FORMAT:
#   http:json  every binary (the historical run);
#   http:xml   the groups 01-06 (registration ... ACP) and 13 (device
#              management), content as XML;
#   mqtt:json  the same groups over a private mosquitto; skipped (with a
#              message) when mosquitto is not installed;
#   mqtt:xml   the same groups over MQTT with XML primitives (xml topics);
#   https:json the groups 01-06 once over TLS: the harness makes a CA and a
#              server certificate and the daemon serves HTTPS only.
# Each binary runs under `timeout 300`. With HEARTH_URL set the binaries
# talk to that CSE; otherwise each starts its own daemon (HEARTH_BIN,
# default <builddir>/hearth-cse) through the harness. HEARTH_CSE_ID,
# HEARTH_CSE_RN, HEARTH_ADMIN, HEARTH_SP_ID and HEARTH_KEEP pass through
# unchanged. One summary line per pass; ends with
# "conformance: N passed, M failed" (binaries, summed over the passes);
# exit 1 if any failed.
set -u
B=${1:-build}
dir="$B/conformance"
if [ -z "${HEARTH_URL:-}" ] && [ -z "${HEARTH_BIN:-}" ]; then
	HEARTH_BIN="$B/hearth-cse"
	export HEARTH_BIN
fi
passes=${HEARTH_PASSES:-"http:json http:xml mqtt:json mqtt:xml https:json"}

have_mosquitto() {
	if [ -n "${HEARTH_MOSQUITTO:-}" ]; then
		[ -x "$HEARTH_MOSQUITTO" ]
		return
	fi
	for m in /usr/sbin/mosquitto /usr/local/sbin/mosquitto /usr/bin/mosquitto /usr/local/bin/mosquitto; do
		[ -x "$m" ] && return 0
	done
	return 1
}

passed=0
failed=0
failed_names=""
summaries=""
for pass in $passes; do
	binding=${pass%%:*}
	format=${pass#*:}
	label="$binding+$format"
	case "$pass" in
	http:json) groups="[0-9]*" ;;
	http:xml | mqtt:json | mqtt:xml) groups="0[1-6]_* 13_*" ;;
	https:json) groups="0[1-6]_*" ;;
	*)
		echo "==== pass $label: unknown pass (want http:json, http:xml, mqtt:json, mqtt:xml or https:json)"
		failed=$((failed + 1))
		failed_names="$failed_names $label"
		continue ;;
	esac
	if [ "$binding" = mqtt ] && [ -z "${HEARTH_URL:-}" ] && ! have_mosquitto; then
		echo "==== pass $label: skipped (mosquitto is not installed)"
		summaries="$summaries
pass $label: skipped (mosquitto is not installed)"
		continue
	fi
	p_ok=0
	p_bad=0
	for t in $(for g in $groups; do echo "$dir"/$g; done); do
		case "$t" in *_test) ;; *) continue ;; esac
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "==== [$label] $name"
		HEARTH_BINDING=$binding HEARTH_FORMAT=$format timeout 300 "$t"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			p_ok=$((p_ok + 1))
			echo "==== [$label] $name: ok"
		else
			p_bad=$((p_bad + 1))
			failed_names="$failed_names $label/$name"
			if [ "$rc" -eq 124 ]; then
				echo "==== [$label] $name: FAILED (timed out after 300 s)"
			else
				echo "==== [$label] $name: FAILED (exit status $rc)"
			fi
		fi
	done
	echo "==== pass $label: $p_ok passed, $p_bad failed"
	summaries="$summaries
pass $label: $p_ok passed, $p_bad failed"
	passed=$((passed + p_ok))
	failed=$((failed + p_bad))
done
echo "$summaries" | sed '/^$/d'
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
