#!/bin/bash
# The two-tier demonstration (make demo-two-tier):
#   an IN-CSE (the operator's cloud), an MN-CSE registered to it (a home
#   gateway), three devices running hearth-device behind the gateway, and a
#   download server holding one new firmware image.
# From the IN-CSE side one request sets ud=true on a device's firmware; the
# IN forwards it to the gateway, the gateway hands the operation to the
# device, the device downloads, verifies, installs into its other slot,
# reboots into it and reports. The script exits 0 only when uds ended
# successful and the new version is visible at the IN-CSE through the
# announced resources; it stops everything it started in every case.
#
#   examples/two-tier/run.sh [BUILD_DIR]     (default: build)
set -eu

B=${1:-build}
for bin in hearth-cse hearth-device hearth-files; do
	[ -x "$B/$bin" ] || { echo "two-tier: $B/$bin is missing (run make first)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "two-tier: curl is missing" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-two-tier.XXXXXX")
PIDS=()
cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		echo "two-tier: FAILED; logs kept in $WORK" >&2
		tail -n 5 "$WORK"/*.log >&2 || true
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port VAR: a loopback TCP port nothing answers on, into VAR (not in
# a subshell: the counter must advance).
next_port=$((20000 + RANDOM % 10000))   # below the ephemeral range (32768-)
free_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
		next_port=$((next_port + 1))
	done
	printf -v "$1" '%s' "$next_port"
	next_port=$((next_port + 1))
}

# oneM2M request over HTTP: m2m METHOD URL ORIGIN [BODY]; prints the body.
rqn=0
m2m() {
	rqn=$((rqn + 1))
	local args=(-s -X "$1" -H "X-M2M-Origin: $3" -H "X-M2M-RI: demo-$rqn" -H 'X-M2M-RVI: 3'
	            -H 'Accept: application/json')
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' -d "$4")
	curl "${args[@]}" "$2"
}

# The value of one attribute of the resource in a JSON answer.
attr() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -n 1; }

wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

free_port IN_PORT; free_port MN_PORT; free_port FILES_PORT
IN="http://127.0.0.1:$IN_PORT"; MN="http://127.0.0.1:$MN_PORT"

echo "== IN-CSE /id-in on $IN, MN-CSE /id-mn on $MN (registrar: the IN)"
"$B/hearth-cse" --http-port "$IN_PORT" --db "$WORK/in.db" --registrar-check 2 --log-level warn \
	2>"$WORK/in.log" & PIDS+=($!)
"$B/hearth-cse" --cse-type mn --http-port "$MN_PORT" --db "$WORK/mn.db" \
	--registrar-url "$IN" --registrar-check 2 --admin /id-in/CAdmin --mgmt-timeout 60 \
	--log-level info 2>"$WORK/mn.log" & PIDS+=($!)

mkdir -p "$WORK/images"
IMAGE=th10-fw-2.1.0.bin
printf 'HEARTH-IMAGE v1 version=2.1.0 model=TH10\n%s\n' "thermostat firmware 2.1.0" >"$WORK/images/$IMAGE"
SHA=$(sha256sum "$WORK/images/$IMAGE" | cut -d' ' -f1)
"$B/hearth-files" --dir "$WORK/images" --port "$FILES_PORT" 2>"$WORK/files.log" & PIDS+=($!)

registered() { m2m GET "$IN/cse-in/id-mn" CAdmin | grep -q '"csi":"/id-mn"'; }
wait_for 10 registered || { echo "two-tier: the MN-CSE did not register" >&2; exit 1; }

# Three devices: manufacturer model serial firmware
DEVICES=("Acme TH10 1001 1.0.0" "Acme PL2 2002 3.4.1" "Zeta CAM1 3003 0.9.7")
i=0
for d in "${DEVICES[@]}"; do
	set -- $d
	i=$((i + 1))
	free_port DEV_PORT
	"$B/hearth-device" --cse-url "$MN" --cse-id id-mn --cse-rn cse-mn --listen-port "$DEV_PORT" \
		--state-dir "$WORK/dev$i" --manufacturer "$1" --model "$2" --serial "$3" --fw-version "$4" \
		--announce-to id-in 2>"$WORK/dev$i.log" & PIDS+=($!)
done

announced() { # announced NODE: its firmware copy is at the IN
	m2m GET "$IN/cse-in/id-mn/$1/firmware" CAdmin | grep -q '"ty":10013'
}
for d in "${DEVICES[@]}"; do
	set -- $d
	wait_for 15 announced "$2-$3-node" || { echo "two-tier: device $2-$3 was not announced" >&2; exit 1; }
done

table() {
	printf '   %-16s %-8s %-10s %-10s %s\n' device model firmware fwv "update status"
	for d in "${DEVICES[@]}"; do
		set -- $d
		local fw dvi
		fw=$(m2m GET "$IN/cse-in/id-mn/$2-$3-node/firmware" CAdmin)
		dvi=$(m2m GET "$IN/cse-in/id-mn/$2-$3-node/deviceInfo" CAdmin)
		printf '   %-16s %-8s %-10s %-10s %s\n' "$2-$3-node" "$2" "$(echo "$fw" | attr vr)" \
			"$(echo "$dvi" | attr fwv)" "$(echo "$fw" | sed -n 's/.*"uds":\({[^}]*}\).*/\1/p')"
	done
}
echo "== inventory at the IN-CSE, from the announced resources (before)"
table

TARGET=TH10-1001-node
echo "== the request: at the IN-CSE, for the firmware of $TARGET on the MN-CSE"
BODY="{\"m2m:fwr\":{\"url\":\"http://127.0.0.1:$FILES_PORT/$IMAGE#sha256=$SHA\",\"ud\":true}}"
echo "   PUT $IN/~/id-mn/cse-mn/$TARGET/firmware  (X-M2M-Origin: CAdmin)"
echo "   $BODY"
ANSWER=$(m2m PUT "$IN/~/id-mn/cse-mn/$TARGET/firmware" CAdmin "$BODY")
echo "$ANSWER" | grep -q '"sus":3' || { echo "two-tier: the update was not accepted: $ANSWER" >&2; exit 1; }
echo "   -> accepted, uds $(echo "$ANSWER" | sed -n 's/.*"uds":\({[^}]*}\).*/\1/p')"

ended() { # the status at the gateway (through the IN) is no longer in process
	STATUS=$(m2m GET "$IN/~/id-mn/cse-mn/$TARGET/firmware" CAdmin)
	echo "$STATUS" | grep -q '"sus":[12]'
}
wait_for 60 ended || { echo "two-tier: the update did not end within 60 s" >&2; exit 1; }
echo "$STATUS" | grep -q '"sus":1' || { echo "two-tier: the update failed: $STATUS" >&2; exit 1; }
echo "   -> uds successful, dc \"$(echo "$STATUS" | attr dc)\""

visible() { # the new version in the announced firmware and deviceInfo at the IN
	m2m GET "$IN/cse-in/id-mn/$TARGET/firmware" CAdmin | grep -q '"vr":"2.1.0"' &&
		m2m GET "$IN/cse-in/id-mn/$TARGET/deviceInfo" CAdmin | grep -q '"fwv":"2.1.0"'
}
wait_for 15 visible || { echo "two-tier: version 2.1.0 is not visible at the IN-CSE" >&2; exit 1; }
echo "== inventory at the IN-CSE (after)"
table
echo "two-tier: OK - $TARGET runs firmware 2.1.0, seen at the IN-CSE"
