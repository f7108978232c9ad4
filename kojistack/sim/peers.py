"""Peer fleet policies the controller is measured against, written from their public sources and
adapted to Koji only where they must be (jobs are Koji tasks; an instance holds several).

- `BuildkiteLikeFleet`: buildkite/buildkite-agent-scaler (`scaler/scaling_calculator.go`,
  `DesiredCount`): every 10 s (README: "polls the Buildkite Metrics API every 10 seconds"),
  desired = ceil((scheduled + running jobs) / agents per instance). As in the Elastic CI Stack it
  runs with scale-in disabled (README, "Gracefully scaling in": `DISABLE_SCALE_IN`), and an
  instance terminates itself, decrementing the desired count, once idle for 10 minutes (agent
  `--disconnect-after-idle-timeout` + a systemd PostStop script).
- `TargetTrackingFleet`: EC2 Auto Scaling target tracking on backlog per instance
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html and
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html): a
  one-minute metric, jobs per InService instance, with the target = the tasks one builder runs at
  once; it "scales out proportionally ... but scales in more gradually". The alarms target
  tracking creates are modelled as 3 one-minute datapoints above target for scale-out and 15 below
  for scale-in (as those alarms show in CloudWatch); new instances warm up for 300 s (the default
  instance warmup) and are not counted in the metric; scale-in removes at most 10 % (at least one)
  per activity, only idle builders (busy ones carry scale-in protection), with a 300 s cooldown.
  The group keeps one instance per arch: with none, "backlog per instance" has no data and the
  policy could never scale out from zero.
- `lower_bound()`: the pure work of the workload, packed perfectly on builders with no wait, plus
  one boot per builder of the peak: no policy can wait less, and none can use fewer builder-hours
  without waiting.

Both peers register a builder the moment its CSR is ready (no controller period), which favours them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kojistack.controller import decide

from .engine import ARCHES, BUILDER_CHANNELS, MID_WAVE_S, Engine, Instance
from .koji_model import OPEN
from .workloads import BUILD_ARCH_WEIGHT, TaskSpec, Workload

BUILDKITE_POLL_S = 10.0
IDLE_TIMEOUT_S = 600.0
METRIC_PERIOD_S = 60.0
HIGH_DATAPOINTS = 3
LOW_DATAPOINTS = 15
WARMUP_S = 300.0
SCALE_IN_COOLDOWN_S = 300.0
SCALE_IN_STEP = 0.10
TT_MIN_SIZE = 1             # with no instance the per-instance metric has no data: the group keeps one


def agents_per_instance(eng: Engine) -> int:
    """Tasks one builder runs at once: its capacity over a buildArch task's base weight."""
    return max(1, int(decide.builder_capacity(eng.cfg.vcpus) // BUILD_ARCH_WEIGHT))


def jobs(eng: Engine) -> dict[str, tuple[int, int]]:
    """(queued, running) builder tasks per arch; a FREE noarch task counts for the primary arch."""
    out = {a: [0, 0] for a in ARCHES}
    for channel in BUILDER_CHANNELS:
        for t in eng.hub.by_channel.get(channel, {}).values():
            if t.host is not None:
                arch = next(iter(t.host.arches))
            else:
                arch = t.arch if t.arch in out else ARCHES[0]
            out[arch][1 if t.state == OPEN else 0] += 1
    return {a: (q, r) for a, (q, r) in out.items()}


def _register_now(eng: Engine, inst: Instance) -> None:
    held = {i.slot for i in eng.live(inst.arch) if i.slot}
    slot = next(s for s in (decide.slot_name(inst.arch, n) for n in range(1, eng.max_size + 2)) if s not in held)
    eng.register(inst, slot, decide.builder_capacity(eng.cfg.vcpus))


def _idle_for(eng: Engine, inst: Instance) -> float:
    host = eng.hub.hosts.get(inst.slot) if inst.slot else None
    if host is None or not host.alive or host.tasks:
        return 0.0
    return eng.now - host.idle_since


class BuildkiteLikeFleet:
    """desired = ceil(jobs / agents per instance) every 10 s, never lowered; idle instances leave."""

    name = "buildkite-like"

    def start(self, eng: Engine) -> None:
        eng.at(0.0, self._tick, eng)

    def on_pending(self, eng: Engine, inst: Instance) -> None:
        _register_now(eng, inst)

    def tail(self, eng: Engine) -> float:
        return IDLE_TIMEOUT_S + 2 * BUILDKITE_POLL_S

    def _tick(self, eng: Engine) -> None:
        per = agents_per_instance(eng)
        for arch, (queued, running) in jobs(eng).items():
            for inst in eng.live(arch):                       # idle self-termination
                if inst.lifecycle == "InService" and _idle_for(eng, inst) >= IDLE_TIMEOUT_S:
                    eng.terminate(inst, decrement=True)
            want = math.ceil((queued + running) / per) if queued + running else 0
            if want > eng.desired[arch]:                      # DISABLE_SCALE_IN
                eng.set_desired(arch, want)
        eng.at(eng.now + BUILDKITE_POLL_S, self._tick, eng)


@dataclass
class _Alarm:
    high: int = 0
    low: int = 0
    last_scale_in: float = -1e18


class TargetTrackingFleet:
    """Target tracking on jobs per InService instance (target: tasks one builder runs at once)."""

    name = "target-tracking"

    def __init__(self) -> None:
        self.alarms = {a: _Alarm() for a in ARCHES}

    def start(self, eng: Engine) -> None:
        for arch in ARCHES:
            eng.set_desired(arch, TT_MIN_SIZE)
        eng.at(0.0, self._tick, eng)

    def on_pending(self, eng: Engine, inst: Instance) -> None:
        _register_now(eng, inst)

    def tail(self, eng: Engine) -> float:
        return (LOW_DATAPOINTS + 2) * METRIC_PERIOD_S + SCALE_IN_COOLDOWN_S

    def _tick(self, eng: Engine) -> None:
        target = float(agents_per_instance(eng))
        for arch, (queued, running) in jobs(eng).items():
            alarm = self.alarms[arch]
            warm = [i for i in eng.live(arch) if eng.now - i.launched_at >= WARMUP_S]
            n = len(warm)
            metric = (queued + running) / max(1, n)
            alarm.high = alarm.high + 1 if metric > target else 0
            alarm.low = alarm.low + 1 if metric < target else 0
            want = max(TT_MIN_SIZE, math.ceil(max(1, n) * metric / target) if queued + running else 0)
            if alarm.high >= HIGH_DATAPOINTS and want > eng.desired[arch]:
                eng.set_desired(arch, want)
            elif (alarm.low >= LOW_DATAPOINTS and want < eng.desired[arch]
                  and eng.now - alarm.last_scale_in >= SCALE_IN_COOLDOWN_S):
                step = max(1, math.floor(SCALE_IN_STEP * eng.desired[arch]))
                remove = min(step, eng.desired[arch] - want)
                idle = sorted((i for i in eng.live(arch) if i.lifecycle == "InService" and _idle_for(eng, i) > 0),
                              key=lambda i: i.id)
                for inst in idle[:remove]:
                    eng.terminate(inst, decrement=True)
                if idle[:remove]:
                    alarm.last_scale_in = eng.now
        eng.at(eng.now + METRIC_PERIOD_S, self._tick, eng)


@dataclass(frozen=True)
class Bound:
    """The lower bound's figures, in the units of `metrics.Result`."""

    p95_wait_s: float
    makespan_s: float
    builder_hours: float
    peak_builders: dict


def _tree(spec: TaskSpec, start: float, out: list) -> float:
    """Zero-wait timeline of one task tree: builder-channel runs into `out`; returns its end."""
    t = start + spec.duration_s
    if spec.channel in BUILDER_CHANNELS:
        out.append((start, t, spec.weight, spec.arch if spec.arch in ARCHES else ARCHES[0]))
    waves = [w for w in (spec.children, spec.then) if w]
    for n, wave in enumerate(waves):
        if n:
            t += MID_WAVE_S
        t = max(_tree(child, t, out) for child in wave)
    return t + (spec.post_s if waves else 0.0)


def lower_bound(workload: Workload, capacity: float, boot_total_s: float) -> Bound:
    """Pure work packed on builders with no wait, plus one boot per builder of the peak."""
    runs: list = []
    makespan = max((_tree(spec, spec.arrival_s, runs) for spec in workload.tasks), default=0.0)
    hours, peak = 0.0, {}
    for arch in ARCHES:
        edges = sorted([(s, w) for s, _e, w, a in runs if a == arch] + [(e, -w) for _s, e, w, a in runs if a == arch])
        level = top = 0.0
        for _t, dw in edges:
            level += dw
            top = max(top, level)
        work = sum((e - s) * w for s, e, w, a in runs if a == arch)
        peak[arch] = min(workload.max_per_arch, math.ceil(round(top / capacity, 9)))
        hours += (work / capacity + peak[arch] * boot_total_s) / 3600.0
    return Bound(0.0, makespan, hours, peak)
