// The fields sb-sacct asks sacct for (`-o`), in this order; sb-parse reads them by name.
// Never JobName, SubmitLine or WorkDir: sb neither asks for nor keeps them (sb(7)).
export const SB_SACCT_FIELDS = [
  'DBIndex',
  'JobID',
  'JobIDRaw',
  'Cluster',
  'User',
  'UID',
  'Account',
  'Partition',
  'QOS',
  'State',
  'ExitCode',
  'Submit',
  'Start',
  'End',
  'ElapsedRaw',
  'Timelimit',
  'AllocCPUS',
  'NNodes',
  'ReqMem',
  'MaxRSS',
  'AllocTRES',
] as const;

// Every field name sacct (20.11–23.x) prints in its header line, as it spells them: a line made
// only of these is a header, not a row.
export const SACCT_FIELD_NAMES: readonly string[] = [
  'Account', 'AdminComment', 'AllocCPUS', 'AllocGRES', 'AllocNodes', 'AllocTRES', 'AssocID', 'AveCPU',
  'AveCPUFreq', 'AveDiskRead', 'AveDiskWrite', 'AvePages', 'AveRSS', 'AveVMSize', 'BlockID', 'Cluster',
  'Comment', 'Constraints', 'Container', 'ConsumedEnergy', 'ConsumedEnergyRaw', 'CPUTime', 'CPUTimeRAW',
  'DBIndex', 'DerivedExitCode', 'Elapsed', 'ElapsedRaw', 'Eligible', 'End', 'ExitCode', 'Extra',
  'FailedNode', 'Flags', 'GID', 'Group', 'JobID', 'JobIDRaw', 'JobName', 'Layout', 'Licenses',
  'MaxDiskRead', 'MaxDiskReadNode', 'MaxDiskReadTask', 'MaxDiskWrite', 'MaxDiskWriteNode',
  'MaxDiskWriteTask', 'MaxPages', 'MaxPagesNode', 'MaxPagesTask', 'MaxRSS', 'MaxRSSNode', 'MaxRSSTask',
  'MaxVMSize', 'MaxVMSizeNode', 'MaxVMSizeTask', 'McsLabel', 'MinCPU', 'MinCPUNode', 'MinCPUTask',
  'NCPUS', 'NNodes', 'NodeList', 'NTasks', 'Partition', 'Planned', 'PlannedCPU', 'PlannedCPURAW',
  'Priority', 'QOS', 'QOSRAW', 'Reason', 'ReqCPUFreq', 'ReqCPUFreqGov', 'ReqCPUFreqMax',
  'ReqCPUFreqMin', 'ReqCPUS', 'ReqGRES', 'ReqMem', 'ReqNodes', 'ReqTRES', 'Reservation',
  'ReservationId', 'Reserved', 'ResvCPU', 'ResvCPURAW', 'Start', 'State', 'Submit', 'SubmitLine',
  'Suspended', 'SystemComment', 'SystemCPU', 'Timelimit', 'TimelimitRaw', 'TotalCPU',
  'TRESUsageInAve', 'TRESUsageInMax', 'TRESUsageInMaxNode', 'TRESUsageInMaxTask', 'TRESUsageInMin',
  'TRESUsageInMinNode', 'TRESUsageInMinTask', 'TRESUsageInTot', 'TRESUsageOutAve', 'TRESUsageOutMax',
  'TRESUsageOutMaxNode', 'TRESUsageOutMaxTask', 'TRESUsageOutMin', 'TRESUsageOutMinNode',
  'TRESUsageOutMinTask', 'TRESUsageOutTot', 'UID', 'User', 'UserCPU', 'WCKey', 'WCKeyID', 'WorkDir',
];

const BY_LOWER = new Map(SACCT_FIELD_NAMES.map((n) => [n.toLowerCase(), n]));

// sacct's spelling of a field name given in any case, with any `%WIDTH` dropped
// (`jobid%20` → `JobID`); undefined if sacct has no such field.
export function sacctFieldName(name: string): string | undefined {
  const pct = name.indexOf('%');
  return BY_LOWER.get((pct < 0 ? name : name.slice(0, pct)).trim().toLowerCase());
}
