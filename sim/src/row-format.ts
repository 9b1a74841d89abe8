// sacct's output side: the field table (names, widths, prefix matching), unit conversion as
// Slurm's convert_num_unit does it, and a row formatter compiled once per field list so that
// printing a row is one string concatenation.
import { type Job, JOB_NAMES, PARTITION_LIMIT, type Step, UNLIMITED } from './generate.js';
import { STATE_NAMES } from './job-state.js';
import { duration, minutes, type TimeFormatter } from './time-format.js';

export interface Field {
  name: string;
  width: number;
}

// Slurm 22.05's sacct field table, in its order (prefix matching picks the first hit).
export const FIELDS: readonly Field[] = ([
  ['Account', 10], ['AdminComment', 15], ['AllocCPUS', 10], ['AllocNodes', 10], ['AllocTRES', 10],
  ['AssocID', 7], ['AveCPU', 10], ['AveCPUFreq', 10], ['AveDiskRead', 14], ['AveDiskWrite', 14],
  ['AvePages', 10], ['AveRSS', 10], ['AveVMSize', 10], ['BlockID', 16], ['Cluster', 10],
  ['Comment', 14], ['Constraints', 19], ['Container', 19], ['ConsumedEnergy', 14],
  ['ConsumedEnergyRaw', 17], ['CPUTime', 10], ['CPUTimeRAW', 10], ['DBIndex', -21],
  ['DerivedExitCode', 15], ['Elapsed', 10], ['ElapsedRaw', 10], ['Eligible', 19], ['End', 19],
  ['ExitCode', 8], ['Flags', 19], ['GID', 6], ['Group', 9], ['JobID', -12], ['JobIDRaw', -12],
  ['JobName', 10], ['Layout', 9], ['MaxDiskRead', 12], ['MaxDiskReadNode', 15],
  ['MaxDiskReadTask', 15], ['MaxDiskWrite', 12], ['MaxDiskWriteNode', 16], ['MaxDiskWriteTask', 16],
  ['MaxPages', 8], ['MaxPagesNode', 12], ['MaxPagesTask', 14], ['MaxRSS', 10], ['MaxRSSNode', 10],
  ['MaxRSSTask', 10], ['MaxVMSize', 10], ['MaxVMSizeNode', 14], ['MaxVMSizeTask', 14],
  ['McsLabel', 12], ['MinCPU', 10], ['MinCPUNode', 10], ['MinCPUTask', 10], ['NCPUS', 10],
  ['NNodes', 8], ['NodeList', 15], ['NTasks', 8], ['Priority', 10], ['Partition', 10], ['QOS', 10],
  ['QOSRAW', 6], ['Reason', 22], ['ReqCPUFreq', 10], ['ReqCPUFreqGov', 13], ['ReqCPUFreqMax', 13],
  ['ReqCPUFreqMin', 13], ['ReqCPUS', 8], ['ReqMem', 10], ['ReqNodes', 8], ['ReqTRES', 10],
  ['Reservation', 20], ['ReservationId', 8], ['Reserved', 10], ['ResvCPU', 10], ['ResvCPURAW', 10],
  ['Start', 19], ['State', 10], ['Submit', 19], ['SubmitLine', 20], ['Suspended', 10],
  ['SystemComment', 15], ['SystemCPU', 10], ['Timelimit', 10], ['TimelimitRaw', 10],
  ['TotalCPU', 10], ['TRESUsageInAve', 14], ['TRESUsageInMax', 14], ['TRESUsageInMaxNode', 18],
  ['TRESUsageInMaxTask', 18], ['TRESUsageInMin', 14], ['TRESUsageInMinNode', 18],
  ['TRESUsageInMinTask', 18], ['TRESUsageInTot', 14], ['TRESUsageOutAve', 15],
  ['TRESUsageOutMax', 15], ['TRESUsageOutMaxNode', 19], ['TRESUsageOutMaxTask', 19],
  ['TRESUsageOutMin', 15], ['TRESUsageOutMinNode', 19], ['TRESUsageOutMinTask', 19],
  ['TRESUsageOutTot', 15], ['UID', 6], ['User', 9], ['UserCPU', 10], ['WCKey', 10], ['WCKeyID', 10],
  ['WorkDir', 20],
] as const).map(([name, width]) => ({ name, width }));

export const DEFAULT_FIELDS = 'jobid,jobname,partition,account,alloccpus,state,exitcode';
export const BRIEF_FIELDS = 'jobid,state,exitcode';
export const LONG_FIELDS =
  'jobid,jobidraw,jobname,partition,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,maxrss,maxrssnode,maxrsstask,averss,maxpages,maxpagesnode,maxpagestask,avepages,mincpu,mincpunode,mincputask,avecpu,ntasks,alloccpus,elapsed,state,exitcode,avecpufreq,reqcpufreqmin,reqcpufreqmax,reqcpufreqgov,reqmem,consumedenergy,maxdiskread,maxdiskreadnode,maxdiskreadtask,avediskread,maxdiskwrite,maxdiskwritenode,maxdiskwritetask,avediskwrite,reqtres,alloctres,tresusageinave,tresusageinmax,tresusageinmaxn,tresusageinmaxt,tresusageinmin,tresusageinminn,tresusageinmint,tresusageintot,tresusageoutmax,tresusageoutmaxn,tresusageoutmaxt,tresusageoutave,tresusageouttot';

export class FieldError extends Error {}

// sacct's -o parsing: comma list, leading blanks dropped, "%N" widths, ALL, and a case-insensitive
// match of the given text against the start of each field name, first hit wins.
export function resolveFields(list: string): Field[] {
  const out: Field[] = [];
  for (const raw of list.split(',')) {
    let spec = raw.replace(/^\s+/, '');
    if (spec === '') continue;
    let width: number | null = null;
    const pct = spec.indexOf('%');
    if (pct >= 0) {
      width = parseInt(spec.slice(pct + 1), 10) || 0;
      spec = spec.slice(0, pct);
    }
    const lower = spec.toLowerCase();
    if ('all'.startsWith(lower) && lower !== '') {
      for (const f of FIELDS) out.push(width === null ? f : { name: f.name, width });
      continue;
    }
    const f = FIELDS.find((x) => x.name.toLowerCase().startsWith(lower) && lower !== '');
    if (!f) throw new FieldError(`sacct: error: Invalid field requested: "${spec}"`);
    out.push(width === null ? f : { name: f.name, width });
  }
  return out;
}

const UNIT = ['', 'K', 'M', 'G', 'T', 'P', '?'];
export const UNIT_NONE = 0;
export const UNIT_MEGA = 2;

// Slurm's convert_num_unit2 with divisor 1024: --noconvert keeps the unit, --units=X forces
// one, otherwise (CONVERT_NUM_UNIT_EXACT) convert while no precision is lost.
export class Units {
  private readonly cache = new Map<number, string>();
  constructor(readonly noconvert: boolean, readonly spec: number) {}

  conv(num: number, orig: number): string {
    if (Math.trunc(num) === 0) return '0';
    let t = orig;
    if (this.spec >= 0) {
      while (this.spec > t) {
        num /= 1024;
        t++;
      }
      while (this.spec < t) {
        num *= 1024;
        t--;
      }
    } else if (!this.noconvert) {
      while (num >= 1024 && Math.floor(num) % 512 === 0) {
        num /= 1024;
        t++;
      }
    }
    if (t < 0 || t > 5) t = 6;
    return Number.isInteger(num) ? num + UNIT[t]! : num.toFixed(2) + UNIT[t]!;
  }

  mb(mb: number): string {
    let s = this.cache.get(mb);
    if (s === undefined) {
      s = this.conv(mb, UNIT_MEGA);
      this.cache.set(mb, s);
    }
    return s;
  }
}

function pad4(n: number): string {
  return n < 10 ? '000' + n : n < 100 ? '00' + n : n < 1000 ? '0' + n : String(n);
}

function gres(j: Job, gpus: number): string {
  if (gpus === 0) return '';
  const t = j.part.gpuType;
  return j.gpuForm === 0 ? `gres/gpu:${t}=${gpus},gres/gpu=${gpus},` : j.gpuForm === 1 ? `gres/gpu=${gpus},` : `gres/gpu:${t}=${gpus},`;
}

// Per-row helpers the compiled formatter calls; job-level strings are computed once per job.
export class Helpers {
  constructor(
    readonly T: TimeFormatter,
    readonly U: Units,
  ) {}

  int(n: number): string {
    return int(n);
  }
  db(j: Job): string {
    if (j.sDb === '') j.sDb = String(j.dbIndex);
    return j.sDb;
  }
  raw(j: Job): string {
    if (j.sRaw === '') j.sRaw = String(j.rawId);
    return j.sRaw;
  }
  elapsedRaw(j: Job): string {
    if (j.sElapsed === '') j.sElapsed = int(j.elapsed);
    return j.sElapsed;
  }
  stepElapsedRaw(j: Job, s: Step): string {
    return s.start === j.start && s.end === j.end ? this.elapsedRaw(j) : int(s.end - s.start);
  }
  jobId(j: Job): string {
    if (j.sJobId === '') j.sJobId = j.arrayId > 0 ? j.arrayId + '_' + j.arrayTask : this.raw(j);
    return j.sJobId;
  }
  state(state: number, requid: number): string {
    const name = STATE_NAMES[state] ?? 'UNKNOWN';
    return requid >= 0 ? name + ' by ' + requid : name;
  }
  submit(j: Job): string {
    if (j.sSubmit === '') j.sSubmit = this.T(j.submit);
    return j.sSubmit;
  }
  start(j: Job): string {
    if (j.sStart === '') j.sStart = j.placeholder ? 'Unknown' : j.allocated ? this.T(j.start) : 'None';
    return j.sStart;
  }
  end(j: Job): string {
    if (j.sEnd === '') j.sEnd = j.placeholder ? 'Unknown' : this.T(j.end);
    return j.sEnd;
  }
  stepStart(j: Job, s: Step): string {
    return s.start === j.start ? this.start(j) : this.T(s.start);
  }
  stepEnd(j: Job, s: Step): string {
    return s.end === j.end ? this.end(j) : this.T(s.end);
  }
  elapsed(secs: number): string {
    return duration(secs);
  }
  timelimit(j: Job): string {
    return j.timelimit === UNLIMITED ? 'UNLIMITED' : j.timelimit === PARTITION_LIMIT ? 'Partition_Limit' : minutes(j.timelimit);
  }
  timelimitRaw(j: Job): string {
    return j.timelimit === UNLIMITED ? 'UNLIMITED' : j.timelimit === PARTITION_LIMIT ? 'Partition_Limit' : int(j.timelimit);
  }
  reqMem(j: Job): string {
    if (j.placeholder) return '16?';
    if (j.memForm === 1) return this.U.mb(j.memUnitMB) + 'c';
    if (j.memForm === 2) return this.U.mb(j.memUnitMB) + 'n';
    return this.U.mb(j.reqMemMB);
  }
  rss(kb: number): string {
    return kb < 0 ? '' : this.U.conv(kb * 1024, 0);
  }
  reqTres(j: Job): string {
    if (j.placeholder) return 'billing=1,cpu=1,mem=16M,node=1';
    return 'billing=' + int(j.cpus + 8 * j.gpus) + ',cpu=' + int(j.cpus) + ',' + gres(j, j.gpus) + 'mem=' + this.U.mb(j.reqMemMB) + ',node=' + int(j.nodes);
  }
  allocTres(j: Job): string {
    if (!j.allocated) return '';
    if (j.sTres === '') j.sTres = this.reqTres(j);
    return j.sTres;
  }
  stepTres(j: Job, s: Step): string {
    if (s.id === 'extern') return this.allocTres(j);
    return 'cpu=' + int(s.cpus) + ',' + gres(j, s.gpus) + 'mem=' + this.U.mb(s.memMB) + ',node=' + int(s.nodes);
  }
  nodeList(j: Job): string {
    if (!j.allocated) return 'None assigned';
    if (j.sNodes === '') {
      const p = j.part.prefix;
      j.sNodes = j.nodes === 1 ? p + pad4(j.firstNode) : `${p}[${pad4(j.firstNode)}-${pad4(j.firstNode + j.nodes - 1)}]`;
    }
    return j.sNodes;
  }
  stepNodes(j: Job, s: Step): string {
    return s.id === 'batch' ? j.part.prefix + pad4(j.firstNode) : this.nodeList(j);
  }
  jobName(j: Job): string {
    const n = JOB_NAMES[j.nameIdx]!;
    return n === 'sim_%d' ? 'sim_' + (j.rawId % 97) : n;
  }
  fit(v: string | number, width: number): string {
    const w = Math.abs(width);
    let s = String(v);
    if (s.length > w) s = s.slice(0, w - 1) + '+';
    return width < 0 ? s.padEnd(w) : s.padStart(w);
  }
}

// Decimal strings of small counts, made once.
const SMALL: string[] = [];
for (let i = 0; i < 4096; i++) SMALL.push(String(i));
export function int(n: number): string {
  return n >= 0 && n < 4096 ? SMALL[n]! : String(n);
}

// For each supported field, a JS expression for a job's own row (over j) and one for a step's
// row (over j and s). Fields not listed print empty, as sacct does for data it has not got.
export const EXPR: Record<string, [string, string]> = {
  Account: ['j.account', 'j.account'],
  AllocCPUS: ['H.int(j.cpus)', 'H.int(s.cpus)'],
  AllocNodes: ['H.int(j.allocated?j.nodes:0)', 'H.int(s.nodes)'],
  AllocTRES: ['H.allocTres(j)', 'H.stepTres(j,s)'],
  Cluster: ['j.cluster', 'j.cluster'],
  CPUTime: ['H.elapsed(j.cpus*j.elapsed)', 'H.elapsed(s.cpus*(s.end-s.start))'],
  CPUTimeRAW: ["''+j.cpus*j.elapsed", "''+s.cpus*(s.end-s.start)"],
  DBIndex: ['H.db(j)', 'H.db(j)'],
  DerivedExitCode: ['j.exitCode', "''"],
  Elapsed: ['H.elapsed(j.elapsed)', 'H.elapsed(s.end-s.start)'],
  ElapsedRaw: ['H.elapsedRaw(j)', 'H.stepElapsedRaw(j,s)'],
  Eligible: ['H.submit(j)', 'H.stepStart(j,s)'],
  End: ['H.end(j)', 'H.stepEnd(j,s)'],
  ExitCode: ['j.exitCode', 's.exitCode'],
  GID: ['j.user.uidStr', "''"],
  Group: ['j.user.group', "''"],
  JobID: ['H.jobId(j)', "H.jobId(j)+'.'+s.id"],
  JobIDRaw: ['H.raw(j)', "H.raw(j)+'.'+s.id"],
  JobName: ['H.jobName(j)', 's.name'],
  MaxRSS: ["''", 'H.rss(s.rssKB)'],
  NCPUS: ['H.int(j.cpus)', 'H.int(s.cpus)'],
  NNodes: ['H.int(j.nodes)', 'H.int(s.nodes)'],
  NodeList: ['H.nodeList(j)', 'H.stepNodes(j,s)'],
  NTasks: ["''", 'H.int(s.nodes)'],
  Partition: ['j.part.name', "''"],
  QOS: ['j.qos', "''"],
  Reason: ["'None'", "''"],
  ReqCPUS: ['H.int(j.cpus)', 'H.int(s.cpus)'],
  ReqMem: ['H.reqMem(j)', "''"],
  ReqNodes: ['H.int(j.nodes)', 'H.int(s.nodes)'],
  ReqTRES: ['H.reqTres(j)', "''"],
  Start: ['H.start(j)', 'H.stepStart(j,s)'],
  State: ['H.state(j.state,j.requid)', 'H.state(s.state,s.requid)'],
  Submit: ['H.submit(j)', 'H.stepStart(j,s)'],
  Suspended: ["'00:00:00'", "'00:00:00'"],
  Timelimit: ['H.timelimit(j)', "''"],
  TimelimitRaw: ['H.timelimitRaw(j)', "''"],
  UID: ['j.user.uidStr', "''"],
  User: ['j.user.name', "''"],
};

export interface RowFormatter {
  job: (j: Job) => string;
  step: (j: Job, s: Step) => string;
}

export type Mode = 'parsable' | 'parsable2' | 'fixed';

// Compile the row printers for a field list: one concatenation per row, nothing looked up by name.
export function compileRow(fields: readonly Field[], mode: Mode, delimiter: string, H: Helpers): RowFormatter {
  const D = JSON.stringify(delimiter);
  const body = (which: 0 | 1): string => {
    const parts = fields.map((f) => {
      const e = EXPR[f.name]?.[which] ?? "''";
      return mode === 'fixed' ? `H.fit(${e},${f.width})+' '` : e;
    });
    if (parts.length === 0) return "'\\n'";
    if (mode === 'fixed') return `''+${parts.join('+')}+'\\n'`;
    if (mode === 'parsable') return `''+${parts.join(`+${D}+`)}+${D}+'\\n'`;
    return `''+${parts.join(`+${D}+`)}+'\\n'`;
  };
  const make = new Function('H', `return {job:function(j){return ${body(0)};},step:function(j,s){return ${body(1)};}};`);
  return make(H) as RowFormatter;
}

// The header sacct prints unless -n: names, and under a fixed-width layout a dashed rule.
export function header(fields: readonly Field[], mode: Mode, delimiter: string): string {
  if (mode === 'fixed') {
    const cut = (f: Field): string => {
      const w = Math.abs(f.width);
      const n = f.name.slice(0, w);
      return f.width < 0 ? n.padEnd(w) : n.padStart(w);
    };
    const names = fields.map((f) => cut(f) + ' ').join('');
    const rule = fields.map((f) => '-'.repeat(Math.abs(f.width)) + ' ').join('');
    return names + '\n' + rule + '\n';
  }
  const names = fields.map((f) => f.name);
  return names.join(delimiter) + (mode === 'parsable' && names.length > 0 ? delimiter : '') + '\n';
}
