"""dnf-install.py BASEURL NAME CERTDIR: install NAME from a koji repo at BASEURL (through topurl) into an
empty installroot, with a builder's certificate and the stack CA from CERTDIR (client.pem, serverca.crt):
what dnf does inside a buildroot, with Debian's python3-dnf. Prints the package and one file it installed."""
import sys
import tempfile

import dnf

baseurl, name, certdir = sys.argv[1:4]
root = tempfile.mkdtemp(prefix="realhub-root-")
base = dnf.Base()
conf = base.conf
conf.installroot = root
conf.cachedir = root + "/cache"
conf.gpgcheck = False  # koji's repos are unsigned, and so is the package rpmbuild made
conf.assumeyes = True
conf.substitutions["releasever"] = "9"  # Debian's libdnf refuses a None substitution
repo = dnf.repo.Repo("kojistack-build", conf)
repo.baseurl = [baseurl]
repo.sslcacert = f"{certdir}/serverca.crt"
repo.sslclientcert = repo.sslclientkey = f"{certdir}/client.pem"
base.repos.add(repo)
base.fill_sack(load_system_repo=False)
base.install(name)
base.resolve()
pkgs = list(base.transaction.install_set)
base.download_packages(pkgs)
base.do_transaction()
print("installed", " ".join(str(p) for p in pkgs), "->", f"/usr/share/{name}/README:",
      open(f"{root}/usr/share/{name}/README").read().strip())
