#!/bin/sh
# Soak: mixed load (creates into a container that keeps 1000 instances,
# retrieves of the latest, discoveries) at about half of the capacity just
# measured, for SOAK_SECONDS (default 600); RSS sampled every 5 s. Passes
# when the RSS at the end is within 10 % of the RSS after the first minute.
#   sh bench/soak.sh [BUILD_DIR]        (make soak)
set -eu
B=${1:-build}
SECS=${SOAK_SECONDS:-600}
D=var/bench
mkdir -p "$D"
PORT=$((25000 + $$ % 5000))
H=http://127.0.0.1:$PORT
OUT=bench/soak-last.md
rm -f "$D/soak.db" "$D/soak.db-wal" "$D/soak.db-shm"
"$B/hearth-cse" --http-port "$PORT" --db "$D/soak.db" --log-level error --http-threads 16 & HPID=$!
trap 'kill $HPID 2>/dev/null; wait $HPID 2>/dev/null' EXIT INT TERM
i=0
until curl -s -o /dev/null "$H/"; do i=$((i + 1)); [ $i -gt 100 ] && exit 1; sleep 0.05; done
req() { curl -s -o /dev/null -w '%{http_code}' -X POST "$H$1" -H "X-M2M-Origin: Csoak" -H "X-M2M-RI: s" \
	-H "X-M2M-RVI: 4" -H "Content-Type: application/json;ty=$2" -d "$3"; }
req /cse-in 2 '{"m2m:ae":{"rn":"soak","api":"Nsoak","rr":false,"srv":["4"]}}' > /dev/null
req /cse-in/soak 3 '{"m2m:cnt":{"rn":"box","mni":1000}}' > /dev/null
req /cse-in/soak/box 4 '{"m2m:cin":{"con":"first"}}' > /dev/null
field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"; }
cr=$(field "$("$B/bench/hload" -u "$H" -c 16 -d 3 -o Csoak -m POST -t 4 -b '{"m2m:cin":{"con":"c%u"}}' -p /cse-in/soak/box)" rps)
rr=$(field "$("$B/bench/hload" -u "$H" -c 16 -d 3 -o Csoak -p /cse-in/soak/box/la)" rps)
# half of the capacity, shared by the three kinds of requests
crate=$(awk -v r="$cr" 'BEGIN { printf "%d", r * 0.25 }')
rrate=$(awk -v r="$rr" 'BEGIN { printf "%d", r * 0.25 }')
echo "soak: capacity create $cr/s, retrieve $rr/s; running create $crate/s + retrieve $rrate/s + discovery 50/s for $SECS s"
"$B/bench/hload" -u "$H" -c 8 -d "$SECS" -r "$crate" -o Csoak -m POST -t 4 -b '{"m2m:cin":{"con":"c%u"}}' -p /cse-in/soak/box > "$D/soak-c.json" &
P1=$!
"$B/bench/hload" -u "$H" -c 8 -d "$SECS" -r "$rrate" -o Csoak -p /cse-in/soak/box/la > "$D/soak-r.json" &
P2=$!
"$B/bench/hload" -u "$H" -c 2 -d "$SECS" -r 50 -o Csoak -p '/cse-in/soak?fu=1&ty=4&lim=20' > "$D/soak-d.json" &
P3=$!
t=0; rss60=""; maxrss=0
while [ $t -lt "$SECS" ]; do
	sleep 5; t=$((t + 5))
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$HPID/status")
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	[ $t -eq 60 ] && rss60=$rss
done
wait $P1 $P2 $P3
rssend=$(awk '/VmRSS/ {print $2}' "/proc/$HPID/status")
[ -n "$rss60" ] || rss60=$rssend
verdict=$(awk -v a="$rss60" -v b="$rssend" 'BEGIN { d = (b - a) / a; printf "%+.1f %% (%s)", 100 * d, (d <= 0.10 && d >= -0.10) ? "within 10 %" : "OUTSIDE 10 %" }')
{
	echo "## Soak of $(date -u +%Y-%m-%dT%H:%MZ), $SECS s"
	echo
	echo "Load: creates $crate/s into a container keeping 1000 instances, retrieves of la $rrate/s, discovery 50/s (half of the capacity measured just before: create $cr/s, retrieve $rr/s)."
	echo "Results: creates $(cat "$D/soak-c.json"); retrieves $(cat "$D/soak-r.json"); discoveries $(cat "$D/soak-d.json")."
	echo "RSS after 1 min $((rss60 / 1024)) MiB, at the end $((rssend / 1024)) MiB, peak $((maxrss / 1024)) MiB: $verdict."
} | tee "$OUT"
