#!/usr/bin/env bash
# One poll of one cluster, for cron: fetch every window since SINCE that the store does not
# hold as done and settled (new windows, unsettled ones, failed ones), commit the new jobs,
# then rewrite the leaderboards. Silent on success but for one summary line.
#   */15 * * * *  make -C /opt/sb poll SB_ROOT=/depot/sb CLUSTER=hammer
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
: "${SB_ROOT:?set SB_ROOT to the store}"
cluster=${CLUSTER:-${SB_CLUSTER:-}}
: "${cluster:?set CLUSTER (or SB_CLUSTER) to the cluster to poll}"
since=${SINCE:-3 days ago}
until=${UNTIL:-now}
ledger="$SB_ROOT/clusters/$cluster/state/failed.ndjson"
status=0
summary=$(
  sb-chunk todo -c "$cluster" -s "$since" -e "$until" --step "${STEP:-1}" |
    sb-sacct --failed "$ledger" ${SACCT_ARGS:-} |
    sb-parse |
    sb-dedupe |
    sb-reduce |
    awk -v c="$cluster" '/"kind":"commit"/ { n++; if (match($0, /"new_jobs":[0-9]+/)) j += substr($0, RSTART + 11, RLENGTH - 11) }
      END { printf "%s: %d commit(s), %d new job(s)\n", c, n, j }'
) || status=$?
echo "$summary"
sb-rank --write >/dev/null || status=$?
# 75 from sb-sacct: some windows failed for now; they stay in the ledger and the next poll retries them.
exit "$status"
