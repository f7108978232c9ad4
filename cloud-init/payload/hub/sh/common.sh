# shellcheck shell=bash
# Sourced by kojistack-bootstrap and kojistack-ready: paths, AWS and koji helpers.
# log, retry, step and load_env come from the user data's kojistack-fetch-payload.
export KOJISTACK_FETCH_LIB=1
# shellcheck source=SCRIPTDIR/../../../user-data/common/fetch-payload.sh
. "${KOJISTACK_FETCH_PAYLOAD:-/usr/local/sbin/kojistack-fetch-payload}"
unset KOJISTACK_FETCH_LIB

FILES=${KOJISTACK_FILES:-/opt/kojistack/files}
PKI=${KOJISTACK_PKI_DIR:-/etc/kojistack/pki}
# the names the template and the machines share (kojistack/names.py), from the payload
NAMES_ENV=$(printenv KOJISTACK_NAMES_ENV || echo "$FILES/../names.env")
if [ -r "$NAMES_ENV" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$NAMES_ENV"
  set +a
fi
# used by the scripts that source this file:
# shellcheck disable=SC2034
STATE_DIR=/var/lib/kojistack
export KOJISTACK_PKI_DIR=$PKI

die() { log "$*"; exit 1; }

hub_python() { PYTHONPATH=$FILES/python python3 -m kojistack_hub "$@"; }

# json_field FIELD: FIELD of the JSON object on stdin, verbatim ("" when absent).
json_field() {
  python3 -c 'import json, sys; v = json.load(sys.stdin).get(sys.argv[1], ""); sys.stdout.write(v if isinstance(v, str) else json.dumps(v))' "$1"
}

secret_string() {
  retry 5 aws secretsmanager get-secret-value --region "$KOJISTACK_REGION" --secret-id "$1" \
    --query SecretString --output text
}

# put_secret ARN < JSON: the value never appears on a command line.
put_secret() {
  local tmp
  tmp=$(mktemp)
  cat > "$tmp"
  retry 5 aws secretsmanager put-secret-value --region "$KOJISTACK_REGION" --secret-id "$1" \
    --secret-string "file://$tmp" >/dev/null
  rm -f "$tmp"
}

instance_id() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id
}

# koji as the admin, through the internal endpoint (koji_local: through this instance's httpd).
koji_admin() { koji --config /etc/kojistack/koji-admin.conf "$@"; }
koji_local() {
  koji --config /etc/kojistack/koji-admin.conf --server https://localhost/kojihub \
    --topurl https://localhost/kojifiles "$@"
}
