#!/usr/bin/env bash
# Makes a throwaway test CA and a server certificate signed by it, for the registry double's
# HTTPS listener. Usage: make-certs.sh [--expired] DIR [SAN ...]   (SAN like IP:10.200.1.1 or
# DNS:name). Writes DIR/ca.pem, DIR/ca-key.pem, DIR/server.pem, DIR/server-key.pem. With
# --expired the server certificate was valid for one day in 2020 (the CA itself is valid), for
# "expired certificate" tests. Keys are created at test time only and never committed.
set -euo pipefail

usage="usage: make-certs.sh [--expired] DIR [SAN ...]   (SAN like IP:10.200.1.1 or DNS:registry.test)"
expired=false
if [[ "${1:-}" == --expired ]]; then
  expired=true
  shift
fi
if [[ $# -lt 1 || "$1" == -* ]]; then
  echo "$usage" >&2
  exit 2
fi
dir=$1
shift
sans="IP:127.0.0.1,IP:::1,DNS:localhost"
for san in "$@"; do
  if [[ ! "$san" =~ ^(IP|DNS):[A-Za-z0-9.:*-]+$ ]]; then
    echo "make-certs.sh: SAN '$san' is not of the form IP:ADDRESS or DNS:NAME" >&2
    exit 2
  fi
  sans="$sans,$san"
done

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
  -subj "/CN=Registry Double Test CA $(date +%s%N)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>"$work/openssl.log" ||
  { echo "make-certs.sh: creating the CA failed:" >&2; cat "$work/openssl.log" >&2; exit 1; }

openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=registry-double" \
  -keyout "$dir/server-key.pem" -out "$work/server.csr" 2>"$work/openssl.log" ||
  { echo "make-certs.sh: creating the server key failed:" >&2; cat "$work/openssl.log" >&2; exit 1; }

cat >"$work/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans
EXT

if [[ "$expired" == true ]]; then
  # `openssl x509 -req` only counts days from now; `openssl ca` takes explicit dates.
  : >"$work/index.txt"
  cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any_policy
copy_extensions = none
unique_subject = no
[any_policy]
commonName = supplied
CNF
  echo 01 >"$work/serial"
  openssl ca -batch -config "$work/ca.cnf" -cert "$dir/ca.pem" -keyfile "$dir/ca-key.pem" \
    -in "$work/server.csr" -startdate 20200101000000Z -enddate 20200102000000Z \
    -extfile "$work/ext.cnf" -notext -out "$dir/server.pem" 2>"$work/openssl.log" ||
    { echo "make-certs.sh: signing the expired server certificate failed:" >&2; cat "$work/openssl.log" >&2; exit 1; }
else
  openssl x509 -req -in "$work/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -CAcreateserial -CAserial "$work/ca.srl" -days 2 -sha256 -extfile "$work/ext.cnf" \
    -out "$dir/server.pem" 2>"$work/openssl.log" ||
    { echo "make-certs.sh: signing the server certificate failed:" >&2; cat "$work/openssl.log" >&2; exit 1; }
fi

chmod 600 "$dir/ca-key.pem" "$dir/server-key.pem"
