#!/bin/bash
# check.sh DIR: the hub-side checks of `make test-realhub`, against a harness build.sh built in DIR (with
# --pg16). Prints every command's outcome; exits 1 when any check failed. Run as root, outside the namespace.
#   1. the database bootstrap, twice, as the RDS-like master on PostgreSQL 16 and 18 (15 ran in the build)
#   2. kojistack-user: add a packager twice, revoke, add again, revoke again; an unknown permission
#      (`build`) fails before anything is written
#   3. the packager (credentials from its secret) adds a package to the stack's tag and submits a scratch
#      and a real build of an SRPM; a user without the role submits the same. The hub's kojid takes the
#      tasks: the packager's pass every policy check (build_rpm, build_from_srpm) and wait for a repo
#      (the distro's repos cannot be fetched here, so no mock build runs); the other's fail on policy.
#   4. a light host (examples/light-host.py): the controller registers light-001 in channel `light` only
#      (addHost's `default` removed), observes it as a light-channel host, drains it when surplus
#   5. tasks stranded on a disabled host (examples/stranded.py): an ASSIGNED task whose run is past AssignTimeout
#      is freed by the scheduler on an enabled host but stays ASSIGNED on a disabled builder slot (x86-64-03) and
#      on light-001 (the premise of decide.stranded); the controller's plan/light_plan list those tasks (not an
#      OPEN one) and KojiPort.free frees them; the example cancels its tasks
set -u
D=${1:?usage: check.sh DIR}
D=$(cd "$D" && pwd)
[ -x "$D/ns" ] || { echo "check.sh: $D is not a harness (tests/realhub/build.sh DIR ...)" >&2; exit 2; }
fail=0
pass() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
ns() { "$D/ns" "$@"; }
USER_CMD="KOJISTACK_PYTHON=$D/bin/python3-fakeboto /opt/kojistack/files/bin/kojistack-user"
ADMIN="koji --config /etc/kojistack/koji-admin.conf"
W=$D/check
rm -rf "$W" && mkdir -p "$W"

echo "=== 1. the database bootstrap on PostgreSQL 16 and 18 (bin/db-check.sh, twice each)"
for v in 16 18; do
  if ns "$D/bin/db-check.sh $v --fresh" > "$D/logs/check-db-$v.log" 2>&1; then
    pass "PostgreSQL $v: $(grep -c 'rc=0' "$D/logs/check-db-$v.log") steps rc=0; $(grep '^=== result' "$D/logs/check-db-$v.log")"
  else
    bad "PostgreSQL $v (log $D/logs/check-db-$v.log):"; grep -E 'ERROR|FATAL|rc=[1-9]' "$D/logs/check-db-$v.log" | head -5
  fi
  ns "$D/bin/svc stop pg$v" >/dev/null 2>&1
done

echo "=== 2. kojistack-user"
user() {  # user EXPECTED_RC ARGS...
  local want=$1 out rc
  shift
  out=$(ns "$USER_CMD $*" 2>&1); rc=$?
  if [ "$rc" = "$want" ]; then pass "kojistack-user $* -> rc $rc"; else bad "kojistack-user $* -> rc $rc (want $want)"; fi
  grep -E '^(user|kojistack-user|CRL)' <<< "$out" | sed 's/^/    /'
}
user 0 add rh-packager packager
user 0 add rh-packager packager
user 0 revoke rh-packager
user 0 add rh-packager packager
user 0 add rh-packager packager
user 0 revoke rh-packager
user 0 add rh-packager packager
user 0 add rh-reader
user 1 add rh-nobody build
prefix=$(ns '. /etc/kojistack/stack.env; echo "$KOJISTACK_USER_SECRET_PREFIX"')
quote() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
if [ -e "$D/aws/secrets/$(quote "${prefix}rh-nobody")" ] || ns "$ADMIN call --json-output getUser rh-nobody" | grep -qv '^null$'; then
  bad "the failed add of rh-nobody left a secret or a koji user"
else
  pass "the failed add of rh-nobody left no secret and no koji user"
fi

echo "=== 3. builds as a packager and as a user without the role"
# profile NAME: a koji profile with the credentials from NAME's secret, as `kojistack client-config --user` writes
profile() {
  local f; f=$D/aws/secrets/$(quote "$prefix$1")
  python3 - "$f" "$W/$1.pem" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
open(sys.argv[2], "w").write(s["cert_pem"] + s["key_pem"])
PY
  . "$D/stage/stack.env"
  printf '[%s]\nserver = https://%s/kojihub\nweburl = https://%s/koji\ntopurl = https://%s/kojifiles\nauthtype = ssl\ncert = %s\nserverca = /etc/kojistack/pki/ca.pem\n' \
    "$1" "$KOJISTACK_PUBLIC_NLB_DNS" "$KOJISTACK_PUBLIC_NLB_DNS" "$KOJISTACK_PUBLIC_NLB_DNS" "$W/$1.pem" > "$W/$1.conf"
}
profile rh-packager
profile rh-reader
as() { local who=$1; shift; ns "koji --config $W/$who.conf -p $who $*"; }
as rh-packager moshimoshi | sed -n 1p | sed 's/^/    /'
mkdir -p "$W/rpmbuild/SPECS"
cat > "$W/rpmbuild/SPECS/rh-hello.spec" <<'SPEC'
Name: rh-hello
Version: 1.0
Release: 1
Summary: a package for tests/realhub/check.sh
License: MIT
BuildArch: noarch
%description
Built by tests/realhub/check.sh to see a packager's build pass the hub's policies.
%install
mkdir -p %{buildroot}/usr/share/rh-hello
echo hello > %{buildroot}/usr/share/rh-hello/hello
%files
/usr/share/rh-hello/hello
SPEC
rpmbuild --define "_topdir $W/rpmbuild" -bs "$W/rpmbuild/SPECS/rh-hello.spec" >/dev/null 2>&1 \
  || { bad "rpmbuild -bs failed"; exit 1; }
srpm=$(ls "$W"/rpmbuild/SRPMS/rh-hello-1.0-1.src.rpm)
if as rh-packager add-pkg --owner rh-packager kojistack rh-hello > "$W/add-pkg.out" 2>&1; then
  pass "the packager adds rh-hello to the stack's tag kojistack"
else
  bad "add-pkg as the packager: $(cat "$W/add-pkg.out")"
fi
if as rh-reader add-pkg --owner rh-reader kojistack rh-other > "$W/add-pkg-reader.out" 2>&1; then
  bad "a user without the role added a package"
else
  pass "a user without the role cannot add packages: $(grep -m1 -o "ActionNotAllowed.*" "$W/add-pkg-reader.out")"
fi
task_of() { sed -n 's/^Created task: \([0-9]*\)$/\1/p' "$1"; }
declare -A TASK
for who in rh-packager rh-reader; do
  for kind in scratch real; do
    opt=""; [ $kind = scratch ] && opt=--scratch
    as "$who" build $opt --nowait kojistack "$srpm" > "$W/build-$who-$kind.out" 2>&1
    TASK[$who-$kind]=$(task_of "$W/build-$who-$kind.out")
    echo "    $who $kind build: task ${TASK[$who-$kind]:-none} ($(tail -1 "$W/build-$who-$kind.out"))"
  done
done
ns "$D/bin/svc start kojid" >/dev/null 2>&1
# state TASK: the task's state and, once kojid has handled it, whether it waits for a repo or failed (and why)
state() {
  ns "$ADMIN call --json-output getTaskInfo $1 request=False" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'
}
children() { ns "$ADMIN call --json-output getTaskChildren $1" 2>/dev/null | python3 -c 'import json, sys; print(" ".join(c["method"] for c in json.load(sys.stdin)))'; }
result() { ns "$ADMIN call --json-output getTaskResult $1 raise_fault=False" 2>/dev/null | python3 -c 'import json, sys; r = json.load(sys.stdin); print((r.get("faultString") if isinstance(r, dict) else r) or "")' | head -3; }
for _ in $(seq 1 60); do
  ns "$ADMIN call scheduler.doRun force=True" >/dev/null 2>&1
  done_all=1
  for key in "${!TASK[@]}"; do
    t=${TASK[$key]}; [ -n "$t" ] || continue
    s=$(state "$t"); c=$(children "$t")
    case "$s" in 1|0|4) [ -n "$c" ] || done_all=0 ;; esac   # FREE/OPEN/ASSIGNED without children: not handled yet
  done
  [ $done_all = 1 ] && break
  sleep 5
done
for key in rh-packager-scratch rh-packager-real; do
  t=${TASK[$key]:-}; s=$(state "$t"); c=$(children "$t")
  if [ -n "$t" ] && [ "$s" != 5 ] && [ -n "$c" ]; then
    pass "$key build (task $t, state $s): past build_rpm$([ "$key" = rh-packager-real ] && echo ' and build_from_srpm'), waiting in its child task(s): $c"
  else
    bad "$key build (task ${t:-none}, state ${s:-?}, children '${c}'): $(result "$t")"
  fi
done
for key in rh-reader-scratch rh-reader-real; do
  t=${TASK[$key]:-}; s=$(state "$t"); r=$(result "$t")
  if [ "$s" = 5 ] && grep -q "policy violation" <<< "$r"; then
    pass "$key build (task $t) refused: $r"
  else
    bad "$key build (task ${t:-none}, state ${s:-?}) not refused by policy: $r"
  fi
done
for key in "${!TASK[@]}"; do [ -z "${TASK[$key]}" ] || ns "$ADMIN cancel ${TASK[$key]}" >/dev/null 2>&1; done
ns "$D/bin/svc stop kojid" >/dev/null 2>&1

echo "=== 4. a light host: registered in channel light only, observed, drained (examples/light-host.py)"
if ns "python3 $D/examples/light-host.py" > "$D/logs/check-light.log" 2>&1; then
  sed 's/^/    /' "$D/logs/check-light.log"
  L=$D/logs/check-light.log
  if [ "$(grep -c "^light-001 channels \['light'\] arches aarch64" "$L")" = 2 ]; then
    pass "light-001 is in channel light only, twice (idempotent)"
  else bad "light-001's channels"; fi
  if grep -q "^light-channel hosts observed: .*'kojihub-builder'.*'light-001'" "$L"; then
    pass "the hub's kojid and light-001 are the light channel's hosts"
  else bad "light-channel hosts observed"; fi
  if grep -q "^after disable, enabled = False" "$L" \
      && grep -q "^next plan terminates: \[('i-0aaaabbbbcccc0042', True)\]" "$L"; then
    pass "surplus light-001 drained (disabled), terminated with a decrement once empty"
  else bad "light-001's drain"; fi
else
  bad "examples/light-host.py (log $D/logs/check-light.log):"; tail -5 "$D/logs/check-light.log"
fi

echo "=== 5. tasks stranded on a disabled host: the hub keeps them, the controller frees them (examples/stranded.py)"
S=$D/logs/check-stranded.log
if ns "python3 $D/examples/stranded.py" > "$S" 2>&1; then
  sed 's/^/    /' "$S"
  if grep -q "^control after a forced scheduler run: task [0-9]* FREE host None; .*'Task assignment timeout'" "$S"; then
    pass "an enabled host's assignment past AssignTimeout is freed by the scheduler (Task assignment timeout)"
  else bad "the control task on the enabled x86-64-03 was not freed"; fi
  if grep -q "^forced scheduler run 3: A task [0-9]* ASSIGNED host x86-64-03; L task [0-9]* ASSIGNED host light-001$" "$S"; then
    pass "after 3 forced scheduler runs, tasks assigned past AssignTimeout stay ASSIGNED on the disabled x86-64-03 and light-001"
  else bad "a task on a disabled host did not stay ASSIGNED (the premise of decide.stranded)"; fi
  if grep -q "^plan (demand, .*): free_tasks \[\] cancel_drain \['x86-64-03'\]" "$S" \
      && grep -q "^plan (max 0, .*): free_tasks \['A'\] " "$S" && grep -q "^light plan: free_tasks \['L'\] " "$S"; then
    pass "decide.plan frees the stranded builder task (not the OPEN one) unless it calls the drain back; light_plan frees light-001's"
  else bad "the plans' free_tasks"; fi
  if grep -Eq "^KojiPort.free freed \['A', 'L'\]: A task [0-9]+ (FREE host None|ASSIGNED host kojihub-builder); L task [0-9]+ (FREE host None|ASSIGNED host kojihub-builder); O task [0-9]+ OPEN host x86-64-03$" "$S"; then
    pass "KojiPort.free: the stranded tasks left their disabled hosts, the OPEN task was left alone"
  else bad "KojiPort.free"; fi
  if grep -q "^cancelled the example's tasks .* \['CANCELED', 'CANCELED', 'CANCELED', 'CANCELED'\]$" "$S"; then
    pass "the example's tasks are cancelled"
  else bad "the example's tasks were not all cancelled"; fi
else
  bad "examples/stranded.py (log $S):"; tail -5 "$S"
fi

echo "=== result: $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
