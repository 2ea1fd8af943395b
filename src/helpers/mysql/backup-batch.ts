/**
 * Many targets, one helper container: `dtool-backup-batch` runs a dtool-backup job per
 * target inside a single container, N at a time. A container's start and removal cost more
 * than dumping a small database, so ten small servers back up in a fraction of ten runs.
 * Pure: the helper spec for a group of targets, and the parsing of the batch's report.
 */
import type { HelperNetwork, HelperResult, HelperRunSpec } from '../../core/helper-spec.js';
import type { Compression, DumpEngine } from './naming.js';

export const OUT_MOUNT = '/backups';
const JOBS_SECRET = 'jobs.tsv';

export interface BatchJob {
  /** The target's name: a safe file name, unique within the batch. */
  readonly name: string;
  readonly targetDir: string;
  readonly tempName: string;
  readonly clientCnf: string;
}

export interface BatchOptions {
  readonly image: string;
  readonly user?: string;
  readonly network: HelperNetwork;
  readonly parallel: number;
  readonly engine: DumpEngine;
  readonly compression: Compression;
  readonly databases?: readonly string[];
  readonly threads?: number;
  readonly timeoutMs?: number;
}

/** Targets that a single helper can reach together: same network (links are merged). */
export function networkKey(network: HelperNetwork): string {
  return network.mode === 'network' ? `network:${network.name}` : network.mode;
}

export function mergeNetworks(networks: readonly HelperNetwork[]): HelperNetwork {
  const [first] = networks;
  if (!first) return { mode: 'default' };
  if (first.mode !== 'network') return first;
  const links = networks.flatMap((n) => (n.mode === 'network' ? (n.links ?? []) : []));
  return { mode: 'network', name: first.name, ...(links.length ? { links: [...new Set(links)] } : {}) };
}

function jobArguments(job: BatchJob, options: BatchOptions): string[] {
  return [
    '--engine',
    options.engine,
    '--compress',
    options.compression,
    '--out',
    `${OUT_MOUNT}/${job.name}/${job.tempName}`,
    ...(options.databases ? ['--databases', options.databases.join(',')] : []),
    ...(options.threads !== undefined ? ['--threads', String(options.threads)] : []),
  ];
}

export function backupBatchSpec(jobs: readonly BatchJob[], options: BatchOptions): HelperRunSpec {
  const jobLines = jobs.map((job) => [job.name, `/run/secrets/${job.name}.cnf`, ...jobArguments(job, options)].join('\t'));
  return {
    helper: 'mysql-backup',
    image: options.image,
    command: ['dtool-backup-batch', '--parallel', String(options.parallel), `/run/secrets/${JOBS_SECRET}`],
    ...(options.user ? { user: options.user } : {}),
    mounts: jobs.map((job) => ({ type: 'bind', source: job.targetDir, target: `${OUT_MOUNT}/${job.name}`, readOnly: false })),
    secrets: [
      { name: JOBS_SECRET, content: `${jobLines.join('\n')}\n` },
      ...jobs.map((job) => ({ name: `${job.name}.cnf`, content: job.clientCnf })),
    ],
    network: options.network,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
}

/**
 * Splits the batch's report into one result per job, shaped like a helper run of its own,
 * so each target's outcome is judged exactly as a lone run's would be. A job the report
 * does not close with an exit line is absent from the map.
 */
export function parseBatchReport(batch: HelperResult): Map<string, HelperResult> {
  const stdout = new Map<string, string[]>();
  const stderr = new Map<string, string[]>();
  const exits = new Map<string, number>();
  for (const line of batch.stdout.split('\n')) {
    const [name, kind, ...rest] = line.split('\t');
    if (!name || !kind) continue;
    const value = rest.join('\t');
    if (kind === 'result') stdout.set(name, [...(stdout.get(name) ?? []), value]);
    else if (kind === 'stderr') stderr.set(name, [...(stderr.get(name) ?? []), value]);
    else if (kind === 'exit' && /^\d+$/.test(value)) exits.set(name, Number(value));
  }
  const results = new Map<string, HelperResult>();
  for (const [name, exitCode] of exits) {
    results.set(name, {
      helper: batch.helper,
      runId: batch.runId,
      exitCode,
      stdout: (stdout.get(name) ?? []).join('\n'),
      stderr: (stderr.get(name) ?? []).join('\n'),
      outputTruncated: batch.outputTruncated,
      durationMs: batch.durationMs,
    });
  }
  return results;
}
