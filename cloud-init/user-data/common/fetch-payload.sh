#!/bin/bash
# kojistack-fetch-payload: the payload from the launch template's Metadata, SHA-256 checked, to
# /opt/kojistack/. KOJISTACK_FETCH_LIB=1: only define functions. No dollar-brace here (Fn::Sub).
set -euo pipefail

ENV_FILE=/etc/kojistack/stack.env
DEST=$(printenv KOJISTACK_DEST || echo /opt/kojistack)
RUN_DIR=$(printenv KOJISTACK_RUN_DIR || echo /run/kojistack)

LOG_TAG=kojistack-fetch-payload
log() { echo "$LOG_TAG: $*" >&2; }

# by hand: read what systemd's EnvironmentFile reads
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

# retry ATTEMPTS COMMAND...: sleeps 2, 4, 8 ... 60 s
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    [ "$n" -lt "$attempts" ] || { log "giving up after $n attempts: $*"; return 1; }
    log "attempt $n failed, retrying in $delay s: $*"
    sleep "$delay"
    n=$((n + 1)) delay=$((delay < 30 ? delay * 2 : 60))
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

# relabel: each file gets its final path's label (bin_t in .../bin/), every boot
relabel() { if command -v selinuxenabled >/dev/null && selinuxenabled; then restorecon -R "$DEST"; fi; }

main() {
  load_env
  : "$KOJISTACK_REGION" "$KOJISTACK_URL_SUFFIX" "$KOJISTACK_STACK_NAME" "$KOJISTACK_LAUNCH_TEMPLATE_RESOURCE" "$KOJISTACK_PAYLOAD_SHA256"
  if [ -f "$DEST/.payload-sha256" ] && [ "$(cat "$DEST/.payload-sha256")" = "$KOJISTACK_PAYLOAD_SHA256" ]; then
    log "payload $KOJISTACK_PAYLOAD_SHA256 already unpacked"
    relabel
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
  local claimed actual entry
  WORK=$(mktemp -d)
  mkdir -p "$DEST"
  # not under /tmp: a file moved keeps tmp_t, which init_t may not execute
  STAGE=$(mktemp -d "$DEST/.unpack.XXXXXX")
  trap 'rm -rf "$WORK" "$STAGE"' EXIT
  retry 8 describe_metadata "$WORK/metadata.json"
  claimed=$(extract_payload "$WORK/metadata.json" "$WORK/payload.tgz")
  actual=$(sha256sum "$WORK/payload.tgz" | cut -d' ' -f1)
  if [ "$actual" != "$KOJISTACK_PAYLOAD_SHA256" ] || [ "$claimed" != "$KOJISTACK_PAYLOAD_SHA256" ]; then
    log "payload hash mismatch: user data wants $KOJISTACK_PAYLOAD_SHA256, Metadata says $claimed, content is $actual"
    return 1
  fi
  tar -xzf "$WORK/payload.tgz" -C "$STAGE" --no-same-owner
  for entry in "$STAGE"/*; do
    (cd "$DEST" && rm -rf -- "./$(basename "$entry")")
    mv "$entry" "$DEST/"
  done
  relabel
  echo "$KOJISTACK_PAYLOAD_SHA256" > "$DEST/.payload-sha256"
  log "payload $KOJISTACK_PAYLOAD_SHA256 unpacked to $DEST"
}

if [ -z "$(printenv KOJISTACK_FETCH_LIB || true)" ]; then
  main "$@"
fi
