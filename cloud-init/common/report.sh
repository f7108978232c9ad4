#!/bin/bash
# kojistack-report exit UNIT: (ExecStopPost) if UNIT failed, write {step, exit_code, log_tail}
#   to SSM_PREFIX/bootstrap/<instance-id>, then signal FAILURE unless already signalled.
# kojistack-report success: signal SUCCESS, on this instance's first success only.
# Hub and builders. Travels through Fn::Sub: no dollar-brace in here.
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

signal() {
  local status=$1 iid=$2
  if [ -e "$SIGNALLED" ]; then
    log "already signalled $(cat "$SIGNALLED"); not signalling $status"
    return 0
  fi
  aws cloudformation signal-resource --region "$KOJISTACK_REGION" \
    --stack-name "$KOJISTACK_STACK_NAME" \
    --logical-resource-id "$KOJISTACK_SIGNAL_RESOURCE" \
    --unique-id "$iid" --status "$status"
  mkdir -p "$STATE_DIR"
  echo "$status" > "$SIGNALLED"
  log "signalled $status for $iid"
}

# failure_record STEP CODE LOGFILE: JSON of at most 4,000 bytes (SSM Standard tier)
failure_record() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
step, code, path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path, "rb") as f:
    tail = f.read()[-3000:].decode("utf-8", "replace")
while True:
    record = json.dumps({"step": step, "exit_code": code, "log_tail": tail}, sort_keys=True)
    if len(record.encode()) <= 4000:
        break
    tail = tail[200:]
print(record)
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
  signal FAILURE "$iid"
}

usage() { echo "usage: kojistack-report exit UNIT | success" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in
  exit) [ $# -eq 2 ] || usage; on_exit "$2" ;;
  success) signal SUCCESS "$(instance_id)" ;;
  *) usage ;;
esac
