#!/bin/sh
# A walk through the oneM2M HTTP API of a running Hearth CSE (make run).
#   sh examples/http-walkthrough.sh [http://127.0.0.1:8080]
# Registers an AE, creates a container and instances, reads the latest,
# discovers, and cleans up. Each step prints the X-M2M-RSC it got.
set -eu
CSE=${1:-http://127.0.0.1:8080}
AE=Cwalk$$
n=0
req() { # method path originator [content-type body]
	n=$((n + 1))
	if [ $# -ge 5 ]; then
		curl -s -D /tmp/hearth-walk.h -o /tmp/hearth-walk.b -X "$1" "$CSE$2" -H "X-M2M-Origin: $3" \
			-H "X-M2M-RI: walk-$n" -H 'X-M2M-RVI: 4' -H "Content-Type: $4" -d "$5"
	else
		curl -s -D /tmp/hearth-walk.h -o /tmp/hearth-walk.b -X "$1" "$CSE$2" -H "X-M2M-Origin: $3" \
			-H "X-M2M-RI: walk-$n" -H 'X-M2M-RVI: 4' -H 'Accept: application/json'
	fi
	printf '%-6s %-40s -> %s\n' "$1" "$2" "$(tr -d '\r' < /tmp/hearth-walk.h | sed -n 's/^X-M2M-RSC: //p')"
	cat /tmp/hearth-walk.b; echo
}
req POST /cse-in "$AE" 'application/json;ty=2' '{"m2m:ae":{"rn":"walk","api":"Nwalk","rr":false,"srv":["4"]}}'
req POST /cse-in/walk "$AE" 'application/json;ty=3' '{"m2m:cnt":{"rn":"temp","mni":3,"lbl":["room:kitchen"]}}'
for v in 20.5 21.0 21.5 22.0; do
	req POST /cse-in/walk/temp "$AE" 'application/json;ty=4' "{\"m2m:cin\":{\"cnf\":\"text/plain:0\",\"con\":\"$v\"}}"
done
req GET /cse-in/walk/temp "$AE"                      # cni is 3: mni removed the oldest
req GET /cse-in/walk/temp/la "$AE"                   # the newest instance
req GET '/cse-in?fu=1&lbl=room:kitchen' "$AE"        # discovery by label
req GET '/cse-in/walk?rcn=6' "$AE"                   # child references
req GET '/~/id-in/cse-in/walk/temp?atrl=cni+cbs' "$AE"   # SP-relative, partial retrieve
req DELETE /cse-in/walk "$AE"
