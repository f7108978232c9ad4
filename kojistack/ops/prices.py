"""Prices (USD, us-east-1, on-demand) for the cost of what `delete` retains and the idle-cost table in
docs/cost.md, which `python -m kojistack.ops.prices` prints (a test keeps the two equal).

Sources: the AWS pricing pages listed in docs/cost.md. PRICE_DATE is when these figures were last checked;
prices change, so treat each figure as an estimate and use the AWS Pricing Calculator for other regions.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_DATE = "2026-11-26"
HOURS_PER_MONTH = 730

KMS_KEY_MONTH = 1.00              # per customer managed key
SECRET_MONTH = 0.40               # per Secrets Manager secret
RDS_SNAPSHOT_GB_MONTH = 0.095     # RDS backup storage beyond the free allowance (all of it once the DB is gone)
EFS_STANDARD_GB_MONTH = 0.30      # EFS Standard storage
EFS_IA_GB_MONTH = 0.016           # EFS Infrequent Access storage
EFS_ELASTIC_READ_GB = 0.03        # elastic throughput, per GB read
EFS_ELASTIC_WRITE_GB = 0.06       # elastic throughput, per GB written
BACKUP_EFS_GB_MONTH = 0.05        # AWS Backup warm storage for EFS
NAT_HOUR = 0.045
NAT_GB = 0.045                    # per GB processed, both directions
NLB_HOUR = 0.0225
NLCU_HOUR = 0.006
PUBLIC_IPV4_HOUR = 0.005
CROSS_AZ_GB = 0.01                # each direction
EBS_GP3_GB_MONTH = 0.08
RDS_GP3_GB_MONTH = 0.115
CW_METRIC_MONTH = 0.30            # per custom metric (first 10,000 tier)
CW_DASHBOARD_MONTH = 3.00         # beyond the 3 free dashboards per account
CW_API_PER_1000 = 0.01            # PutMetricData requests
CW_LOGS_INGEST_GB = 0.50
EC2_HOUR = {"m7i.large": 0.1008, "c6i.2xlarge": 0.34, "c7g.2xlarge": 0.289}
RDS_HOUR = {"db.t4g.small": 0.032}


@dataclass(frozen=True)
class Line:
    """One row of the idle-cost table."""

    item: str
    basis: str
    monthly: float


def usd(value: float) -> str:
    """$0.30, $0.0225, $1.00: at least two decimals, no trailing zeros beyond them."""
    text = f"{value:.4f}".rstrip("0")
    return "$" + (text + "0" * (2 - len(text.split(".")[1])))


def idle_lines() -> list[Line]:
    """What the default stack (template defaults, 2 AZs, one NAT, builders at min 0) costs per month idle."""
    h = HOURS_PER_MONTH
    metrics = 7 * 2 + 2  # the controller's per-arch metrics for 2 arches, plus 2 stack-wide ones
    puts = h * 3600 / 20  # one PutMetricData call per 20 s controller cycle
    efs_gib = 5.0
    return [
        Line("Hub instance (m7i.large)", f"{h} h x ${EC2_HOUR['m7i.large']}/h", h * EC2_HOUR["m7i.large"]),
        Line("Hub root volume (gp3, 50 GiB)", f"50 GiB x ${EBS_GP3_GB_MONTH}/GiB-month", 50 * EBS_GP3_GB_MONTH),
        Line("RDS PostgreSQL (db.t4g.small, single-AZ)", f"{h} h x {usd(RDS_HOUR['db.t4g.small'])}/h",
             h * RDS_HOUR["db.t4g.small"]),
        Line("RDS storage (gp3, 20 GiB; backups within the free allowance)",
             f"20 GiB x ${RDS_GP3_GB_MONTH}/GiB-month", 20 * RDS_GP3_GB_MONTH),
        Line("NAT gateway (one)", f"{h} h x {usd(NAT_HOUR)}/h", h * NAT_HOUR),
        Line("Network load balancers (public + internal)", f"2 x {h} h x {usd(NLB_HOUR)}/h", 2 * h * NLB_HOUR),
        Line("Public IPv4 addresses (NAT + public NLB in 2 AZs)", f"3 x {h} h x ${PUBLIC_IPV4_HOUR}/h",
             3 * h * PUBLIC_IPV4_HOUR),
        Line("EFS /mnt/koji (about 5 GiB idle: seeded repos) + AWS Backup",
             f"5 GiB x ({usd(EFS_STANDARD_GB_MONTH)} + {usd(BACKUP_EFS_GB_MONTH)})",
             efs_gib * (EFS_STANDARD_GB_MONTH + BACKUP_EFS_GB_MONTH)),
        Line("EFS elastic throughput (kojira repo regeneration, ~0.5 GB/day)",
             f"15 GB x {usd(EFS_ELASTIC_WRITE_GB)} + 15 GB x {usd(EFS_ELASTIC_READ_GB)}",
             15 * EFS_ELASTIC_WRITE_GB + 15 * EFS_ELASTIC_READ_GB),
        Line("KMS stack key", f"1 x {usd(KMS_KEY_MONTH)}", KMS_KEY_MONTH),
        Line("Secrets Manager (6 stack secrets; +$0.40 per `user add`)", f"6 x {usd(SECRET_MONTH)}", 6 * SECRET_MONTH),
        Line("CloudWatch custom metrics (controller)", f"{metrics} x {usd(CW_METRIC_MONTH)}",
             metrics * CW_METRIC_MONTH),
        Line("CloudWatch PutMetricData calls", f"{int(puts):,} x ${CW_API_PER_1000}/1000",
             puts / 1000 * CW_API_PER_1000),
        Line("CloudWatch dashboard", f"1 x {usd(CW_DASHBOARD_MONTH)} (free if the account has < 3)",
             CW_DASHBOARD_MONTH),
        Line("CloudWatch Logs (hub, ~0.5 GB/month)", f"0.5 GB x {usd(CW_LOGS_INGEST_GB)}", 0.5 * CW_LOGS_INGEST_GB),
        Line("Builders (min size 0), S3 gateway endpoint, SSM parameters, AMI lookup Lambda", "-", 0.0),
    ]


def idle_table() -> str:
    """The idle-cost table in Markdown (docs/cost.md holds exactly this)."""
    lines = idle_lines()
    rows = ["| Item | Basis | USD/month |", "|---|---|---:|"]
    rows += [f"| {line.item} | {line.basis} | {line.monthly:,.2f} |" for line in lines]
    rows.append(f"| **Total, idle** | prices of {PRICE_DATE} | **{sum(line.monthly for line in lines):,.2f}** |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(idle_table(), end="")
