#!/usr/bin/env bash
# The demo: what the toolkit does today, with no SLURM needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" TZ="${TZ:-UTC}"
echo "# sb-chunk: yesterday in 6-hour windows, and 2024 by month (limit 3)" >&2
sb-chunk new -c demo -s 'yesterday 00:00' -e 'yesterday 23:59:59' --step 6
sb-chunk new -c demo -s 2024-01-01 -e '2024-12-31 23:59:59' --by month --limit 3
