"""A builder's signed certificate travels through SSM (`${SSM_PREFIX}/cert/<instance-id>`); the
controller removes it once the builder's kojid has logged in with it, or once the builder is gone.
SSM keeps at most 10,000 standard parameters per account and Region
(https://docs.aws.amazon.com/general/latest/gr/ssm.html), so one parameter left per builder ever
launched would stop registrations of a fleet that churns. moto stands in for SSM."""

from .stack import PREFIX, Rig


def certs(rig: Rig) -> list[str]:
    pages = rig.ssm.get_paginator("get_parameters_by_path").paginate(Path=f"{PREFIX}/cert")
    return sorted(p["Name"].rsplit("/", 1)[-1] for page in pages for p in page["Parameters"])


def one_booting_builder(rig: Rig) -> str:
    """Queue work for one builder; its instance boots and hands its CSR over (Pending:Wait)."""
    for _ in range(4):
        rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    rig.tick()
    rig.clock.now += 20
    rig.asg.reconcile()
    rig.boot_new_instances()
    (iid,) = rig.instances(state="Pending:Wait")
    return iid


def test_the_certificate_parameter_goes_once_kojid_has_logged_in(rig):
    iid = one_booting_builder(rig)
    rig.ctl.once()                            # registered: the certificate waits in SSM
    assert certs(rig) == [iid]
    rig.ctl.once()                            # kojid has not logged in yet: it stays
    assert certs(rig) == [iid]
    assert rig.builders[iid].try_start()      # kojid reads it and logs in (host ready)
    rig.ctl.once()
    assert certs(rig) == []
    rig.builders[iid].stop()                  # a kojid restart reads the kept client.pem, not SSM
    assert rig.builders[iid].try_start()


def test_a_restarted_controller_removes_the_certificates_of_builders_that_are_gone(rig):
    for gone in ("i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2"):
        rig.ssm.put_parameter(Name=f"{PREFIX}/cert/{gone}", Value="-----BEGIN CERTIFICATE-----", Type="String")
    iid = one_booting_builder(rig)
    rig.ctl.once()
    rig.ctl = rig.new_controller()            # restart before the builder fetched its certificate
    rig.ctl.once()
    assert certs(rig) == [iid]                # the live builder's stays until kojid logs in
    rig.run_until(lambda: not certs(rig), max_ticks=5)


def test_the_certificate_of_a_builder_that_never_logged_in_goes_with_the_builder(rig):
    iid = one_booting_builder(rig)
    rig.ctl.once()
    assert certs(rig) == [iid]
    del rig.builders[iid]                     # it never starts kojid (spot loss during boot)
    rig.asg.terminate(iid, True)
    rig.run_until(lambda: iid not in rig.instances(), max_ticks=40)   # through its terminate hook
    assert certs(rig) == [iid]
    rig.ctl.once()
    assert certs(rig) == []
