#!/bin/bash
# selinux-file-contexts.sh OUT: write OUT, the file contexts of the SELinux reference policy's base
# module (Debian's selinux-policy-default, which ships it only inside the compiled module), for
# `matchpathcon -f OUT PATH`. Needs apt-get (download only), dpkg-deb, bunzip2 and semodule_unpackage
# (.ci/run installs selinux-utils and semodule-utils).
set -euo pipefail
out=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq selinux-policy-default 2>/dev/null) || {
  echo "selinux-file-contexts.sh: cannot download selinux-policy-default (run apt-get update first)" >&2
  exit 1
}
dpkg-deb -x "$work"/selinux-policy-default_*.deb "$work/x"
bunzip2 -c "$work/x/usr/share/selinux/default/base.pp.bz2" > "$work/base.pp"
semodule_unpackage "$work/base.pp" "$work/base.mod" "$work/base.fc"
mv "$work/base.fc" "$out"
