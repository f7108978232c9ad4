#!/bin/bash
# kojistack-fetch-payload: fetch the payload from the launch template's Metadata, check its
# SHA-256, unpack it to /opt/kojistack/ (hub and builders). With KOJISTACK_FETCH_LIB=1, sourcing
# only defines log, retry, step, load_env. Travels through Fn::Sub: no dollar-brace in here.
set -euo pipefail

ENV_FILE=/etc/kojistack/stack.env
DEST=$(printenv KOJISTACK_DEST || echo /opt/kojistack)
RUN_DIR=$(printenv KOJISTACK_RUN_DIR || echo /run/kojistack)

LOG_TAG=kojistack-fetch-payload
log() { echo "$LOG_TAG: $*" >&2; }

# systemd's EnvironmentFile sets these; by hand, read the same file
load_env() {
  local key value
  [ -r "$ENV_FILE" ] || return 0
  while IFS='=' read -r key value; do
    case "$key" in
      KOJISTACK_*)
        value=$(printf '%s' "$value" | sed "s/^'\(.*\)'$/\1/")
        if [ -z "$(printenv "$key" || true)" ]; then export "$key=$value"; fi
        ;;
    esac
  done < "$ENV_FILE"
}

# retry ATTEMPTS COMMAND...: sleeps 2, 4, 8 ... 60 s between tries
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      log "giving up after $n attempts: $*"
      return 1
    fi
    log "attempt $n failed, retrying in $delay s: $*"
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2))
    if [ "$delay" -gt 60 ]; then delay=60; fi
  done
}

step() {
  mkdir -p "$RUN_DIR"
  echo "$1" > "$RUN_DIR/step"
  log "step: $1"
}

# EPEL, CRB on EL (bootstraps too)
distro_repos() {
  # shellcheck disable=SC1091
  [ "$(. /etc/os-release && echo "$ID")" = fedora ] && return
  rpm -q epel-release dnf-plugins-core >/dev/null 2>&1 || dnf -y install epel-release dnf-plugins-core
  dnf config-manager --set-enabled crb
}

install_aws_cli() {
  distro_repos
  dnf -y install awscli2 || dnf -y install awscli
}

ensure_aws_cli() {
  command -v aws >/dev/null 2>&1 && return 0
  retry 5 install_aws_cli
}

describe_metadata() {
  aws cloudformation describe-stack-resource \
    --region "$KOJISTACK_REGION" \
    --stack-name "$KOJISTACK_STACK_NAME" \
    --logical-resource-id "$KOJISTACK_LAUNCH_TEMPLATE_RESOURCE" \
    --query StackResourceDetail.Metadata --output text > "$1"
}

# extract_payload METADATA_JSON OUT_TGZ: prints the sha256 the Metadata claims
extract_payload() {
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    payload = json.load(f)["kojistack"]["payload"]
with open(sys.argv[2], "wb") as out:
    out.write(base64.b64decode(payload["tgz_b64"], validate=True))
print(payload["sha256"])
PY
}

main() {
  load_env
  : "$KOJISTACK_REGION" "$KOJISTACK_URL_SUFFIX" "$KOJISTACK_STACK_NAME" "$KOJISTACK_LAUNCH_TEMPLATE_RESOURCE" "$KOJISTACK_PAYLOAD_SHA256"
  if [ -f "$DEST/.payload-sha256" ] && [ "$(cat "$DEST/.payload-sha256")" = "$KOJISTACK_PAYLOAD_SHA256" ]; then
    log "payload $KOJISTACK_PAYLOAD_SHA256 already unpacked"
    return 0
  fi
  step preflight
  curl -sS -o /dev/null --max-time 20 "https://cloudformation.$KOJISTACK_REGION.$KOJISTACK_URL_SUFFIX/" || {
    log "cannot reach the CloudFormation endpoint of $KOJISTACK_REGION (route to a NAT? proxy?)"
    return 1
  }
  step install-aws-cli
  ensure_aws_cli
  step fetch-payload
  local work claimed actual entry name
  work=$(mktemp -d)
  WORK_DIR=$work
  trap 'rm -rf "$WORK_DIR"' EXIT
  retry 8 describe_metadata "$work/metadata.json"
  claimed=$(extract_payload "$work/metadata.json" "$work/payload.tgz")
  actual=$(sha256sum "$work/payload.tgz" | cut -d' ' -f1)
  if [ "$actual" != "$KOJISTACK_PAYLOAD_SHA256" ] || [ "$claimed" != "$KOJISTACK_PAYLOAD_SHA256" ]; then
    log "payload hash mismatch: user data wants $KOJISTACK_PAYLOAD_SHA256, Metadata says $claimed, content is $actual"
    return 1
  fi
  mkdir -p "$work/unpacked" "$DEST"
  tar -xzf "$work/payload.tgz" -C "$work/unpacked" --no-same-owner
  for entry in "$work"/unpacked/*; do
    name=$(basename "$entry")
    (cd "$DEST" && rm -rf -- "./$name")
    mv "$entry" "$DEST/"
  done
  echo "$KOJISTACK_PAYLOAD_SHA256" > "$DEST/.payload-sha256"
  log "payload $KOJISTACK_PAYLOAD_SHA256 unpacked to $DEST"
}

if [ -z "$(printenv KOJISTACK_FETCH_LIB || true)" ]; then
  main "$@"
fi
