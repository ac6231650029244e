#!/bin/sh
# attest-pki.sh DIR - a throwaway PKI for the device attestation tests
# (tests/unit/attest_test.c, conformance/17_attestation_test.c).
#
# DIR/trust/Acme.pem     the manufacturer CA of Acme (the gateway's trust directory)
# DIR/evil-ca.pem        another CA that also calls itself Acme (not trusted)
# DIR/good.key, good.pem     a device of Acme, serial 42, issued by Acme's CA
# DIR/good2.key, good2.pem   another one, serial 44
# DIR/evil.key, evil.pem     serial 43, O=Acme, issued by the other CA
# DIR/other.key              a P-256 key that belongs to no certificate
# Every key is P-256. Exit status 0, or that of the first failing openssl.
set -eu
d="$1"
mkdir -p "$d/trust"
cd "$d"
log=openssl.log
: > "$log"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" >>"$log" 2>&1; }
ca() { # name O
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/O=$2/CN=$2 Device CA" -days 30 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		-out "$1.pem" >>"$log" 2>&1
}
leaf() { # name ca O CN
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/O=$3/CN=$4" -out "$1.csr" >>"$log" 2>&1
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 \
		-extfile "$1.ext" -out "$1.pem" >>"$log" 2>&1
}
ca acme-ca Acme
ca evil-ca Acme
cp acme-ca.pem trust/Acme.pem
leaf good acme-ca Acme 42
leaf good2 acme-ca Acme 44
leaf evil evil-ca Acme 43
key other.key
