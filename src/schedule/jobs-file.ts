/**
 * Schedule files: YAML, validated before anything runs. Every problem names the file, the
 * line, the job and the field, and all of them are reported at once.
 *
 *   tz: Europe/Berlin          # optional: the default zone of this file's jobs (else UTC)
 *   jobs:
 *     nightly-backup:
 *       schedule: "0 3 * * *"
 *       helper: backup
 *       with: { label: [dtool.backup=true], out: /srv/backups, credentials: /etc/dtool/db.cnf }
 *     disks-everywhere:
 *       schedule: "@every 1h"
 *       helper: host-info
 *       swarm: { constraint: [node.role==worker] }   # or swarm: true: every node of the swarm
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { checkJob, type JobKindCatalog, type JobProblem, type JobSpec, type RawJob } from './job.js';

export interface LoadedJobs {
  readonly jobs: readonly JobSpec[];
  readonly problems: readonly JobProblem[];
}

const FILE_FIELDS = ['tz', 'jobs'];

/** Parses one schedule file's text; `file` names it in messages. */
export function parseJobsFile(text: string, file: string, kinds: JobKindCatalog): LoadedJobs {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (document.errors.length > 0) {
    return {
      jobs: [],
      problems: document.errors.map((error) => ({
        origin: `${file}:${lines.linePos(error.pos[0]).line}`,
        job: '-',
        field: 'yaml',
        message: error.message.split('\n')[0]!,
      })),
    };
  }
  const root = document.contents;
  if (!isMap(root))
    return { jobs: [], problems: [{ origin: file, job: '-', field: 'file', message: 'a schedule file is a mapping with a "jobs:" key' }] };
  const problems: JobProblem[] = [];
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!FILE_FIELDS.includes(key))
      problems.push({ origin: at(pair.key as Node), job: '-', field: key, message: `unknown top-level key (known: ${FILE_FIELDS.join(', ')})` });
  }
  const tzNode = root.get('tz', true);
  const tz = tzNode === undefined ? undefined : String((tzNode as { value?: unknown }).value ?? '');
  const jobsNode = root.get('jobs', true) as Node | undefined;
  if (!isMap(jobsNode)) {
    problems.push({ origin: at(jobsNode ?? root), job: '-', field: 'jobs', message: 'expected a mapping of job names to jobs' });
    return { jobs: [], problems };
  }
  const jobs: JobSpec[] = [];
  for (const pair of jobsNode.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '?';
    const origin = at(pair.key as Node);
    const value = (pair.value as Node | null)?.toJSON?.() as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ origin, job: name, field: 'job', message: 'expected a mapping with schedule, helper and with' });
      continue;
    }
    const checked = checkJob(name, value as RawJob, origin, kinds, tz ? { tz } : {});
    if (Array.isArray(checked)) problems.push(...checked);
    else jobs.push(checked);
  }
  return { jobs, problems };
}
