# sb — the SLURM scoreboard toolkit. `make help` lists the targets.
SHELL := /bin/bash
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR := $(DESTDIR)$(PREFIX)/lib/slurm-scoreboard
SHAREDIR := $(DESTDIR)$(PREFIX)/share/slurm-scoreboard
SHARE := $(wildcard share/slurm-scoreboard/*.mk) $(wildcard share/slurm-scoreboard/systemd/*)
BINS := $(notdir $(wildcard bin/sb-*))
MAN1 := $(wildcard man/man1/*.1)
MAN7 := $(wildcard man/man7/*.7)
TS := $(shell find lib sim/src -name '*.ts')

.PHONY: all build test test-fast coverage check demo poll install uninstall clean help test-slurm bench

all: build

help:
	@echo "make demo      install dependencies, build, run the demo"
	@echo "make test      install dependencies, build, run the test suite"
	@echo "make test-fast the inner loop (~65-85 s here): all but the long whole-pipeline, clock, browser and tmux tests"
	@echo "make coverage  the test suite with coverage of every spawned program; fails under the floor"
	@echo "make test-slurm  the suite against a real SLURM cluster (root, Debian 12; ~3 min)"
	@echo "make poll      SB_ROOT=DIR CLUSTER=NAME: one poll of one cluster (bin/sb-poll; from cron run that itself)"
	@echo "make check     type check, man pages, package.json bin/man"
	@echo "make install   PREFIX=$(PREFIX): programs, man pages, the Makefile fragment and timer units"
	@echo "make bench     the benchmark table (bench/results.md; BENCH_QUICK=1: under a minute)"
	@echo "make clean     remove build output"

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dist/.stamp: node_modules/.package-lock.json tsconfig.json sim/tsconfig.json $(TS)
	npx tsc -p tsconfig.json
	npx tsc -p sim/tsconfig.json
	@touch $@

build: dist/.stamp

# The TAP report goes to .tap/report.tap; the terminal gets the failures and the totals.
test: build browser-deps
	@mkdir -p .tap
	@echo "npx tap (the whole report: .tap/report.tap)"
	@npx tap --reporter=tap --reporter-file=.tap/report.tap; status=$$?; \
	  node scripts/tap-summary.mjs .tap/report.tap; exit $$status

# the inner loop (meant to take under 90 s on two cores): all but the long runs of whole
# pipelines, the tests that wait on real clocks between processes, and the browser and tmux
# drives; make test runs everything. Its time is its CPU: ~800 programs spawned, each paying
# node's start-up (~0.07 CPU-s) or more, on two cores that it keeps busy. Left out, whole files:
# the crash torture, the stand-in sacct's own tests, sb-poll's runs of the whole pipeline
# (test/poll.test.ts, and the simulated hours of polling), the exactness of whole pipelines
# against the stand-in's truth (test/exact.test.ts), three clusters in lockstep, the exports
# read back by DuckDB, make install into a prefix, sb-render's browser and tmux drives. Left out
# with SB_TEST_FAST=1 (`{ skip: LONG }`, test/helpers/run.ts): sb-chunk todo --refetch with
# --fill-accounts over three days and the days it cannot prove, sb-poll's `| head -1` contract,
# sb-rank's account boards against the sim's truth over two days and its concurrent writers, a
# long job's steps through four windowings, a stream cut inside a window resumed, sb-sacct
# passing 5 MB of other records, its rate limit shared by three processes, --sleep and
# --concurrency against a slow stand-in, its `| head -1` that waits for its sacct (the contract
# test's runs) and its progress line on a terminal (script(1)), sb-render's account and
# counted_to boards (sb-rank's own tests of them run); the sb-parse fuzz runs 300 of its 2,400
# cases (10 through the bin, not 40), and its input-in-pieces tests read a third of the rows; the
# byte line reader is checked on 20 cuts of its stream, not 300. Three test files at a time: some
# wait on a slow stand-in sacct, and two cores stay busy meanwhile. tap runs files in name
# order, which would leave test/sacct.test.ts (the longest) to run alone at the end: it gets a
# tap of its own from the start (FAST_FIRST, .tap/report-first.tap), the rest two at a time.
FAST_SKIP := test/store-torture.test.ts test/sim.test.ts test/poll.test.ts test/poll-polite.test.ts test/exact.test.ts \
  test/rendezvous.test.ts test/rendezvous-tcp.test.ts test/rendezvous-security.test.ts test/render-html.test.ts \
  test/render-tui.test.ts test/export.test.ts test/install.test.ts
FAST_FIRST := test/sacct.test.ts
# tap rebuilds its test class when the plugins in package.json change; two taps starting at once
# would both rebuild it, each under the other: build it first, once a change
.tap/plugins.stamp: package.json node_modules/.package-lock.json
	@mkdir -p .tap
	@npx tap build > /dev/null
	@touch $@
test-fast: build .tap/plugins.stamp
	@mkdir -p .tap
	@SB_TEST_FAST=1 npx tap --jobs=1 --reporter=tap --reporter-file=.tap/report-first.tap $(FAST_FIRST) & first=$$!; \
	  SB_TEST_FAST=1 npx tap --jobs=2 --reporter=tap --reporter-file=.tap/report.tap $(filter-out $(FAST_SKIP) $(FAST_FIRST),$(wildcard test/*.test.ts)); status=$$?; \
	  wait $$first || status=1; \
	  node scripts/tap-summary.mjs .tap/report-first.tap; node scripts/tap-summary.mjs .tap/report.tap; exit $$status

# Coverage measured for real: c8 sets NODE_V8_COVERAGE, which every spawned bin inherits
# (test/helpers/run.ts keeps it), and maps dist/ back to lib/ through the source maps.
# Not part of make test: the ~3,000 processes write ~1.5 GB of raw coverage.
COVERAGE_FLOOR ?= --lines 85 --branches 70 --functions 80
coverage: build
	rm -rf .coverage
	npx c8 --all --src dist --include 'dist/**/*.js' --reports-dir .coverage -r text-summary -r html \
	  --check-coverage $(COVERAGE_FLOOR) npx tap
	@echo "per-file report: .coverage/index.html"

# sb-render's tests drive tmux and Debian's chromium, the polling tests faketime: installed
# when missing (as root)
browser-deps:
	@bash scripts/ensure-browser.sh
	@bash scripts/ensure-faketime.sh

# a real single-node SLURM cluster, the workload, the whole pipeline against it (test/slurm/suite.sh);
# exits 77 with a message when it cannot run here (not root, not Debian)
test-slurm: build
	@bash test/slurm/suite.sh

check: build
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p sim/tsconfig.json --noEmit
	@for m in $(MAN1) $(MAN7); do \
	  out=$$(LC_ALL=C.UTF-8 groff -man -ww -z $$m 2>&1); \
	  if [ -n "$$out" ]; then echo "$$m:"; echo "$$out"; exit 1; fi; \
	done; echo "man pages: groff -man -ww -z clean"
	node scripts/check-package.mjs
	node scripts/check-layout.mjs

demo: build
	@bash scripts/demo.sh

# one poll by hand: make poll SB_ROOT=DIR CLUSTER=NAME [SINCE='3 days ago'] [UNTIL=now] [STEP=HOURS]
# [SACCT_ARGS='--rate 10 ...', any sb-poll options]. make exits 2 on any failure, so cron runs
# sb-poll itself, which exits 75 (retry later), 3 (another poll runs) or 1 (broken).
poll: build
	@bin/sb-poll $(if $(CLUSTER),-c '$(CLUSTER)') $(if $(SB_ROOT),--root '$(SB_ROOT)') $(if $(SINCE),-s '$(SINCE)') \
	  $(if $(UNTIL),-e '$(UNTIL)') $(if $(STEP),--step '$(STEP)') $(SACCT_ARGS)

bench: build
	@bash bench/table.sh

# Everything a scheduled poll needs, nothing of the source tree: the compiled programs with
# their runtime packages (npm ci --omit=dev, from npm's cache when it has them), the bins,
# the man pages, the Makefile fragment (make -f PREFIX/share/slurm-scoreboard/sb.mk) and
# systemd units to copy. An older installation's files are replaced, not mixed in.
install: build
	rm -rf $(LIBDIR)/bin $(LIBDIR)/dist
	mkdir -p $(LIBDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 $(SHAREDIR)/systemd
	cp -R bin dist package.json package-lock.json $(LIBDIR)/
	rm -f $(LIBDIR)/dist/.stamp
	cd $(LIBDIR) && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error
	for b in $(BINS); do ln -sf ../lib/slurm-scoreboard/bin/$$b $(DESTDIR)$(PREFIX)/bin/$$b; done
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 $(filter %.mk,$(SHARE)) $(SHAREDIR)/
	for u in $(filter share/slurm-scoreboard/systemd/%,$(SHARE)); do \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g' $$u > $(SHAREDIR)/systemd/$$(basename $$u) && chmod 644 $(SHAREDIR)/systemd/$$(basename $$u); done

uninstall:
	for b in $(BINS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$b; done
	for m in $(notdir $(MAN1)); do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$$m; done
	for m in $(notdir $(MAN7)); do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/$$m; done
	rm -rf $(LIBDIR) $(SHAREDIR)

clean:
	rm -rf dist sim/dist .tap .coverage
