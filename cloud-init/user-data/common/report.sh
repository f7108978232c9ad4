#!/bin/bash
# kojistack-report exit UNIT: UNIT failed? {step, exit_code, log_tail} to SSM, FAILURE (hub only).
# kojistack-report success. Signal on the first result, if awaited; refusal ok. No dollar-brace.
set -euo pipefail

RUN_DIR=$(printenv KOJISTACK_RUN_DIR || echo /run/kojistack)
STATE_DIR=$(printenv KOJISTACK_STATE_DIR || echo /var/lib/kojistack)
SIGNALLED=$STATE_DIR/signalled

log() { echo "kojistack-report: $*" >&2; }

instance_id() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id
}

cfn() {
  local op=$1
  shift
  aws cloudformation "$op" --region "$KOJISTACK_REGION" --stack-name "$KOJISTACK_STACK_NAME" \
    --logical-resource-id "$KOJISTACK_SIGNAL_RESOURCE" "$@"
}

signal() {
  local s
  [ ! -e "$SIGNALLED" ] || { log "already reported $(cat "$SIGNALLED"), not $1"; return 0; }
  mkdir -p "$STATE_DIR" && echo "$1" > "$SIGNALLED"
  s=$(cfn describe-stack-resource --query StackResourceDetail.ResourceStatus --output text) || s=unknown
  case $s in
    CREATE_IN_PROGRESS | UPDATE_IN_PROGRESS | unknown)
      cfn signal-resource --unique-id "$2" --status "$1" || log "$1 signal refused" ;;
    *) log "no signal: $KOJISTACK_SIGNAL_RESOURCE is $s" ;;
  esac
}
# failure_record STEP CODE LOG: JSON <= 4,000 bytes (SSM Standard)
failure_record() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
step, code, path = sys.argv[1:4]
tail = open(path, "rb").read()[-3000:].decode("utf-8", "replace")
while len(r := json.dumps({"step": step, "exit_code": code, "log_tail": tail}, sort_keys=True).encode()) > 4000:
    tail = tail[200:]
print(r.decode())
PY
}

on_exit() {
  local unit=$1 step code iid logfile
  if [ "$(printenv SERVICE_RESULT || echo success)" = success ]; then return 0; fi
  step=$(cat "$RUN_DIR/step" 2>/dev/null || echo "$unit")
  code=$(printenv EXIT_STATUS || echo unknown)
  logfile=$(mktemp)
  journalctl -u "$unit" -b -o cat --no-pager > "$logfile" 2>&1 || true
  iid=$(instance_id)
  log "$unit failed at step $step (exit $code)"
  aws ssm put-parameter --region "$KOJISTACK_REGION" --type String --overwrite \
    --name "$KOJISTACK_SSM_PREFIX/bootstrap/$iid" \
    --value "$(failure_record "$step" "$code" "$logfile")" || log "could not write the failure record"
  rm -f "$logfile"
  [ "$(printenv KOJISTACK_ROLE || echo hub)" = builder ] || signal FAILURE "$iid"
}

case "$*" in
  "exit "?*) on_exit "$2" ;;
  success) signal SUCCESS "$(instance_id)" ;;
  *) echo "usage: kojistack-report exit UNIT | success" >&2; exit 2 ;;
esac
