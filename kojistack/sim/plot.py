"""`--plot`: queue depth, running tasks and builders over time, per arch (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

from .engine import ARCHES, Record


def write_plot(rec: Record, path: Path, title: str) -> None:
    """Draw one panel per arch from the run's samples and save it to `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [s.t / 3600.0 for s in rec.samples]
    fig, axes = plt.subplots(len(ARCHES), 1, figsize=(10, 3.2 * len(ARCHES)), sharex=True)
    for ax, arch in zip(axes, ARCHES, strict=True):
        ax.plot(hours, [s.queued[arch] for s in rec.samples], label="queued tasks (FREE+ASSIGNED)")
        ax.plot(hours, [s.running[arch] for s in rec.samples], label="running tasks")
        ax.step(hours, [s.builders[arch] for s in rec.samples], where="post", label="builders in service")
        ax.step(hours, [s.builders[arch] + s.booting[arch] for s in rec.samples], where="post",
                linestyle=":", label="builders incl. booting")
        ax.set_ylabel(arch)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize="small")
    axes[0].set_title(title)
    axes[-1].set_xlabel("hours")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
