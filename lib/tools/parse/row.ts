// A sacct row: the fields sb-parse reads, and a delimited line (plain sacct text, a line of a
// `rows` record) cut into them.

// The sacct fields sb-parse reads (NCPUS where there is no AllocCPUS); it ignores the others.
export const USED = ['DBIndex', 'JobID', 'JobIDRaw', 'Cluster', 'User', 'UID', 'Account', 'Partition', 'QOS', 'State',
  'ExitCode', 'Submit', 'Start', 'End', 'ElapsedRaw', 'Elapsed', 'Timelimit', 'TimelimitRaw', 'AllocCPUS', 'NCPUS',
  'NNodes', 'ReqMem', 'MaxRSS', 'AllocTRES'] as const;
export type UsedField = (typeof USED)[number];

// One sacct row: its fields by sacct's names, as sacct printed them; absent (or undefined)
// when not in the input.
export type Row = { [F in UsedField]?: string | undefined };

// Where the fields sb-parse reads sit in the rows of one field list and delimiter (text rows,
// and the lines of `rows` records); the field bounds of the row being read.
export interface Layout {
  key: string;
  delimiter: string;
  width: number;
  // The column of each field read (the first of that name; -1: not in the input).
  columns: Record<UsedField, number>;
  starts: Int32Array;
  ends: Int32Array;
}

export function layoutOf(fields: readonly string[], delimiter: string): Layout {
  return {
    key: delimiter + '\n' + fields.join(','),
    delimiter,
    width: fields.length,
    columns: Object.fromEntries(USED.map((name) => [name, fields.indexOf(name)])) as Record<UsedField, number>,
    starts: new Int32Array(fields.length + 1),
    ends: new Int32Array(fields.length + 1),
  };
}

// Splits a row at the layout's delimiter, keeping the bounds of its first width + 1 fields;
// returns how many fields it has. No strings are made: a step row needs 4 of its fields.
export function splitRow(text: string, layout: Layout): number {
  const { delimiter, width, starts, ends } = layout;
  let n = 0;
  for (let pos = 0; ;) {
    const at = text.indexOf(delimiter, pos);
    if (n <= width) {
      starts[n] = pos;
      ends[n] = at < 0 ? text.length : at;
    }
    n++;
    if (at < 0) return n;
    pos = at + delimiter.length;
  }
}

// Field `column` of the row splitRow split last; undefined for a column not in the input.
export function cell(text: string, layout: Layout, column: number): string | undefined {
  return column < 0 ? undefined : text.slice(layout.starts[column], layout.ends[column]);
}

// The fields of the row splitRow split last, by name (one object literal: one shape for every
// row, which a loop setting fields by name would not give).
export function rowFields(text: string, layout: Layout): Row {
  const c = layout.columns;
  return {
    DBIndex: cell(text, layout, c.DBIndex),
    JobID: cell(text, layout, c.JobID),
    JobIDRaw: cell(text, layout, c.JobIDRaw),
    Cluster: cell(text, layout, c.Cluster),
    User: cell(text, layout, c.User),
    UID: cell(text, layout, c.UID),
    Account: cell(text, layout, c.Account),
    Partition: cell(text, layout, c.Partition),
    QOS: cell(text, layout, c.QOS),
    State: cell(text, layout, c.State),
    ExitCode: cell(text, layout, c.ExitCode),
    Submit: cell(text, layout, c.Submit),
    Start: cell(text, layout, c.Start),
    End: cell(text, layout, c.End),
    ElapsedRaw: cell(text, layout, c.ElapsedRaw),
    Elapsed: cell(text, layout, c.Elapsed),
    Timelimit: cell(text, layout, c.Timelimit),
    TimelimitRaw: cell(text, layout, c.TimelimitRaw),
    AllocCPUS: cell(text, layout, c.AllocCPUS),
    NCPUS: cell(text, layout, c.NCPUS),
    NNodes: cell(text, layout, c.NNodes),
    ReqMem: cell(text, layout, c.ReqMem),
    MaxRSS: cell(text, layout, c.MaxRSS),
    AllocTRES: cell(text, layout, c.AllocTRES),
  };
}
