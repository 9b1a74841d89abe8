#!/usr/bin/env bash
# truth.sh — per-user totals of the finished jobs whose End lies in [START, END], computed from
# the test cluster's slurmdbd without any of sb's code: the truth test/slurm/suite.sh holds the
# store against.
#
#   truth.sh db    STATE_DIR START END    # SQL on the accounting database (MariaDB socket)
#   truth.sh sacct STATE_DIR START END    # sacct with steps, summed by truth.awk
#   truth.sh jobs  STATE_DIR START END    # per job record: its peak RSS and its steps (SQL)
#
# START, END: UTC, ISO-8601 with or without Z, both inclusive. Output: the TSV of truth.awk
# (header line, then one line per user sorted by name): user jobs failed_jobs gpu_jobs
# cpu_seconds elapsed_seconds gpu_seconds gpu_elapsed_seconds req_mem_byte_seconds
# max_rss_byte_seconds — the order of sb's totals (jobs failed_jobs gpu_jobs cpu_s elapsed_s
# gpu_s gpu_elapsed_s mem_req_byte_s mem_used_byte_s). The jobs mode prints, with no header and
# sorted by DBIndex, one line per job record: db_index job_id max_rss_bytes steps (the largest
# tres_usage_in_max memory of its rows in the step table, 0 without any, and how many rows).
#
# The database route reads slurmdbd's own tables (Slurm 22.05 schema) for cluster sbtest:
#   sbtest_job_table   one row per job record (job_db_inx = sacct's DBIndex; a requeued job
#                      has one row per run), state (low byte: 3 COMPLETED 4 CANCELLED 5 FAILED
#                      6 TIMEOUT 7 NODE_FAIL 8 PREEMPTED 9 BOOT_FAIL 10 DEADLINE 11
#                      OUT_OF_MEMORY; flag 0x400 REQUEUED), time_start/time_end/time_suspended,
#                      tres_alloc ("id=count,..."; 1 cpu), tres_req (2 mem, MiB), id_assoc
#   sbtest_assoc_table id_assoc -> user
#   sbtest_step_table  per step, tres_usage_in_max (2 = peak RSS, bytes)
#   tres_table         the ids of gres/gpu (untyped) and gres/gpu:TYPE
# elapsed = time_end - time_start - time_suspended for a record that started, else 0; GPUs =
# the untyped gres/gpu count where the record has one, else the sum of the typed ones; failed =
# FAILED, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, TIMEOUT; a record counts when its End is in the
# window and its state is terminal (3..11) or REQUEUED.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { echo "usage: truth.sh db|sacct|jobs STATE_DIR START END" >&2; exit 2; }
[[ $# -eq 4 ]] || usage
MODE=$1 STATE=$2 START=${3%Z} END=${4%Z}
CLUSTER=sbtest
FIELDS=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
STATES=CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ

# the records counted: End inside the window, a terminal state or REQUEUED
counted() {
	local s e
	s=$(date -u -d "${START}Z" +%s) e=$(date -u -d "${END}Z" +%s)
	echo "j.deleted = 0 AND j.time_end BETWEEN $s AND $e AND ((j.state & 255) BETWEEN 3 AND 11 OR (j.state & 1024) <> 0)"
}
# tres(STR, ID): the count of TRES ID in "id=count,..." STR, NULL when absent
tres() { echo "CAST(NULLIF(SUBSTRING_INDEX(REGEXP_SUBSTR(CONCAT(',', $1), CONCAT(',', $2, '=[0-9]+')), '=', -1), '') AS UNSIGNED)"; }
sql() { mariadb --no-defaults --socket="$STATE/run/mysqld.sock" -uroot -N -B slurm_acct_db -e "$1"; }

case $MODE in
jobs)
	sql "
SELECT j.job_db_inx, j.id_job,
       COALESCE((SELECT MAX($(tres s.tres_usage_in_max 2)) FROM ${CLUSTER}_step_table s
                  WHERE s.job_db_inx = j.job_db_inx AND s.deleted = 0), 0),
       (SELECT COUNT(*) FROM ${CLUSTER}_step_table s WHERE s.job_db_inx = j.job_db_inx AND s.deleted = 0)
FROM ${CLUSTER}_job_table j
WHERE $(counted)
ORDER BY j.job_db_inx;"
	;;
sacct)
	eval "$(bash "$HERE/cluster.sh" env "$STATE")"
	TZ=UTC sacct -a -n -p --delimiter=$'\x1f' --duplicates --noconvert -s "$STATES" \
		-S "$START" -E "$END" -M "$CLUSTER" -o "$FIELDS" |
		awk -F $'\x1f' -v start="$START" -v end="$END" -f "$HERE/truth.awk"
	;;
db)
	query="
SELECT user, COUNT(*), SUM(failed), SUM(gpus > 0),
       SUM(cpus * el), SUM(el), SUM(gpus * el), SUM(IF(gpus > 0, el, 0)),
       SUM(req_mib * 1048576 * el), SUM(rss * el)
FROM (
  SELECT a.user AS user,
         CAST(IF(j.time_start > 0 AND j.time_end > j.time_start,
                 j.time_end - j.time_start - j.time_suspended, 0) AS DECIMAL(65,0)) AS el,
         (j.state & 255) IN (5, 6, 7, 8, 11) AS failed,
         CAST(COALESCE($(tres j.tres_alloc 1), 0) AS DECIMAL(65,0)) AS cpus,
         CAST(COALESCE($(tres j.tres_req 2), 0) AS DECIMAL(65,0)) AS req_mib,
         CAST(COALESCE(
           (SELECT $(tres j.tres_alloc t.id) FROM tres_table t
             WHERE t.type = 'gres' AND t.name = 'gpu' AND t.deleted = 0 LIMIT 1),
           (SELECT SUM($(tres j.tres_alloc t.id)) FROM tres_table t
             WHERE t.type = 'gres' AND t.name LIKE 'gpu:%' AND t.deleted = 0),
           0) AS DECIMAL(65,0)) AS gpus,
         CAST(COALESCE(
           (SELECT MAX($(tres s.tres_usage_in_max 2)) FROM ${CLUSTER}_step_table s
             WHERE s.job_db_inx = j.job_db_inx AND s.deleted = 0),
           0) AS DECIMAL(65,0)) AS rss
  FROM ${CLUSTER}_job_table j JOIN ${CLUSTER}_assoc_table a ON a.id_assoc = j.id_assoc
  WHERE $(counted)
) r
GROUP BY user ORDER BY user;"
	printf 'user\tjobs\tfailed_jobs\tgpu_jobs\tcpu_seconds\telapsed_seconds\tgpu_seconds\tgpu_elapsed_seconds\treq_mem_byte_seconds\tmax_rss_byte_seconds\n'
	sql "$query" | sort
	;;
*) usage ;;
esac
