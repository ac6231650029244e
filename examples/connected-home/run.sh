#!/bin/bash
# The connected-home demonstration (make demo):
#
#   an IN-CSE (the operator's cloud) and a mosquitto broker;
#   two home gateways (MN-CSEs with device attestation and verified
#   updates): home A registered to the IN over HTTP, home B over MQTT;
#   three manufacturers' update services (hearth-vendor over HTTPS, a
#   throwaway CA): Acme lamp, Globex plug, Initech thermostat, the lamp
#   with a known-exploited (kev) advisory;
#   six devices (hearth-device), three per home: current ones, outdated
#   ones (the Acme lamp 1.0 is critical through the advisory) and one
#   whose certificate was not issued by its manufacturer's CA;
#   the operator's coordinator (hearth-coordinator) pinning the vendors'
#   keys and CAs and holding the operator key.
#
# Flow: inventory -> plan -> launch a campaign -> wait until it settles ->
# (with build/hearth-consent: home A grants, home B refuses, launch again)
# -> final table, var/demo-report.json, and a check of every outcome.
# Exit status 0 only when every device ended as expected; everything the
# script started is stopped in every case, temporary files live in a
# mktemp directory (kept, with the logs, on failure).
#
#   examples/connected-home/run.sh [BUILD_DIR]     (default: build)

# The tables below are split into fields on purpose (set -- $entry).
# shellcheck disable=SC2086
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "demo: build directory ${1:-build} is missing (run make first)" >&2; exit 2; }
for bin in hearth-cse hearth-device hearth-sign hearth-vendor hearth-coordinator; do
	[ -x "$B/$bin" ] || { echo "demo: $B/$bin is missing (run make first)" >&2; exit 2; }
done
for cmd in curl jq openssl mosquitto; do
	command -v "$cmd" >/dev/null || { echo "demo: $cmd is missing (tools/deps.sh installs it)" >&2; exit 2; }
done
CONSENT="$B/hearth-consent"

REPORT="$ROOT/var/demo-report.json"
CAMPAIGN=spring
COORD_ID=Ccoordinator          # the coordinator's AE-ID: a plain AE, the CSEs' device-management operator
ADMIN_ID=CAdmin                # the operator's administrator (not used by the flow)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-demo.XXXXXX")
PIDS=()

# ---------------------------------------------------------------- helpers

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# in reverse order of start, each one waited for: devices, gateways,
	# the IN, then the broker (a gateway whose broker is already gone
	# can take seconds to stop), the vendors last
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null || true
		wait "${PIDS[i]}" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		echo "demo: FAILED (exit $rc); logs kept in $WORK" >&2
		for f in "$WORK"/*.log; do
			[ -s "$f" ] || continue
			echo "--- $f" >&2
			tail -n 5 "$f" >&2
		done
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START_NS=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - START_NS) / 1000000)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }
say() { printf '\n== [%s] %s\n' "$(elapsed)" "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

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

# start LOG COMMAND...: run in the background, remember its pid.
start() {
	local log=$1; shift
	"$@" >"$WORK/$log" 2>&1 &
	PIDS+=($!)
}

wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# oneM2M retrieve over HTTP: get URL [ORIGINATOR]; prints the body. The
# default originator is the coordinator (the operator: it may read the
# remoteCSEs, nodes and mgmtObjs and their announced copies).
rqn=0
get() {
	rqn=$((rqn + 1))
	curl -s -H "X-M2M-Origin: ${2:-$COORD_ID}" -H "X-M2M-RI: demo-$rqn-$RANDOM" -H 'X-M2M-RVI: 3' \
		-H 'Accept: application/json' "$1" || true
}

# ------------------------------------------------------------ the world

# Manufacturers: name model latest seq criticality
VENDORS=("Acme lamp 2.0 2 medium" "Globex plug 3.1 3 low" "Initech thermostat 5.2 4 medium")
# The advisory that makes Acme lamp 1.0 critical (known exploited).
ADVISORY='{"id":"HSA-2026-0042","model":"lamp","affected":["1.0"],"fixed":"2.0","cvss":8.1,"kev":true,
 "title":"Remote code execution in the lamp pairing service","published":"2026-10-01"}'

# Devices: home serial manufacturer model firmware key
#   key: maker (a certificate from its manufacturer's CA), none (keyless,
#   vouched for by the gateway), rogue (a certificate from another CA)
DEVICES=(
	"a 101 Acme lamp 1.0 maker"             # outdated, critical (kev)
	"a 102 Globex plug 3.1 none"            # current
	"a 103 Initech thermostat 5.1 maker"    # outdated, medium: needs consent
	"b 201 Acme lamp 2.0 maker"             # current
	"b 202 Globex plug 3.0 none"            # outdated, low: needs consent
	"b 203 Initech thermostat 5.1 rogue"    # wrong key: attestation fails
)

# ---------------------------------------------------------------- steps

# A TLS CA for the vendor services, one device CA per manufacturer (the
# gateways' trust directory), a rogue CA, vendor keys and the operator key.
make_pki() {
	local d=$WORK/pki v
	mkdir -p "$d/trust" "$d/vkeys"
	ossl() { openssl "$@" >>"$WORK/openssl.log" 2>&1 || die "openssl $1 failed (see $WORK/openssl.log)"; }
	key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
	ca() { # ca STEM O CN
		key "$d/$1.key"
		ossl req -x509 -new -key "$d/$1.key" -subj "/O=$2/CN=$3" -days 30 \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out "$d/$1.pem"
	}
	leaf() { # leaf STEM CA O CN EXTENSIONS
		key "$d/$1.key"
		ossl req -new -key "$d/$1.key" -subj "/O=$3/CN=$4" -out "$d/$1.csr"
		printf '%b' "$5" >"$d/$1.ext"
		ossl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2.key" -CAcreateserial -days 30 \
			-extfile "$d/$1.ext" -out "$d/$1.pem"
	}
	ca tls-ca "Hearth demo" "Hearth demo TLS CA"
	for v in "${VENDORS[@]}"; do
		set -- $v
		leaf "tls-$1" tls-ca "$1" "$1 update service" \
			'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=IP:127.0.0.1\n'
		ca "ca-$1" "$1" "$1 Device CA"
		cp "$d/ca-$1.pem" "$d/trust/$1.pem"
		"$B/hearth-sign" keygen --out "$d/$1.pem" --pub "$d/$1.pub" >/dev/null
		cp "$d/$1.pub" "$d/vkeys/$1.pem"
	done
	ca ca-rogue Initech "Initech Device CA"      # same names, another key
	"$B/hearth-sign" keygen --out "$d/operator.pem" --pub "$d/operator.pub" >/dev/null
	local dev home serial man
	for dev in "${DEVICES[@]}"; do
		set -- $dev; home=$1 serial=$2 man=$3
		case $6 in
		maker) leaf "dev-$serial" "ca-$man" "$man" "$serial" 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' ;;
		rogue) leaf "dev-$serial" ca-rogue "$man" "$serial" 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' ;;
		esac
	done
}

# One hearth-vendor per manufacturer: a release signed with its key
# (hearth-vendor publish), the advisory for Acme, served over HTTPS.
start_vendors() {
	local v dir port
	for v in "${VENDORS[@]}"; do
		set -- $v
		dir=$WORK/vendor-$1
		mkdir -p "$dir/advisories"
		free_port port
		printf -v "PORT_$1" '%s' "$port"
		printf '[vendor]\nname = %s\ntls-cert = %s\ntls-key = %s\npub-key = %s\n' \
			"$1" "$WORK/pki/tls-$1.pem" "$WORK/pki/tls-$1.key" "$WORK/pki/$1.pub" >"$dir/vendor.ini"
		printf 'HEARTH-IMAGE v1 version=%s model=%s\n%s firmware %s\n' "$3" "$2" "$1 $2" "$3" >"$WORK/$2-$3.bin"
		[ "$1" = Acme ] && echo "$ADVISORY" >"$dir/advisories/HSA-2026-0042.json"
		"$B/hearth-vendor" publish --dir "$dir" --key "$WORK/pki/$1.pem" --model "$2" --version "$3" \
			--seq "$4" --hw 1.0 --image "$WORK/$2-$3.bin" --criticality "$5" >>"$WORK/vendor-$1.log" 2>&1 ||
			die "hearth-vendor publish for $1 failed"
		start "vendor-$1.log" "$B/hearth-vendor" serve --dir "$dir" --port "$port"
		echo "   $1 ($2 $3, $5) on https://127.0.0.1:$port"
	done
	for v in "${VENDORS[@]}"; do
		set -- $v
		port=PORT_$1
		wait_for 10 curl -sf --cacert "$WORK/pki/tls-ca.pem" -o /dev/null "https://127.0.0.1:${!port}/v1/catalog" ||
			die "vendor $1 does not answer"
	done
}

start_broker_and_in() {
	free_port MQTT_PORT; free_port IN_PORT
	IN="http://127.0.0.1:$IN_PORT"; BROKER="mqtt://127.0.0.1:$MQTT_PORT"
	printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" >"$WORK/mosquitto.conf"
	start mosquitto.log mosquitto -c "$WORK/mosquitto.conf"
	wait_for 10 port_open "$MQTT_PORT" || die "mosquitto did not start"
	echo "   mosquitto on $BROKER"
	start in.log "$B/hearth-cse" --http-port "$IN_PORT" --db "$WORK/in.db" --admin "$ADMIN_ID" --operator "$COORD_ID" \
		--mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" --registrar-check 2 --log-level warn
	wait_for 10 port_open "$IN_PORT" || die "the IN-CSE did not start"
	echo "   IN-CSE /id-in on $IN (HTTP) and on the broker (MQTT)"
}

# start_gateway HOME: an MN-CSE /id-home-HOME; home a registers over HTTP,
# home b over MQTT (its poa is the broker).
start_gateway() {
	local home=$1 port args
	free_port port
	printf -v "GW_${home}_PORT" '%s' "$port"
	args=(--cse-type mn --cse-id "id-home-$home" --cse-rn "cse-home-$home" --http-port "$port"
	      --db "$WORK/gw-$home.db" --admin "/id-in/$ADMIN_ID" --operator "/id-in/$COORD_ID"
	      --registrar-check 2 --mgmt-timeout 30
	      --attest-trust-dir "$WORK/pki/trust" --update-vendor-keys "$WORK/pki/vkeys"
	      --update-operator-key "$WORK/pki/operator.pub" --transport-tls-ca "$WORK/pki/tls-ca.pem"
	      --log-level info)
	if [ "$home" = a ]; then
		args+=(--registrar-url "$IN")
		echo "   gateway A /id-home-a on http://127.0.0.1:$port, registered to the IN over HTTP"
	else
		args+=(--mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" --poa "$BROKER" --registrar-url "$BROKER")
		echo "   gateway B /id-home-b on http://127.0.0.1:$port, registered to the IN over MQTT ($BROKER)"
	fi
	start "gw-$home.log" "$B/hearth-cse" "${args[@]}"
}

# registered HOME [POA]: the IN holds the gateway's remoteCSE (with that
# poa), and the gateway holds its own remoteCSE of the IN, i.e. it knows
# it is registered. Devices start only then: a node created while the
# gateway is still waiting for its registrar's answer loses its
# announcement (see "Demo: the connected home" in README.md).
registered() {
	local r gw=GW_$1_PORT
	r=$(get "$IN/cse-in/id-home-$1")
	[[ $r == *'"csi":"/id-home-'$1'"'* ]] && [[ -z ${2:-} || $r == *"\"$2\""* ]] || return 1
	r=$(get "http://127.0.0.1:${!gw}/cse-home-$1/id-in" "/id-in/$COORD_ID")
	[[ $r == *'"csi":"/id-in"'* ]]
}

start_devices() {
	local dev port keyargs gw
	for dev in "${DEVICES[@]}"; do
		set -- $dev
		free_port port
		gw=GW_$1_PORT
		keyargs=()
		[ "$6" != none ] && keyargs=(--key "$WORK/pki/dev-$2.key" --cert "$WORK/pki/dev-$2.pem")
		start "dev-$2.log" "$B/hearth-device" --cse-url "http://127.0.0.1:${!gw}" --cse-id "id-home-$1" \
			--cse-rn "cse-home-$1" --listen-port "$port" --state-dir "$WORK/dev-$2" --manufacturer "$3" \
			--model "$4" --serial "$2" --fw-version "$5" --hw-version 1.0 --announce-to id-in "${keyargs[@]}"
		printf '   home %s: %-8s %-11s serial %s firmware %-4s %s\n' "${1^^}" "$3" "$4" "$2" "$5" \
			"$(case $6 in maker) echo "key + certificate from the $3 CA" ;;
			               rogue) echo "key + certificate from ANOTHER CA (wrong key)" ;;
			               none) echo "keyless" ;; esac)"
	done
}

announced() { # announced HOME SERIAL MODEL: node, firmware, deviceInfo and verdict at the IN
	local r
	r=$(get "$IN/cse-in/id-home-$1/$3-$2-node?rcn=4")
	[[ $r == *'"m2m:fwrA"'* && $r == *'"m2m:dviA"'* && $r == *'hearth:trust='* ]]
}

coordinator() { # coordinator COMMAND [ARGS...]: one run, output into WORK/coord-COMMAND.out
	"$B/hearth-coordinator" -c "$WORK/coordinator.ini" "$@" >"$WORK/coord-$1.out" 2>>"$WORK/coordinator.log"
}

write_coordinator_ini() {
	local v port
	{
		printf '[in]\nurl = %s\noriginator = %s\n\n' "$IN" "$COORD_ID"
		for v in "${VENDORS[@]}"; do
			set -- $v
			port=PORT_$1
			printf '[vendor "%s"]\nurl = https://127.0.0.1:%s\nca = %s\nkey = %s\n\n' \
				"$1" "${!port}" "$WORK/pki/tls-ca.pem" "$WORK/pki/$1.pub"
		done
		printf '[operator]\nkey = %s\n\n[coordinator]\nstate-dir = %s\n' "$WORK/pki/operator.pem" "$WORK/coord"
	} >"$WORK/coordinator.ini"
}

# The campaign has settled when no update is in process and no row is
# pending, or the pending ones stayed so over two polls (e.g. a later wave
# that only the next launch starts).
LAST_STATUSES=""
settled() {
	local now
	coordinator status --campaign "$CAMPAIGN" --json "$WORK/status.json" || return 1
	now=$(jq -c '[.[] | .status]' "$WORK/status.json")
	jq -e 'length > 0 and all(.[]; .status != "in-process")' "$WORK/status.json" >/dev/null || return 1
	if jq -e 'any(.[]; .status == "pending")' "$WORK/status.json" >/dev/null; then
		[ "$now" = "$LAST_STATUSES" ] && return 0
		LAST_STATUSES=$now
		sleep 0.5
		return 1
	fi
}

wait_settled() {
	LAST_STATUSES=""
	wait_for 30 settled || { jq -c '.[] | {device, status, reason}' "$WORK/status.json" >&2 || true
		die "the campaign did not settle within 30 s"; }
}

launch_once() {
	# two waves: half of the eligible devices first; the second wave starts
	# when at least half of the first succeeded, half failing halts it
	coordinator launch --campaign "$CAMPAIGN" --max-per-minute 0 --waves 50,100 --success-rate 50 \
		--failure-threshold 50 --json "$WORK/launch.json" ||
		die "hearth-coordinator launch failed (see $WORK/coordinator.log)"
}

# launch: launch the campaign and wait until it settles; launch again
# while devices are left pending (the next wave), at most three times.
launch() {
	local _
	for _ in 1 2 3; do
		launch_once
		wait_settled
		jq -e 'any(.[]; .status == "pending")' "$WORK/status.json" >/dev/null || return 0
		echo "   some devices are still pending: launch again"
	done
}

# consent HOME SUBCOMMAND [ARGS...]: hearth-consent as that home's user
consent() {
	local home=$1 sub=$2 gw=GW_$1_PORT; shift 2
	"$CONSENT" "$sub" --cse-url "http://127.0.0.1:${!gw}" --cse-id "id-home-$home" --cse-rn "cse-home-$home" \
		--originator "Chome-$home" "$@" >>"$WORK/consent-$home.log" 2>&1
}

# decide HOME grant|refuse NI: the home's user answers the request for NI.
decide() {
	local home=$1 verb=$2 ni=$3 hash
	consent "$home" requests --json "$WORK/requests-$home.json" || die "hearth-consent requests failed for home $home"
	hash=$(jq -r --arg d "$ni" '[.. | objects | select(.device? == $d) | .manifest] | first // empty' \
		"$WORK/requests-$home.json")
	[ -n "$hash" ] || die "home $home: no consent request for $ni (see $WORK/requests-$home.json)"
	consent "$home" "$verb" --manifest "$hash" || die "hearth-consent $verb failed for home $home"
	echo "   home ${home^^}: $verb $ni (manifest $hash)"
}

print_table() { # print_table FILE: the rows of status --json
	printf '   %-31s %-13s %-11s %-17s %-7s %-7s %-16s %s\n' \
		device manufacturer model trust before after status reason
	jq -r '.[] | [.device, .manufacturer, .model, .trust, .before, .after, .status, .reason]
	           | map(. // "-" | tostring) | @tsv' "$1" |
	while IFS=$'\t' read -r d m mo t b a s r; do
		printf '   %-31s %-13s %-11s %-17s %-7s %-7s %-16s %s\n' "$d" "$m" "$mo" "$t" "$b" "$a" "$s" "$r"
	done
}

# expect NI STATUS [AFTER] [REASON-PREFIX]: one outcome in the rows of
# CHECK (the report, or the status after the first launch).
FAILS=0
CHECK=$REPORT
expect() {
	local got
	got=$(jq -r --arg d "$1" '.[] | select(.device == $d) | "\(.status)|\(.after)|\(.reason)"' "$CHECK")
	local st=${got%%|*} rest=${got#*|}
	local after=${rest%%|*} reason=${rest#*|}
	if [ "$st" != "$2" ] || { [ -n "${3:-}" ] && [ "$after" != "$3" ]; } ||
		{ [ -n "${4:-}" ] && [[ $reason != "$4"* ]]; }; then
		echo "   FAIL $1: status $st, after $after, reason '$reason'; expected $2${3:+, after $3}${4:+, reason $4...}" >&2
		FAILS=$((FAILS + 1))
	else
		echo "   ok   $1: $st${3:+ ($3)}${4:+ ($reason)}"
	fi
}

# ------------------------------------------------------------------ main

say "PKI: TLS CA for the vendor services, a device CA per manufacturer, vendor and operator keys"
make_pki

say "manufacturer services (hearth-vendor over HTTPS)"
start_vendors

say "the operator's IN-CSE, the broker, two home gateways"
start_broker_and_in
start_gateway a
start_gateway b
wait_for 15 registered a || die "gateway A did not register to the IN over HTTP"
wait_for 15 registered b "$BROKER" || die "gateway B did not register to the IN over MQTT"
echo "   both gateways registered (B's remoteCSE at the IN has poa $BROKER)"

say "six devices, three per home"
start_devices
for dev in "${DEVICES[@]}"; do
	set -- $dev
	wait_for 20 announced "$1" "$2" "$4" || die "device $4-$2 was not announced with a trust verdict"
done
echo "   all six announced at the IN, each with an attestation verdict"

write_coordinator_ini

say "inventory (hearth-coordinator inventory)"
coordinator inventory --json "$WORK/inventory.json" || die "hearth-coordinator inventory failed"
sed 's/^/   /' "$WORK/coord-inventory.out"
[ "$(jq length "$WORK/inventory.json")" -eq ${#DEVICES[@]} ] || die "the inventory does not hold six devices"

say "plan (hearth-coordinator plan)"
coordinator plan --json "$WORK/plan.json" || die "hearth-coordinator plan failed"
sed 's/^/   /' "$WORK/coord-plan.out"

say "consent policies: critical updates at once, others on request (hearth-consent init)"
for home in a b; do
	consent "$home" init --coordinator "/id-in/$COORD_ID" --critical auto --auto-after-hours 0 --other ask ||
		die "hearth-consent init failed for home $home"
	echo "   home ${home^^}: critical auto, other ask"
done

say "launch campaign '$CAMPAIGN' (hearth-coordinator launch)"
launch

print_table "$WORK/status.json"
say "checks: the critical update installed, the others wait for their home"
CHECK=$WORK/status.json
expect urn:dev:Acme:lamp:101 successful 2.0
expect urn:dev:Initech:thermostat:103 awaiting-consent
expect urn:dev:Globex:plug:202 awaiting-consent
CHECK=$REPORT
[ "$FAILS" -eq 0 ] || die "the first launch did not leave the expected state"

say "the homes answer their consent requests"
decide a grant "urn:dev:Initech:thermostat:103"
decide b refuse "urn:dev:Globex:plug:202"
say "launch again (the granted update installs, the refused one stays refused)"
launch

say "final status (hearth-coordinator status)"
mkdir -p "$(dirname "$REPORT")"
jq '[.[] | {device, manufacturer, model, trust, before, after, status, reason}]' "$WORK/status.json" >"$REPORT"
print_table "$REPORT"
echo "   report: $REPORT"

say "checks"
expect urn:dev:Acme:lamp:101 successful 2.0          # critical: installed at once
expect urn:dev:Globex:plug:102 current
expect urn:dev:Acme:lamp:201 current
expect urn:dev:Initech:thermostat:203 blocked "" "trust failed"
expect urn:dev:Initech:thermostat:103 successful 5.2 # granted by home A
expect urn:dev:Globex:plug:202 refused               # refused by home B
[ "$(jq length "$REPORT")" -eq ${#DEVICES[@]} ] || { echo "   FAIL: the report does not hold six rows" >&2; FAILS=$((FAILS + 1)); }
[ "$FAILS" -eq 0 ] || die "$FAILS outcome(s) differ from the expected ones (report: $REPORT)"
echo "demo: OK - every device ended as expected in $(elapsed)"
