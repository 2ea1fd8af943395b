/**
 * Jobs declared on containers: `dtool.job.<name>.<field>` labels, with the helper's
 * parameters as `dtool.job.<name>.with.<param>` (lists comma-separated). The container the
 * labels are on is the job's target unless the parameters name one: a backup job gets
 * `link: <container name>`, a logrotate job `volumes-from: <container name>`. Targets are
 * names, resolved when the job runs, so a recreated container is the one reached.
 *
 *   dtool.job.nightly.schedule=0 3 * * *
 *   dtool.job.nightly.helper=backup
 *   dtool.job.nightly.with.out=/srv/backups
 *   dtool.job.nightly.with.credentials=/etc/dtool/db.cnf
 */
import { checkJob, type JobKindCatalog, type JobParams, type JobProblem, type JobSpec, type RawJob } from './job.js';

const PREFIX = 'dtool.job.';
/** Parameters that take a list: given comma-separated in a label. */
const LIST_PARAMS = new Set(['link', 'label', 'volumes-from', 'path']);
/** Which parameter points a job kind at the labelled container itself. */
const SELF_TARGET: Readonly<Record<string, string>> = { backup: 'link', logrotate: 'volumes-from' };

export interface LabelledContainer {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

function toValue(param: string, value: string): string | boolean | readonly string[] {
  if (value === 'true' || value === 'false') return value === 'true';
  return LIST_PARAMS.has(param)
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : value;
}

/** Jobs from one container's labels; a job's name is prefixed with the container's, so two containers never collide. */
export function jobsFromLabels(container: LabelledContainer, kinds: JobKindCatalog): { jobs: JobSpec[]; problems: JobProblem[] } {
  const raw = new Map<string, Record<string, unknown>>();
  for (const [key, value] of Object.entries(container.labels)) {
    if (!key.startsWith(PREFIX)) continue;
    const [name, field, ...rest] = key.slice(PREFIX.length).split('.');
    if (!name || !field) continue;
    const job = raw.get(name) ?? {};
    if (field === 'with' && rest.length > 0) {
      const param = rest.join('.');
      job.with = { ...(job.with as Record<string, unknown> | undefined), [param]: toValue(param, value) };
    } else if (rest.length === 0) {
      job[field] = field === 'seconds' ? value === 'true' : value;
    } else {
      job[`${field}.${rest.join('.')}`] = value;
    }
    raw.set(name, job);
  }
  const jobs: JobSpec[] = [];
  const problems: JobProblem[] = [];
  for (const [name, fields] of raw) {
    const helper = typeof fields.helper === 'string' ? fields.helper : undefined;
    const self = helper ? SELF_TARGET[helper] : undefined;
    const given = (fields.with ?? {}) as Record<string, unknown>;
    const targeted = self && given[self] === undefined && given.label === undefined ? { ...given, [self]: [container.name] } : given;
    const checked = checkJob(`${container.name}.${name}`, { ...fields, with: targeted } as RawJob, `label on ${container.name}`, kinds);
    if (Array.isArray(checked)) problems.push(...checked);
    else jobs.push(checked);
  }
  return { jobs, problems };
}

/** Whether a container declares any job (so a change to it matters to the scheduler). */
export function declaresJobs(labels: Readonly<Record<string, string>>): boolean {
  return Object.keys(labels).some((key) => key.startsWith(PREFIX));
}

export type { JobParams };
