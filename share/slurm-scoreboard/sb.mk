# sb.mk: the scoreboard's operations as make targets, one cluster at a time.
#
#   make -f PREFIX/share/slurm-scoreboard/sb.mk TARGET CLUSTER=hammer ROOT=/depot/sb [VAR=value...]
#
#   backfill  fetch FROM..UNTIL (windows of BY) that the store does not hold as done, JOBS
#             pipelines at once (xargs -P), BATCH windows each; run it again after a kill or a
#             failure: it goes on where it stopped
#   poll      one poll (sb-poll): SINCE..UNTIL, then the leaderboards (and HTML, if set)
#   retry     the windows in the store's failure ledger
#   rank      the leaderboards (sb-rank --write --by user,account)
#   render    the web page HTML (default ROOT/scores.html; sb-render --html), replaced atomically
#   status    how the cluster's store is doing (sb-probe --status)
#   probe     can sb work here (sb-probe)
#
# Exit status: make exits 2 whenever a recipe fails, whatever the program said (75: slurmdbd
# unreachable, retry later; 3: another run holds the lock; 1: broken). Where that difference
# matters, as in cron, run the program itself: `sb-poll -c hammer --root /depot/sb`.
#
# All sb-sacct of one user on one host share one rate limit (RATE calls a minute), so JOBS > 1
# is faster only while sacct calls take longer than 60/RATE seconds each; a backfill of N windows
# takes at least N/RATE minutes. Fewer windows (BY=month) go faster.

SB_BIN ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../../bin)
CLUSTER ?= $(SB_CLUSTER)
ROOT ?= $(SB_ROOT)
FROM ?= 1 year ago 00:00
UNTIL ?= now
BY ?= day
JOBS ?= 1
BATCH ?= 8
RATE ?= 30
SINCE ?= 3 days ago
# the web page: written by poll when set; render writes it (default ROOT/scores.html)
HTML ?=
# the sacct program (default: $SB_SACCT, else sacct in PATH)
SACCT ?=

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.PHONY: backfill poll retry rank render status probe help
.DEFAULT_GOAL := help

need = $(if $(strip $(CLUSTER)),,$(error sb.mk: set CLUSTER=NAME, the cluster as slurmdbd knows it))$(if $(strip $(ROOT)),,$(error sb.mk: set ROOT=DIR, the store (or SB_ROOT)))
sacct_opt = $(if $(strip $(SACCT)),--sacct '$(SACCT)')

help:
	@sed -n '3,17s/^# \{0,1\}//p' $(lastword $(MAKEFILE_LIST))

# The windows to do go to a file first (their count is the progress line's total); then
# xargs runs a pipeline for each BATCH of them. Each pipeline's commits become a short line
# "windows new-jobs jobs" for the progress line, drawn only on a terminal.
backfill:
	@:$(need)
	@set -e; todo=$$(mktemp "$${TMPDIR:-/tmp}/sb-backfill.XXXXXX"); trap 'rm -f "$$todo"' EXIT; \
	$(SB_BIN)/sb-chunk todo -c '$(CLUSTER)' --root '$(ROOT)' -s '$(FROM)' -e '$(UNTIL)' --by '$(BY)' > "$$todo"; \
	total=$$(wc -l < "$$todo"); tty=0; [ -t 2 ] && [ -z "$${NO_COLOR:-}" ] && tty=1; \
	xargs -d '\n' -r -n '$(BATCH)' -P '$(JOBS)' < "$$todo" bash -o pipefail -c \
	  'root=$$1 rate=$$2; shift 2; printf "%s\n" "$$@" | \
	   SB_NO_PROGRESS=1 "$$0/sb-sacct" --root "$$root" --rate "$$rate" $(sacct_opt) | "$$0/sb-parse" | "$$0/sb-dedupe" --root "$$root" | "$$0/sb-reduce" --root "$$root" | \
	   sed -n "s/.*\"processed\":\([0-9]*\),\"new_jobs\":\([0-9]*\),.*\"chunks_done\":\([0-9]*\).*/\3 \2 \1/p"' \
	  '$(SB_BIN)' '$(ROOT)' '$(RATE)' | \
	awk -v total="$$total" -v tty="$$tty" -v cluster='$(CLUSTER)' "$$SB_PROGRESS_AWK"

# awk (mawk or gawk): the progress line and the summary, from "windows new-jobs jobs" lines;
# in the environment, since a recipe would cut a multi-line value into lines of its own
export define SB_PROGRESS_AWK
function now(  t, cmd) { cmd = "date +%s"; cmd | getline t; close(cmd); return t }
function dur(s) { return s < 120 ? s " s" : s < 7200 ? sprintf("%.1f min", s / 60) : sprintf("%.1f h", s / 3600) }
BEGIN { t0 = now() }
{ w += $$1; n += $$2; j += $$3
  if (tty && w > 0) { el = now() - t0; eta = w < total ? sprintf(", ETA %s", dur(int(el / w * (total - w)))) : ""
    printf "\rbackfill %s: %d/%d windows, %d jobs (%d new)%s\033[K", cluster, w, total, j, n, eta > "/dev/stderr" } }
END { if (tty) printf "\r\033[Kbackfill %s: %d of %d windows, %d jobs (%d new), in %s\n", cluster, w, total, j, n, dur(now() - t0) > "/dev/stderr" }
endef

poll:
	@:$(need)
	@$(SB_BIN)/sb-poll -c '$(CLUSTER)' --root '$(ROOT)' -s '$(SINCE)' -e '$(UNTIL)' --rate '$(RATE)' $(sacct_opt) $(if $(strip $(HTML)),--html '$(HTML)')

retry:
	@:$(need)
	@ledger='$(ROOT)/clusters/$(CLUSTER)/state/failed.ndjson'; \
	if [ ! -s "$$ledger" ]; then echo "retry $(CLUSTER): no failed windows"; exit 0; fi; \
	$(SB_BIN)/sb-chunk from-file --root '$(ROOT)' "$$ledger" | $(SB_BIN)/sb-sacct --root '$(ROOT)' --rate '$(RATE)' $(sacct_opt) | \
	  $(SB_BIN)/sb-parse | $(SB_BIN)/sb-dedupe --root '$(ROOT)' | $(SB_BIN)/sb-reduce --root '$(ROOT)' > /dev/null

rank:
	@:$(need)
	@$(SB_BIN)/sb-rank --root '$(ROOT)' --write --by user,account > /dev/null

render:
	@:$(need)
	@page='$(or $(strip $(HTML)),$(ROOT)/scores.html)'; tmp=$$(mktemp "$$page.XXXXXX"); trap 'rm -f "$$tmp"' EXIT; \
	$(SB_BIN)/sb-render --root '$(ROOT)' --html > "$$tmp" && chmod 644 "$$tmp" && mv -f "$$tmp" "$$page"

status:
	@:$(need)
	@$(SB_BIN)/sb-probe --status --root '$(ROOT)' -c '$(CLUSTER)'

probe:
	@:$(need)
	@$(SB_BIN)/sb-probe --root '$(ROOT)' -c '$(CLUSTER)' $(sacct_opt)
