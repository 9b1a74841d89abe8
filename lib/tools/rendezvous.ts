import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-rendezvous gate --name M [--ahead W] [--timeout SEC] [--failed FILE]
                          WHERE [FILE]
       sb-rendezvous ack --name M WHERE [FILE]
       sb-rendezvous status WHERE
       sb-rendezvous leave|join --name M WHERE
       sb-rendezvous serve (--members A,B,C | --nprocs N) [--bind ADDR]
                           [--port P] [--state FILE] KEY
WHERE is the shared store (default): [--root DIR] [--group G] --members A,B,C
   or a server, over TCP: --rendezvous-host HOST [--rendezvous-port P] KEY
KEY is --authkey-file FILE, or $SB_RENDEZVOUS_KEY

Keep several clusters' backfills in lockstep: no member lets window k+1 into its
pipeline before every active member has committed window k. Members are named
by cluster, and meet on UTC times, so time zones and relative -s do not matter.

  sb-chunk todo ... | sb-rendezvous gate --name hammer --members hammer,anvil |
    sb-sacct | sb-parse | sb-reduce | sb-rendezvous ack --name hammer

Commands:
  gate    pass each 'chunk' record on once every active member is done through
          the second before it starts (with --ahead W, before the start of the
          W-th window before it). Announces each window downstream first, as a
          'rendezvous' record, for the ack. A window held longer than --timeout,
          or behind a member whose window failed, fails: it and every window
          after it go to --failed and stderr, and the exit status is 75
  ack     after sb-reduce: tell the others what this member committed (from the
          'commit' records, which pass through) and what it works on (from the
          gate's 'rendezvous' records, which end here)
  status  one 'rendezvous-member' record a member, and a line on stderr saying
          how far it is and whom it waits for
  leave   the others stop waiting for this member (down for maintenance)
  join    the others wait for it again
  serve   the meeting place for clusters that share no filesystem (TCP)

Options:
      --name M              this member: its cluster's name (default:
                            $SB_CLUSTER, else ClusterName from 'scontrol show
                            config')
      --members A,B,C       the group's members (the store; serve)
      --nprocs N            serve: admit the first N members to connect (as
                            GCM's sacct_backfill_server)
  -r, --root DIR            the shared store (default: $SB_ROOT)
      --group G             several groups can share a store (default: default)
      --ahead W             windows of slack; 0 is lockstep (default: 0)
      --timeout SEC         fail a window held this long, and give up reaching
                            the others after this long (default: 900)
      --failed FILE         append windows the gate fails to FILE (NDJSON, read
                            by 'sb-chunk from-file')
      --log FILE            append what gate and ack do, with times, to FILE
      --poll SEC            the store: longest pause between looks (default: 2)
      --rendezvous-host H   the server's host name or address
      --rendezvous-port P   its port (default: 50000)
      --authkey-file FILE   the group's key (serve makes FILE if it is missing)
      --authkey KEY         accepted as GCM's sacct_backfill took it; every user
                            of the host sees it in ps
  -p, --port P              serve: the port to listen on, 0 for any (default:
                            50000)
      --bind ADDR           serve: the address to listen on (default: all)
      --state FILE          serve: where progress is kept across restarts
                            (default: $XDG_STATE_HOME/sb/rendezvous-PORT.json)
      --handshake-timeout SEC  serve: close a connection that has not
                            authenticated within SEC (default: 10)
  -v, --verbose             say on stderr when a window waits and passes
      --strict              exit 65 at the end if any input line was bad
      --errors FMT          diagnostics as 'text' (default) or 'json' lines
  -h, --help                print this help and exit
  -V, --version             print the version and exit

Exit status: 0 ok, 1 failure, 2 usage error, 3 this member's ack runs already,
65 bad input under --strict, 75 a window failed at the barrier, or the others
could not be reached (retry later: sb-chunk todo fetches what is not done).
`;

export const tool: Tool = {
  name: 'sb-rendezvous',
  usage: USAGE,
  options: {
    string: ['name', 'nprocs', 'root', 'group', 'ahead', 'timeout', 'failed', 'log', 'poll', 'rendezvous-host', 'rendezvous-port', 'authkey-file', 'authkey', 'port', 'bind', 'state', 'handshake-timeout'],
    list: ['members'],
    boolean: ['verbose'],
    alias: { r: 'root', p: 'port', v: 'verbose' },
  },
  reads: true,
  main: async (ctx: Context) => (await import('./rendezvous/main.js')).main(ctx),
};
