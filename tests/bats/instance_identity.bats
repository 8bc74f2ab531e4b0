#!/usr/bin/env bats
# tests/support/instance-identity makes certificates exactly like Diego's instance identity
# (the spec's "Instance identity"): every field the TLS distribution relies on, checked with
# openssl, and the variants the refusal tests need (another app, another CA, expired, another
# IP), and a rotation that replaces both files by rename.
# shellcheck disable=SC2154 # status and output are set by bats' run

IDENTITY="$BATS_TEST_DIRNAME/../support/instance-identity"
APP=6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9
SPACE=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
ORG=aa11bb22-cc33-4d44-8e55-ff6600778899
INSTANCE=5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716

setup_file() {
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/ca"
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/other-ca" --name "Another Foundation CA"
}

setup() {
    OUT="$BATS_TEST_TMPDIR/id"
}

issue() {
    "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.255.77.11 --app "$APP" \
        --space "$SPACE" --org "$ORG" --instance "$INSTANCE" "$@"
}

leaf_text() {
    openssl x509 -in "$OUT/instance.crt" -noout -text
}

# nth_cert N: the Nth certificate (1-based) of the chain file, as PEM.
nth_cert() {
    awk -v n="$1" '/BEGIN CERTIFICATE/ {i++} i == n {print} /END CERTIFICATE/ && i == n {exit}' \
        "$OUT/instance.crt"
}

@test "subject: the three OUs in Diego's order, then CN = the instance GUID" {
    issue
    run openssl x509 -in "$OUT/instance.crt" -noout -subject -nameopt RFC2253
    [ "$status" -eq 0 ]
    # RFC 2253 prints the RDNs last first.
    [ "$output" = "subject=CN=$INSTANCE,OU=app:$APP,OU=space:$SPACE,OU=organization:$ORG" ]
}

@test "subject alternative names: DNS = the instance GUID, IP = the instance address" {
    issue
    run openssl x509 -in "$OUT/instance.crt" -noout -ext subjectAltName
    [ "$status" -eq 0 ]
    [[ $output == *"DNS:$INSTANCE, IP Address:10.255.77.11"* ]]
}

@test "usable for client and server auth, and not a CA" {
    issue
    run openssl x509 -in "$OUT/instance.crt" -noout -ext extendedKeyUsage,basicConstraints,keyUsage
    [ "$status" -eq 0 ]
    [[ $output == *"TLS Web Server Authentication, TLS Web Client Authentication"* ]]
    [[ $output == *"CA:FALSE"* ]]
    [[ $output == *"Digital Signature, Key Encipherment"* ]]
    openssl verify -purpose sslclient -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" "$OUT/instance.crt"
    openssl verify -purpose sslserver -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" "$OUT/instance.crt"
}

@test "chain file: the leaf, then its issuer" {
    issue
    [ "$(grep -c 'BEGIN CERTIFICATE' "$OUT/instance.crt")" -eq 2 ]
    [ "$(nth_cert 1 | openssl x509 -noout -subject)" = "subject=OU = organization:$ORG, OU = space:$SPACE, OU = app:$APP, CN = $INSTANCE" ]
    [ "$(nth_cert 2 | openssl x509 -noout -fingerprint -sha256)" = \
      "$(openssl x509 -in "$BATS_FILE_TMPDIR/ca/ca.crt" -noout -fingerprint -sha256)" ]
    nth_cert 1 >"$BATS_TEST_TMPDIR/leaf.pem"
    openssl verify -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" "$BATS_TEST_TMPDIR/leaf.pem"
}

@test "key: PKCS#1 RSA, owner-only, and the leaf's own" {
    issue
    [ "$(head -n 1 "$OUT/instance.key")" = "-----BEGIN RSA PRIVATE KEY-----" ]
    [ "$(stat -c %a "$OUT/instance.key")" = 600 ]
    openssl rsa -in "$OUT/instance.key" -check -noout
    [ "$(openssl rsa -in "$OUT/instance.key" -pubout 2>/dev/null)" = \
      "$(openssl x509 -in "$OUT/instance.crt" -noout -pubkey)" ]
}

@test "validity: 24 h by default, --minutes N from now, --expired ended in the past" {
    issue
    openssl x509 -in "$OUT/instance.crt" -noout -checkend $((23 * 3600))
    run openssl x509 -in "$OUT/instance.crt" -noout -checkend $((25 * 3600))
    [ "$status" -eq 1 ]

    issue --minutes 3
    openssl x509 -in "$OUT/instance.crt" -noout -checkend 120
    run openssl x509 -in "$OUT/instance.crt" -noout -checkend 240
    [ "$status" -eq 1 ]

    issue --expired
    run openssl x509 -in "$OUT/instance.crt" -noout -checkend 0
    [ "$status" -eq 1 ]
    run openssl verify -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" "$OUT/instance.crt"
    [ "$status" -ne 0 ]
    [[ $output == *"certificate has expired"* ]]
}

@test "variants: another app's GUID, another IP, another CA" {
    local other_app=99999999-8888-4777-8666-555544443333
    issue --app "$other_app"
    run openssl x509 -in "$OUT/instance.crt" -noout -subject
    [[ $output == *"OU = app:$other_app,"* ]]

    issue --ip 10.255.77.99
    run openssl x509 -in "$OUT/instance.crt" -noout -ext subjectAltName
    [[ $output == *"IP Address:10.255.77.99"* ]]

    "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/other-ca" --out "$OUT" --ip 10.255.77.11 --app "$APP"
    openssl verify -CAfile "$BATS_FILE_TMPDIR/other-ca/ca.crt" "$OUT/instance.crt"
    run openssl verify -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" "$OUT/instance.crt"
    [ "$status" -ne 0 ]
}

@test "GUIDs not given are random and well formed" {
    "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.0.0.1 --app "$APP"
    run openssl x509 -in "$OUT/instance.crt" -noout -subject -nameopt RFC2253
    local hex='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    [[ $output =~ ^subject=CN=($hex),OU=app:$APP,OU=space:($hex),OU=organization:($hex)$ ]]
    local cn=${BASH_REMATCH[1]}
    [ "${BASH_REMATCH[2]}" != "${BASH_REMATCH[3]}" ]
    run openssl x509 -in "$OUT/instance.crt" -noout -ext subjectAltName
    [[ $output == *"DNS:$cn, IP Address:10.0.0.1"* ]]
}

@test "an intermediate CA (--under): the chain file's issuer is the intermediate, signed by the root" {
    "$IDENTITY" ca "$BATS_TEST_TMPDIR/intermediate" --under "$BATS_FILE_TMPDIR/ca" --name "Instance Identity CA"
    run openssl x509 -in "$BATS_TEST_TMPDIR/intermediate/ca.crt" -noout -issuer -subject -ext basicConstraints
    [[ $output == *"issuer=CN = Local Instance Identity CA"*"subject=CN = Instance Identity CA"*"CA:TRUE, pathlen:0"* ]]
    "$IDENTITY" issue --ca "$BATS_TEST_TMPDIR/intermediate" --out "$OUT" --ip 10.0.0.1 --app "$APP"
    [ "$(nth_cert 2 | openssl x509 -noout -subject)" = "subject=CN = Instance Identity CA" ]
    [ "$(grep -c 'BEGIN CERTIFICATE' "$OUT/instance.crt")" -eq 2 ]
    # The root verifies the whole chain; the intermediate alone only as a partial chain.
    nth_cert 1 >"$BATS_TEST_TMPDIR/leaf.pem"
    openssl verify -CAfile "$BATS_FILE_TMPDIR/ca/ca.crt" -untrusted "$BATS_TEST_TMPDIR/intermediate/ca.crt" \
        "$BATS_TEST_TMPDIR/leaf.pem"
    run openssl verify -CAfile "$BATS_TEST_TMPDIR/intermediate/ca.crt" "$BATS_TEST_TMPDIR/leaf.pem"
    [ "$status" -ne 0 ]
    openssl verify -partial_chain -CAfile "$BATS_TEST_TMPDIR/intermediate/ca.crt" "$BATS_TEST_TMPDIR/leaf.pem"
    [ "$(ls -A "$BATS_TEST_TMPDIR/intermediate")" = "$(printf 'ca.crt\nca.key')" ]
}

@test "rotate replaces both files by rename: a reader holding the old files keeps them whole" {
    issue --minutes 5
    local old_serial
    old_serial=$(openssl x509 -in "$OUT/instance.crt" -noout -serial)
    local crt_fd key_fd
    exec {crt_fd}<"$OUT/instance.crt" {key_fd}<"$OUT/instance.key"
    local old_inodes
    old_inodes=$(stat -c %i "$OUT/instance.crt" "$OUT/instance.key")

    "$IDENTITY" rotate --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.255.77.11 --app "$APP" \
        --space "$SPACE" --org "$ORG" --instance "$INSTANCE" --minutes 5

    [ "$(openssl x509 -in "$OUT/instance.crt" -noout -serial)" != "$old_serial" ]
    [ "$(stat -c %i "$OUT/instance.crt" "$OUT/instance.key")" != "$old_inodes" ]
    # The open descriptors still read the old, complete pair.
    [ "$(openssl x509 -noout -serial <&"$crt_fd")" = "$old_serial" ]
    [ "$(head -n 1 <&"$key_fd")" = "-----BEGIN RSA PRIVATE KEY-----" ]
    exec {crt_fd}<&- {key_fd}<&-
    # The new pair matches, and no temporary file is left beside it.
    [ "$(openssl rsa -in "$OUT/instance.key" -pubout 2>/dev/null)" = \
      "$(openssl x509 -in "$OUT/instance.crt" -noout -pubkey)" ]
    [ "$(ls -A "$OUT")" = "$(printf 'instance.crt\ninstance.key')" ]
}

@test "rotate needs an identity to replace" {
    run "$IDENTITY" rotate --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.255.77.11 --app "$APP"
    [ "$status" -eq 1 ]
    [ "$output" = "instance-identity: $OUT/instance.crt does not exist: rotate replaces an identity made by 'issue'" ]
}

@test "bad input: one clear error line each" {
    run "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.300.0.1 --app "$APP"
    [ "$status" -eq 1 ]
    [ "$output" = "instance-identity: --ip must be an IPv4 address such as 10.255.77.11 (got '10.300.0.1')" ]
    run "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.0.0.1 --app not-a-guid
    [ "$status" -eq 1 ]
    [ "$output" = "instance-identity: 'not-a-guid' is not a GUID (8-4-4-4-12 hex digits)" ]
    run "$IDENTITY" issue --ca "$BATS_TEST_TMPDIR/nope" --out "$OUT" --ip 10.0.0.1 --app "$APP"
    [ "$status" -eq 1 ]
    [[ $output == "instance-identity: --ca must name a CA directory"* ]]
    run "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$OUT" --ip 10.0.0.1 --app "$APP" --minutes 0
    [ "$status" -eq 1 ]
    [[ $output == "instance-identity: --minutes must be a positive"* ]]
    run "$IDENTITY" ca "$BATS_FILE_TMPDIR/ca"
    [ "$status" -eq 1 ]
    [[ $output == *"already exists"* ]]
    [ ! -e "$OUT/instance.crt" ]
}
