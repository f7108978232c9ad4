#!/bin/bash
# check-repos.sh DIR: the build-environment checks of `make test-realhub`, after check.sh (it uses the
# packager rh-packager that check.sh added). Prints every command's outcome; exits 1 when any check failed.
# Run as root, outside the namespace.
#   4. the seeded build tag: kojistack-build inherits kojistack; srpm-build has what SCM builds need; an
#      external repo created but detached is attached again by a re-run of the readiness steps
#   5. the distro's mirrors cannot be reached here, so the seeded external repos are pointed at empty repos
#      served by the hub itself (the only change to the seeded data); then a package imported and tagged
#      into kojistack lands in kojistack-build's next repo, and a registered builder reads that repo through
#      topurl with its certificate (toplink symlinks included) and installs the package with dnf
#   6. the builder's kojid (slot x86-64-02, default channel) takes the packager's scratch and real SRPM
#      builds: the hub's kojid passes the policies and creates the builder's tasks (rebuildSRPM first), the
#      builder runs them up to mock (not installed here: where they stop); an SCM build (AllowedScms empty) gets past the
#      builder's SCM check for the admin (and stops at mock) and is refused there for the packager
#   6b. a light host (slot light-001, registered as the stack does: examples/builder-register.sh with
#      KOJISTACK_ROLE=light) runs its own kojid while the builder's still runs; with the hub's kojid out of the
#      light channel, the packager's real SRPM build's parent (`build`) opens on light-001, passes the hub's
#      policies and creates its rebuildSRPM, which the builder takes; light-001's kojid is offered no
#      default-channel task, and its maxjobs (kojid.conf and what it reports) is decide.light_slots(MemTotal)
#   7. koji-gc, koji-sweep-db, kojistack-prune (the prune timer's service) run without error; kojira has
#      logged no error
set -u
D=${1:?usage: check-repos.sh DIR}
D=$(cd "$D" && pwd)
[ -x "$D/ns" ] || { echo "check-repos.sh: $D is not a harness (tests/realhub/build.sh DIR ...)" >&2; exit 2; }
[ -s "$D/check/rh-packager.conf" ] || { echo "check-repos.sh: run check.sh first (it adds rh-packager)" >&2; exit 2; }
fail=0
pass() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
ns() { "$D/ns" "$@"; }
ADMIN="koji --config /etc/kojistack/koji-admin.conf"
W=$D/check
# shellcheck disable=SC1091  # written by build.sh
. "$D/stage/stack.env"
TOP=https://$KOJISTACK_INTERNAL_NLB_DNS/kojifiles
SLOT=x86-64-02
B=$D/builders/$SLOT/kojid
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

echo "=== 4. the seeded build tag"
parents=$(ns "$ADMIN call --json-output getInheritanceData kojistack-build" | json '" ".join(p["name"] for p in d)')
if [ "$parents" = kojistack ]; then pass "kojistack-build inherits: $parents"; else bad "kojistack-build inherits '$parents'"; fi
srpm_build=$(ns "$ADMIN list-groups kojistack-build srpm-build" | sed -n 's/^  \([^:]*\):.*/\1/p' | tr '\n' ' ')
if [[ " $srpm_build " == *" git "* && " $srpm_build " == *" make "* && " $srpm_build " == *" fedpkg-minimal "* ]]; then
  pass "srpm-build: $srpm_build"
else
  bad "srpm-build lacks git, make or fedpkg-minimal: $srpm_build"
fi
ns "$ADMIN remove-external-repo kojistack-crb kojistack-build" >/dev/null 2>&1
ns "$D/run-ready-steps.sh" > "$D/logs/check-ready-rerun.log" 2>&1 || bad "the readiness steps' re-run failed (log $D/logs/check-ready-rerun.log)"
attached=$(ns "$ADMIN list-external-repos --tag kojistack-build --quiet" | awk '{ print $2 }' | tr '\n' ' ')
if [[ " $attached " == *" kojistack-crb "* ]]; then
  pass "a detached kojistack-crb is attached again by a re-run: $attached"
else
  bad "kojistack-crb not attached again: $attached"
fi

echo "=== 5. a package tagged into kojistack reaches the builders through topurl"
ns "set -e; M=/mnt/koji/check-mirror; for r in baseos appstream crb epel; do for a in x86_64 aarch64; do
      mkdir -p \$M/\$r/\$a; createrepo_c -q \$M/\$r/\$a; done
      $ADMIN edit-external-repo kojistack-\$r --url '$TOP/check-mirror/'\$r'/\$arch/'; done" \
  || bad "could not point the external repos at the local empty repos"
mkdir -p "$W/rpmbuild/SPECS"
cat > "$W/rpmbuild/SPECS/rh-lib.spec" <<'SPEC'
Name: rh-lib
Version: 1.0
Release: 1
Summary: a package for tests/realhub/check-repos.sh
License: MIT
BuildArch: noarch
%description
Imported into the stack's tag by tests/realhub/check-repos.sh.
%install
mkdir -p %{buildroot}/usr/share/rh-lib
echo rh-lib > %{buildroot}/usr/share/rh-lib/README
%files
/usr/share/rh-lib/README
SPEC
rpmbuild --define "_topdir $W/rpmbuild" -ba "$W/rpmbuild/SPECS/rh-lib.spec" >/dev/null 2>&1 || { bad "rpmbuild -ba failed"; exit 1; }
ns "set -e; [ \"\$($ADMIN call --json-output getBuild rh-lib-1.0-1)\" = null ] || exit 0  # a second run
    $ADMIN add-pkg --owner kojiadmin kojistack rh-lib >/dev/null
    $ADMIN import $W/rpmbuild/SRPMS/rh-lib-1.0-1.src.rpm $W/rpmbuild/RPMS/noarch/rh-lib-1.0-1.noarch.rpm >/dev/null
    $ADMIN tag-build kojistack rh-lib-1.0-1 >/dev/null" || bad "import and tag of rh-lib failed"
ns "$D/bin/svc start kojira kojid" >/dev/null 2>&1
if ns "timeout 900 $ADMIN wait-repo kojistack-build --build rh-lib-1.0-1 --request --timeout 14" > "$W/wait-repo.out" 2>&1; then
  repo=$(sed -n 's/^Got repo \([0-9]*\)$/\1/p' "$W/wait-repo.out")
  pass "kojistack-build's repo $repo has rh-lib-1.0-1 (tagged into kojistack only): $(tr '\n' ' ' < "$W/wait-repo.out")"
else
  bad "no kojistack-build repo with rh-lib: $(cat "$W/wait-repo.out")"; repo=""
fi
stop_builder() { ns "p=\$(cat /run/harness/kojid-$SLOT.pid 2>/dev/null) && kill \$p 2>/dev/null; rm -f /run/harness/kojid-$SLOT.pid"; }
stop_builder  # an earlier run's kojid holds the slot's exclusive session
ns "$D/examples/builder-register.sh i-0bbbbccccdddd0002 $SLOT x86_64" > "$D/logs/check-builder-register.log" 2>&1 \
  || bad "builder registration failed (log $D/logs/check-builder-register.log)"
href=$(zcat "$D"/ovl/_mnt/upper/koji/repos/kojistack-build/"$repo"/x86_64/repodata/*-primary.xml.gz 2>/dev/null \
  | grep -o '<location href="[^"]*rh-lib[^"]*"' | sed 's/.*href="//; s/"$//')
for path in repodata/repomd.xml "$href"; do
  code=$(ns "curl -sS -o /dev/null -w '%{http_code}' --cacert $B/serverca.crt --cert $B/client.pem $TOP/repos/kojistack-build/$repo/x86_64/$path")
  if [ "$code" = 200 ]; then pass "builder GET topurl/repos/kojistack-build/$repo/x86_64/$path -> $code"
  else bad "builder GET topurl/repos/kojistack-build/$repo/x86_64/$path -> $code"; fi
done
if out=$(ns "python3 $D/examples/dnf-install.py $TOP/repos/kojistack-build/$repo/x86_64 rh-lib $B" 2>&1); then
  pass "dnf installs rh-lib from the repo through topurl: $(tr '\n' ' ' <<< "$out")"
else
  bad "dnf could not install rh-lib: $(tail -3 <<< "$out")"
fi

echo "=== 6. the packager's builds reach the builder's kojid"
ns "getent passwd kojibuilder >/dev/null || useradd -r -M kojibuilder"  # the koji-builder RPM creates it
# started as bin/svc starts the hub's kojid: its own session, PID in /run/harness (stop.sh stops it too)
ns "mkdir -p /run/harness; (cd /; exec setsid /bin/bash -c 'echo \$\$ > /run/harness/kojid-$SLOT.pid; exec \"\$@\"' _ \
    /usr/sbin/kojid --fg --force-lock --verbose -c $B/kojid.conf >> /var/log/kojid-$SLOT.stdout 2>&1 < /dev/null) &
    sleep 2"
srpm=$W/rpmbuild/SRPMS/rh-hello-1.0-1.src.rpm
declare -A TASK
for kind in scratch real; do
  opt=--wait-repo; [ $kind = scratch ] && opt="--scratch --wait-repo"
  out=$(ns "koji --config $W/rh-packager.conf -p rh-packager build $opt --nowait kojistack $srpm" 2>&1)
  TASK[$kind]=$(sed -n 's/^Created task: \([0-9]*\)$/\1/p' <<< "$out")
  echo "    rh-packager $kind build: task ${TASK[$kind]:-none}"
done
# builder_task PARENT [METHODS]: "id state host method" of the first child of PARENT (rebuildSRPM, then
# buildArch; koji 1.35 rebuilds an uploaded SRPM in the buildroot first) that has ended (closed/failed/canceled)
builder_task() {
  ns "$ADMIN call --json-output getTaskChildren $1" 2>/dev/null | python3 -c '
import json, sys
methods = sys.argv[1].split(",")
for c in sorted(json.load(sys.stdin), key=lambda c: c["id"]):
    if c["method"] in methods and c["state"] in (2, 3, 5):
        print(c["id"], c["state"], c["host_id"], c["method"])
        break' "${2:-rebuildSRPM,buildArch}"
}
result() {  # TASK: its result or fault, first two lines
  ns "$ADMIN call --json-output getTaskResult ${1:-0} raise_fault=False" 2>/dev/null \
    | json '(d.get("faultString") if isinstance(d, dict) else d) or ""' | head -2 | tr '\n' ' '
}
for _ in $(seq 1 60); do
  ns "$ADMIN call scheduler.doRun force=True" >/dev/null 2>&1
  [ -n "$(builder_task "${TASK[scratch]}")" ] && [ -n "$(builder_task "${TASK[real]}")" ] && break
  sleep 10
done
host_id=$(ns "$ADMIN call --json-output getHost $SLOT" | json 'd["id"]')
for kind in scratch real; do
  read -r id state host method <<< "$(builder_task "${TASK[$kind]}")"
  if [ -n "${id:-}" ] && [ "$host" = "$host_id" ]; then
    pass "$kind build (task ${TASK[$kind]}): past every policy; $method $id ran on $SLOT and stopped at: $(result "$id")"
  else
    bad "$kind build (task ${TASK[$kind]}): no child task ended on $SLOT (${id:-none} ${host:-}): $(ns "$ADMIN taskinfo ${TASK[$kind]}" | tail -3 | tr '\n' ' ')"
  fi
done
for kind in scratch real; do ns "$ADMIN cancel ${TASK[$kind]}" >/dev/null 2>&1; done
# SCM builds with AllowedScms empty (this harness's stack.env): admin-only, decided by the hub's build_from_scm
# policy that the builder's kojid asks (allowed_scms_use_policy), not by kojid's empty allowed_scms list
scm=git+https://src.example.org/rpms/rh-hello.git#0123456789abcdef0123456789abcdef01234567
for who in admin packager; do
  if [ $who = admin ]; then cli=$ADMIN; else cli="koji --config $W/rh-packager.conf -p rh-packager"; fi
  TASK[scm-$who]=$(ns "$cli build --scratch --wait-repo --nowait kojistack '$scm'" 2>&1 | sed -n 's/^Created task: \([0-9]*\)$/\1/p')
  echo "    $who SCM scratch build: task ${TASK[scm-$who]:-none}"
done
for _ in $(seq 1 60); do
  ns "$ADMIN call scheduler.doRun force=True" >/dev/null 2>&1
  [ -n "$(builder_task "${TASK[scm-admin]}" buildSRPMFromSCM)" ] && [ -n "$(builder_task "${TASK[scm-packager]}" buildSRPMFromSCM)" ] && break
  sleep 10
done
for who in admin packager; do
  read -r id state host method <<< "$(builder_task "${TASK[scm-$who]}" buildSRPMFromSCM)"
  r=$(result "${id:-}")
  refused=$(grep -c "is not allowed" <<< "$r")
  if [ -z "${id:-}" ] || [ "$host" != "$host_id" ]; then
    bad "$who SCM build (task ${TASK[scm-$who]}): no buildSRPMFromSCM ended on $SLOT ($id $state $host)"
  elif { [ $who = admin ] && [ "$refused" = 0 ]; } || { [ $who = packager ] && [ "$refused" = 1 ]; }; then
    pass "$who SCM build (task ${TASK[scm-$who]}): buildSRPMFromSCM $id on $SLOT: $r"
  else
    bad "$who SCM build (task ${TASK[scm-$who]}): buildSRPMFromSCM $id on $SLOT: $r"
  fi
  ns "$ADMIN cancel ${TASK[scm-$who]}" >/dev/null 2>&1
done

echo "=== 6b. a light host's kojid takes the build parent (the builder's kojid still runs)"
LSLOT=light-001
HUB_HOST=$(ns ". /opt/kojistack/names.env && echo \$KOJISTACK_HUB_HOST")  # kojihub-builder
LB=$D/builders/$LSLOT/kojid
stop_light() { ns "p=\$(cat /run/harness/kojid-$LSLOT.pid 2>/dev/null) && kill \$p 2>/dev/null; rm -f /run/harness/kojid-$LSLOT.pid"; }
stop_light
# check.sh section 4 registered light-001 (aarch64) and drained it; the stack reuses the slot for a new instance
if ns "KOJISTACK_ROLE=light $D/examples/builder-register.sh i-0aaaabbbbcccc0101 $LSLOT x86_64" \
    > "$D/logs/check-light-register.log" 2>&1; then
  lid=$(ns "$ADMIN call --json-output getHost $LSLOT" | json 'd["id"]')
  channels=$(ns "$ADMIN call --json-output listChannels hostID=$lid" | json '" ".join(sorted(c["name"] for c in d))')
  host=$(ns "$ADMIN call --json-output getHost $LSLOT" | json '"arches %s capacity %s enabled %s" % (d["arches"], d["capacity"], d["enabled"])')
  subject=$(openssl x509 -in "$LB/client.pem" -noout -subject -issuer -nameopt RFC2253 | tr '\n' ' ')
  if [ "$channels" = light ] && grep -q "^logged in as $LSLOT usertype 1" "$D/logs/check-light-register.log"; then
    pass "$LSLOT registered as decide.light_plan does: channels '$channels', $host; certificate $subject; its login through httpd's slot guard: $(grep '^logged in as' "$D/logs/check-light-register.log")"
  else
    bad "$LSLOT registration: channels '$channels', $host (log $D/logs/check-light-register.log)"
  fi
else
  bad "light host registration failed (log $D/logs/check-light-register.log):"; tail -5 "$D/logs/check-light-register.log"; lid=""
fi
# its maxjobs: kojistack-kojid-conf's (light role) against the controller's own formula decide.light_slots(MemTotal MiB)
conf_maxjobs=$(sed -n 's/^maxjobs = //p' "$LB/kojid.conf" 2>/dev/null)
want_maxjobs=$(ns "PYTHONPATH=/opt/kojistack/lib python3 -c 'from kojistack_controller import decide
print(decide.light_slots(int(next(l.split()[1] for l in open(\"/proc/meminfo\") if l.startswith(\"MemTotal:\"))) // 1024))'")
# the hub's kojid (kojihub-builder, channels createrepo + light) leaves the light channel meanwhile, so the parent
# can only go to light-001; it keeps createrepo (a --wait-repo build needs a new repo)
ns "$ADMIN remove-host-from-channel $HUB_HOST light" >/dev/null 2>&1 || bad "could not take $HUB_HOST out of channel light"
ns "mkdir -p /run/harness; : > /var/log/kojid-$LSLOT.stdout; (cd /; exec setsid /bin/bash -c 'echo \$\$ > /run/harness/kojid-$LSLOT.pid; exec \"\$@\"' _ \
    /usr/sbin/kojid --fg --force-lock --verbose -c $LB/kojid.conf >> /var/log/kojid-$LSLOT.stdout 2>&1 < /dev/null) &
    sleep 2"
out=$(ns "koji --config $W/rh-packager.conf -p rh-packager build --wait-repo --nowait kojistack $srpm" 2>&1)
TASK[light]=$(sed -n 's/^Created task: \([0-9]*\)$/\1/p' <<< "$out")
echo "    rh-packager real build: task ${TASK[light]:-none}"
for _ in $(seq 1 60); do
  ns "$ADMIN call scheduler.doRun force=True" >/dev/null 2>&1
  [ -n "$(builder_task "${TASK[light]:-0}" rebuildSRPM)" ] && break
  sleep 10
done
read -r pstate phost pchannel <<< "$(ns "$ADMIN call --json-output getTaskInfo ${TASK[light]:-0}" | json '"%s %s %s" % (d["state"], d["host_id"], d["channel_id"])')"
light_channel=$(ns "$ADMIN call --json-output getChannel light" | json 'd["id"]')
if [ -n "$lid" ] && [ "$phost" = "$lid" ] && [ "$pchannel" = "$light_channel" ]; then
  pass "real build (task ${TASK[light]}): its build parent is opened on $LSLOT (getTaskInfo host_id $phost = $LSLOT's id, channel light, state $pstate)"
else
  bad "real build (task ${TASK[light]:-none}): parent on host ${phost:-none} channel ${pchannel:-none} state ${pstate:-none}, not on $LSLOT (${lid:-?}): $(tail -3 "$D/ovl/_var/upper/log/kojid-$LSLOT.stdout" 2>/dev/null | tr '\n' ' ')"
fi
read -r id state host method <<< "$(builder_task "${TASK[light]:-0}" rebuildSRPM)"
if [ -n "${id:-}" ] && [ "$host" = "$host_id" ]; then
  pass "real build (task ${TASK[light]}): past every policy on $LSLOT's kojid; its $method $id ran on $SLOT and stopped at: $(result "$id")"
else
  bad "real build (task ${TASK[light]:-none}): no rebuildSRPM ended on $SLOT (${id:-none} ${host:-}): $(ns "$ADMIN taskinfo ${TASK[light]:-0}" | tail -3 | tr '\n' ' ')"
fi
# light-001's kojid: every task the hub's scheduler offered it (scheduler.getTaskRuns: one run per assignment to a
# host, host.getTasks hands kojid exactly these) and every task its log says it took ("Attempting to take task N") is
# a light-channel task; the default channel's rebuildSRPM never reached it
L=$D/ovl/_var/upper/log/kojid-$LSLOT.stdout
taken=$(sed -n 's/.*Attempting to take task \([0-9]*\).*/\1/p' "$L" 2>/dev/null | sort -un | tr '\n' ' ')
offered=$(ns "$ADMIN call --json-input --json-output scheduler.getTaskRuns 'clauses=[[\"host_id\", \"=\", ${lid:-0}]]' \
    'fields=[\"task_id\", \"method\", \"channel_id\"]'" 2>/dev/null \
  | json '" ".join("%s:%s:%s" % (r["task_id"], r["method"], r["channel_id"]) for r in sorted(d, key=lambda r: r["task_id"]))')
took=$(for t in $taken; do ns "$ADMIN call --json-output getTaskInfo $t" | json '"%s:%s:%s" % (d["id"], d["method"], d["channel_id"])'; done | tr '\n' ' ')
others=$(for t in $offered $took; do [[ $t == *:*:"$light_channel" ]] || echo "$t"; done | tr '\n' ' ')
if [ -n "$taken" ] && [[ " $offered " == *" ${TASK[light]:-x}:build:"* ]] && [[ " $took " == *" ${TASK[light]:-x}:build:"* ]] \
    && [ -z "${others// /}" ] && ! grep -qE "task ${id:-x}([^0-9]|$)" "$L"; then
  pass "$LSLOT was offered only light-channel tasks (task:method:channel $offered; channel light is $light_channel) and its kojid took $took; never the default channel's $method ${id:-}"
else
  bad "$LSLOT: offered '$offered', its kojid took '$took'; not light-channel: '$others' (light is ${light_channel:-?}; log $L)"
fi
# host data as the running kojid sends it every loop (koji/daemon.py _get_host_data: its handlers' methods, build
# among them, and maxjobs), not as builder-register.sh's start-up call sent it (methods buildArch only)
read -r reported methods <<< "$(ns "$ADMIN call --json-output scheduler.getHostData ${lid:-0}" 2>/dev/null \
  | json '"%s %s" % (d[0]["data"]["maxjobs"], len(d[0]["data"]["methods"])) if d and "build" in d[0]["data"]["methods"] else ""')"
if [ -n "$want_maxjobs" ] && [ "$conf_maxjobs" = "$want_maxjobs" ] && [ "${reported:-}" = "$want_maxjobs" ]; then
  pass "$LSLOT's kojid.conf (kojistack-kojid-conf, light role): maxjobs = $conf_maxjobs = decide.light_slots(MemTotal); its running kojid reports maxjobs $reported with its $methods methods (scheduler.getHostData)"
else
  bad "$LSLOT's maxjobs: kojid.conf '$conf_maxjobs', its kojid reports '${reported:-}', decide.light_slots(MemTotal) '$want_maxjobs'"
fi
ns "$ADMIN cancel ${TASK[light]:-0}" >/dev/null 2>&1
stop_light
# the harness as it was: the hub's kojid back in the light channel, light-001 drained (disabled) as check.sh left it
ns "$ADMIN add-host-to-channel $HUB_HOST light" >/dev/null 2>&1
ns "$ADMIN disable-host $LSLOT" >/dev/null 2>&1
hub_channels=$(ns "$ADMIN call --json-output listChannels hostID=$(ns "$ADMIN call --json-output getHost $HUB_HOST" | json 'd["id"]')" \
  | json '" ".join(sorted(c["name"] for c in d))')
if [[ " $hub_channels " == *" light "* ]]; then pass "$HUB_HOST back in the light channel ($hub_channels); $LSLOT's kojid stopped and the host disabled"
else bad "$HUB_HOST's channels after 6b: $hub_channels"; fi
stop_builder

echo "=== 7. koji-gc, koji-sweep-db, the prune timer's service, kojira"
for cmd in "/usr/sbin/koji-gc --lock-file=/var/lock/koji-gc.lock --exit-on-lock" /usr/sbin/koji-sweep-db \
    /opt/kojistack/files/bin/kojistack-prune; do
  if out=$(ns "$cmd" 2>&1); then pass "$cmd -> rc 0 ($(wc -l <<< "$out") lines of output, last: $(tail -1 <<< "$out"))"
  else bad "$cmd: $(tail -3 <<< "$out")"; fi
done
if grep -E '\[(ERROR|CRITICAL)\]' "$D/ovl/_var/upper/log/kojira.log" > "$W/kojira-errors.log"; then
  bad "kojira logged errors: $(head -3 "$W/kojira-errors.log")"
else
  pass "kojira running $(ns "$D/bin/svc status" | grep kojira), no ERROR in kojira.log ($(wc -l < "$D/ovl/_var/upper/log/kojira.log") lines)"
fi
ns "$D/bin/svc stop kojid" >/dev/null 2>&1

echo "=== result: $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
