"""Monthly prices (USD, us-east-1, on-demand) used for the cost of what `delete` retains and docs/cost.md.

Read from the AWS pricing pages named in docs/cost.md; PRICE_DATE says when. Prices change: treat every
figure as an estimate and check the AWS Pricing Calculator for other regions.
"""

from __future__ import annotations

PRICE_DATE = "2026-11-26"
HOURS_PER_MONTH = 730

KMS_KEY_MONTH = 1.00              # per customer managed key
SECRET_MONTH = 0.40               # per Secrets Manager secret
RDS_SNAPSHOT_GB_MONTH = 0.095     # RDS backup storage beyond the free allowance (none once the DB is gone)
EFS_STANDARD_GB_MONTH = 0.30      # EFS Standard storage
EFS_IA_GB_MONTH = 0.016           # EFS Infrequent Access storage
BACKUP_EFS_GB_MONTH = 0.05        # AWS Backup warm storage for EFS
LOG_GB_MONTH = 0.03               # CloudWatch Logs archived storage
