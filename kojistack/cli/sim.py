"""The simulator's commands: simulate, trace."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from ..errors import OperationError, UserError
from ..sim.engine import SimConfig

_D = SimConfig()       # the defaults follow the shipped stack; change them there, in one place
MAX_BUILDERS = 1000    # the simulator runs up to a thousand builders per arch (the stack ships 99)


def _since(value: str) -> float:
    """An ISO date or date-time (UTC unless it says otherwise) as seconds since the epoch."""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since {value!r}: give a date like 2026-11-01 or 2026-11-01T08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@click.command()
@click.option("--workload", type=click.Choice(["steady", "diurnal", "mass-rebuild", "fedora-mass-rebuild"]),
              default=None, help="A fixed, seeded workload (docs/simulator.md).")
@click.option("--fleet", "fleets", multiple=True,
              type=click.Choice(["controller", "buildkite-like", "target-tracking"]),
              help="Fleet policy to run (repeat for several; default: the controller). Peers: docs/simulator.md.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Replay a task trace written by `kojistack trace`.")
@click.option("--seed", type=int, default=1, show_default=True, help="Workload and spot seed.")
@click.option("--period", type=float, default=_D.period_s, show_default=True, help="Controller loop period, s.")
@click.option("--boot", type=float, default=_D.boot_s, show_default=True,
              help="Launch to CSR handed over (EC2 start, OS boot, cloud-init, key), s.")
@click.option("--packages", type=float, default=_D.packages_s, show_default=True,
              help="CSR handed over to packages installed (runs while the controller registers), s.")
@click.option("--start", "start_s", type=float, default=_D.start_s, show_default=True,
              help="Registered and installed to kojid's first poll, s.")
@click.option("--idle", type=float, default=_D.idle_s, show_default=True, help="Scale-in idle time, s.")
@click.option("--headroom", type=float, default=_D.headroom_weight, show_default=True,
              help="Headroom task weight per arch.")
@click.option("--min", "min_size", type=int, default=_D.min_size, show_default=True, help="Group min size per arch.")
@click.option("--max", "max_size", type=int, default=None,
              help="Group max size per arch (default: the workload's, 50).")
@click.option("--vcpus", type=int, default=_D.vcpus, show_default=True, help="vCPUs per builder (capacity).")
@click.option("--spot-rate", type=float, default=_D.spot_rate_per_hour, show_default=True,
              help="Spot interruptions per builder-hour.")
@click.option("--light-capacity", type=float, default=_D.light_capacity, show_default=True,
              help="Capacity of the hub's kojid that serves the light channel.")
@click.option("--light-maxjobs", type=int, default=_D.light_maxjobs, show_default=True,
              help="maxjobs of the hub's kojid (waiting parents count).")
@click.option("--light-hosts/--no-light-hosts", default=_D.light_hosts, show_default=True,
              help="Light hosts beyond the hub's kojid, scaled by the controller (the stack's light group); "
                   "--no-light-hosts: the hub's kojid alone serves the light channel.")
@click.option("--no-reference", is_flag=True, help="Run the controller only (no oracle or fixed fleets).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write queue, running tasks and builders over time to this PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
def simulate(workload, fleets, trace_path, seed, period, boot, packages, start_s, idle, headroom, min_size, max_size,
             vcpus, spot_rate, light_capacity, light_maxjobs, light_hosts, no_reference, plot_path, as_json) -> None:
    """Simulate the Koji queue and the builder fleet, driven by the controller's own decisions."""
    from ..sim.report import render_text, to_json
    from ..sim.run import compare
    from ..sim.run import simulate as run_simulation
    from ..sim.trace import TraceError, load_trace
    from ..sim.workloads import make_workload

    if (workload is None) == (trace_path is None):
        raise UserError("give exactly one of --workload steady|diurnal|mass-rebuild|fedora-mass-rebuild "
                        "or --trace FILE")
    for name, value in (("--period", period), ("--vcpus", vcpus), ("--light-capacity", light_capacity - 1),
                        ("--light-maxjobs", light_maxjobs)):
        if value <= 0:
            raise UserError(f"{name} must be positive" + (" and above 1 (Koji capacity > 1)"
                                                          if name == "--light-capacity" else ""))
    if min(boot, packages, start_s, idle, headroom, spot_rate, min_size) < 0:
        raise UserError("--boot, --packages, --start, --idle, --headroom, --spot-rate and --min "
                        "must not be negative")
    if plot_path is not None and fleets and "controller" not in fleets:
        raise UserError("--plot draws the controller's run: add --fleet controller")
    if max_size is not None and not 0 < max_size <= MAX_BUILDERS:
        raise UserError(f"--max must be 1..{MAX_BUILDERS} builders per arch, got {max_size}")
    if trace_path is not None:
        if not trace_path.exists():
            raise UserError(f"--trace {trace_path}: no such file")
        try:
            wl = load_trace(trace_path, max_size or 50)
        except TraceError as err:
            raise UserError(f"--trace {trace_path}: {err}") from None
    else:
        wl = make_workload(workload, seed)
    if min_size > (max_size if max_size is not None else wl.max_per_arch):
        raise UserError(f"--min {min_size} is above the max {max_size or wl.max_per_arch}")
    cfg = SimConfig(period_s=period, boot_s=boot, packages_s=packages, start_s=start_s, vcpus=vcpus,
                    light_capacity=light_capacity,
                    light_maxjobs=light_maxjobs, spot_rate_per_hour=spot_rate, min_size=min_size,
                    max_size=max_size, idle_s=idle, headroom_weight=headroom, seed=seed, light_hosts=light_hosts)
    if fleets and fleets != ("controller",):
        cmp = compare(wl, cfg, tuple(dict.fromkeys(fleets)), bound=not no_reference)
    else:
        cmp = run_simulation(wl, cfg, references=not no_reference)
    click.echo(to_json(cmp) if as_json else render_text(cmp))
    for note in wl.notes:
        click.echo(f"note: {note}", err=True)
    if plot_path is not None:
        from ..sim.plot import write_plot

        assert cmp.controller is not None  # run whenever --plot is given (checked above)
        write_plot(cmp.controller, plot_path, f"{wl.name}: controller fleet")
        click.echo(f"wrote {plot_path}", err=True)


@click.command()
@click.option("--hub", "hub_url", required=True, help="Hub XML-RPC URL, e.g. https://koji.example.org/kojihub.")
@click.option("--since", required=True, help="Export tasks created after this date (UTC), e.g. 2026-11-01.")
@click.option("-o", "--output", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="CSV file to write ('-' for standard output).")
@click.option("--serverca", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="CA bundle for a hub with a private CA (a kojistack hub: `kojistack client-config`).")
def trace(hub_url, since, out_path, serverca) -> None:
    """Export a task trace from a Koji hub (anonymous API) for `kojistack simulate --trace`."""
    import koji

    from ..sim.trace import export_rows, write_csv

    since_ts = _since(since)
    opts = {"serverca": str(serverca)} if serverca else {}
    session = koji.ClientSession(hub_url, opts)
    try:
        rows = export_rows(session, since_ts)
    except (koji.GenericError, OSError) as err:
        raise OperationError(f"reading tasks from {hub_url}: {err}") from None
    except Exception as err:  # requests' errors (SSL, connection) are not OSError subclasses everywhere
        raise OperationError(f"reading tasks from {hub_url}: {type(err).__name__}: {err}") from None
    if str(out_path) == "-":
        write_csv(rows, sys.stdout)
    else:
        with open(out_path, "w", newline="") as fh:
            write_csv(rows, fh)
        click.echo(f"wrote {len(rows)} task(s) to {out_path}", err=True)

