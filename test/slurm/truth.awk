# truth.awk — per-user totals of finished jobs from raw sacct text, written independently of
# sb's TypeScript: the suite's second truth (test/slurm/suite.sh) and the fixtures' truth
# (test/fixtures/real/capture.sh). Plain POSIX awk plus `sort`; no sb code.
#
# Input: the output of
#   TZ=UTC sacct -a -n -p --delimiter=$'\x1f' --duplicates --noconvert -s STATES -S .. -E .. \
#     -o DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,\
#        Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
# (steps included: they carry their job's DBIndex and MaxRSS). Run with -F '\037'.
#
# Optional: -v start=YYYY-MM-DDTHH:MM:SS -v end=... (naive UTC, as sacct prints with TZ=UTC)
# keeps only job records whose End lies in [start, end] (sacct's -S/-E are not exact).
#
# Rules (sb(7), METRICS and SEMANTICS): a job is one allocation record (DBIndex), REQUEUED runs included; GPUs are
# gres/gpu=N where present, else the sum of typed gres/gpu:T=N; peak RSS is the largest MaxRSS
# of the record's steps; failed = FAILED, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, TIMEOUT; sizes
# K/M/G/T are powers of 1024. Output (tab-separated, sorted by user, one header line):
#   user jobs failed_jobs gpu_jobs cpu_seconds elapsed_seconds gpu_seconds gpu_elapsed_seconds
#   req_mem_byte_seconds max_rss_byte_seconds
# in the order of sb's totals (jobs failed_jobs gpu_jobs cpu_s elapsed_s gpu_s gpu_elapsed_s
# mem_req_byte_s mem_used_byte_s). Byte·seconds are exact while below 2^53 (awk's doubles).
BEGIN { OFS = "\t" }
function bytes(v,   n, u) {   # 256M, 1024M, 401408 (noconvert MaxRSS: bytes) -> bytes
	if (v == "") return 0
	n = v + 0; u = substr(v, length(v), 1)
	if (u ~ /[0-9]/) return n
	if (u == "K") return n * 1024
	if (u == "M") return n * 1024 ^ 2
	if (u == "G") return n * 1024 ^ 3
	if (u == "T") return n * 1024 ^ 4
	if (u == "P") return n * 1024 ^ 5
	return n
}
function gpus(tres,   a, i, n, kv, plain, typed) {
	n = split(tres, a, ","); plain = -1; typed = 0
	for (i = 1; i <= n; i++) {
		split(a[i], kv, "=")
		if (kv[1] == "gres/gpu") plain = kv[2] + 0
		else if (kv[1] ~ /^gres\/gpu:/) typed += kv[2] + 0
	}
	return plain >= 0 ? plain : typed
}
# fields: 1 DBIndex 2 JobID 3 JobIDRaw 4 Cluster 5 User 6 UID 7 Account 8 Partition 9 QOS
# 10 State 11 ExitCode 12 Submit 13 Start 14 End 15 ElapsedRaw 16 Timelimit 17 AllocCPUS
# 18 NNodes 19 ReqMem 20 MaxRSS 21 AllocTRES
NF < 21 { next }
{
	if ($2 ~ /\./) {                           # a step: its peak RSS goes to its job record
		r = bytes($20); if (r > rss[$1]) rss[$1] = r
		next
	}
	if (start != "" && $14 < start) next
	if (end != "" && $14 > end) next
	user[$1] = $5; el[$1] = $15 + 0; cpu[$1] = $17 + 0; g[$1] = gpus($21)
	req[$1] = bytes($19); st = $10; sub(/ .*/, "", st)
	fail[$1] = (st ~ /^(FAILED|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|TIMEOUT)$/)
}
END {
	for (k in user) {
		u = user[k]; users[u] = 1
		jobs[u]++; cs[u] += cpu[k] * el[k]; es[u] += el[k]; fj[u] += fail[k]
		if (g[k] > 0) { gj[u]++; gs[u] += g[k] * el[k]; ges[u] += el[k] }
		rq[u] += req[k] * el[k]; ru[u] += rss[k] * el[k]
	}
	print "user", "jobs", "failed_jobs", "gpu_jobs", "cpu_seconds", "elapsed_seconds", \
		"gpu_seconds", "gpu_elapsed_seconds", "req_mem_byte_seconds", "max_rss_byte_seconds"
	fflush()
	for (u in users)
		printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\n", u, jobs[u], fj[u], gj[u], \
			cs[u], es[u], gs[u], ges[u], rq[u], ru[u] | "sort"
	close("sort")
}
