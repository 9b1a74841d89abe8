// A cluster's fixed cast: users with heavy-tailed activity, their accounts, and the partitions
// (some with GPUs) that jobs land in. Built once per run from (seed, cluster name).
import { Alias, Rng, combine, cumulate, hashString } from './prng.js';

export interface User {
  name: string;
  uid: number;
  uidStr: string;
  group: string;
  account: string;
  account2: string;
  gpuAffinity: number;
}

export interface Partition {
  name: string;
  nodeCpus: number;
  nodeMemMB: number;
  nodeGpus: number;
  gpuType: string;
  nodeCount: number;
  prefix: string;
  limitsMin: readonly number[];
  maxNodes: number;
}

export interface ClusterModel {
  name: string;
  hash: number;
  users: User[];
  userAlias: Alias;
  cpuParts: Partition[];
  cpuPartCum: number[];
  gpuParts: Partition[];
  gpuPartCum: number[];
}

const ACCOUNTS = [
  'physics', 'chem', 'bio', 'astro', 'cs-ml', 'climate', 'econ', 'genomics',
  'materials', 'neuro', 'math', 'mech-eng', 'geo', 'hep', 'qcd', 'pharma',
];

const ONSETS = ['b', 'ch', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 'sh', 't', 'v', 'w', 'y', 'z'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ei', 'ou'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'k', 'm', 't'];

// Login names like "mkorasi": an initial and a pronounceable surname stem; stable for a given index.
function userName(i: number, taken: Set<string>): string {
  const rng = new Rng(combine(0x5eed, i));
  const initial = String.fromCharCode(97 + rng.int(26));
  let stem = '';
  const syllables = 2 + rng.int(2);
  for (let s = 0; s < syllables; s++) stem += rng.pick(ONSETS) + rng.pick(VOWELS) + (s === syllables - 1 ? rng.pick(CODAS) : '');
  let name = (initial + stem).slice(0, 8);
  for (let k = 2; taken.has(name); k++) name = (initial + stem).slice(0, 7) + String(k);
  taken.add(name);
  return name;
}

const GPU_TYPES: Record<string, [string, string]> = {
  demo: ['a100', 'v100'],
  hammer: ['a100', 'l40s'],
  anvil: ['h100', 'a100'],
};

function partitions(cluster: string, h: number): { cpu: Partition[]; cpuW: number[]; gpu: Partition[]; gpuW: number[] } {
  const types = GPU_TYPES[cluster] ?? (h & 1 ? ['a100', 'v100'] : ['h100', 'a100']);
  const cpu: Partition[] = [
    { name: 'cpu', nodeCpus: 48, nodeMemMB: 191000, nodeGpus: 0, gpuType: '', nodeCount: 400, prefix: 'cn', limitsMin: [30, 60, 120, 240, 480, 720, 1440, 2880], maxNodes: 16 },
    { name: 'debug', nodeCpus: 48, nodeMemMB: 191000, nodeGpus: 0, gpuType: '', nodeCount: 8, prefix: 'dbg', limitsMin: [15, 30, 60], maxNodes: 2 },
    { name: 'long', nodeCpus: 48, nodeMemMB: 191000, nodeGpus: 0, gpuType: '', nodeCount: 400, prefix: 'cn', limitsMin: [4320, 7200, 10080], maxNodes: 4 },
    { name: 'bigmem', nodeCpus: 64, nodeMemMB: 1031000, nodeGpus: 0, gpuType: '', nodeCount: 16, prefix: 'bm', limitsMin: [240, 720, 1440, 4320], maxNodes: 2 },
  ];
  const gpu: Partition[] = [
    { name: 'gpu', nodeCpus: 64, nodeMemMB: 515000, nodeGpus: 4, gpuType: types[0], nodeCount: 48, prefix: 'gpu', limitsMin: [60, 240, 720, 1440, 2880], maxNodes: 8 },
    { name: `gpu-${types[1]}`, nodeCpus: 32, nodeMemMB: 385000, nodeGpus: 4, gpuType: types[1], nodeCount: 24, prefix: 'gv', limitsMin: [60, 240, 720, 1440], maxNodes: 4 },
  ];
  return { cpu, cpuW: [0.68, 0.16, 0.1, 0.06], gpu, gpuW: [0.7, 0.3] };
}

export function buildCluster(seed: string, name: string, userCount: number): ClusterModel {
  const hash = combine(hashString(seed), hashString(name));
  const rng = new Rng(combine(hash, 0xc1a55));
  const taken = new Set<string>();
  const users: User[] = [];
  for (let i = 0; i < userCount; i++) {
    const uname = userName(i, taken);
    const r = new Rng(combine(0xacc7, i));
    const account = ACCOUNTS[r.int(ACCOUNTS.length)]!;
    const account2 = r.chance(0.2) ? ACCOUNTS[r.int(ACCOUNTS.length)]! : account;
    users.push({
      name: uname,
      uid: 20001 + i,
      uidStr: String(20001 + i),
      group: account,
      account,
      account2,
      gpuAffinity: r.chance(0.25) ? 0.75 : 0.03,
    });
  }
  // Zipf-like activity (s = 1.1), ranked in a cluster-specific order: heavy users differ per cluster.
  const order = users.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const weights = new Array<number>(userCount);
  order.forEach((u, rank) => (weights[u] = 1 / Math.pow(rank + 1, 1.1)));
  const p = partitions(name, hash);
  return {
    name,
    hash,
    users,
    userAlias: new Alias(weights),
    cpuParts: p.cpu,
    cpuPartCum: cumulate(p.cpuW),
    gpuParts: p.gpu,
    gpuPartCum: cumulate(p.gpuW),
  };
}
