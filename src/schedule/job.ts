/**
 * A scheduled job is plain data: when (a Schedule), what (a job kind such as `backup` or
 * `logrotate`, with its raw parameters), and the policies around it. Jobs come from
 * schedule files (jobs-file.ts) and from container labels (job-labels.ts); both end up
 * here, checked by the same pure function.
 */
import { parseConstraints } from '../swarm/constraints.js';
import { parseRegistry } from '../swarm/images.js';
import { parseDuration, parseSchedule, ScheduleError, type Schedule } from './time.js';

/** What happens when an instant comes while the job's previous run still runs. */
export type OverlapPolicy = 'skip' | 'queue' | 'replace' | 'allow';
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['skip', 'queue', 'replace', 'allow'];

/** Missed instants (scheduler down, clock jump): `none` drops them; `once` makes up the latest, within the starting deadline. */
export type CatchUpPolicy = 'none' | 'once';
export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['none', 'once'];

/** Raw parameters as a job kind receives them: the same shapes as the CLI's options. */
export type JobParams = Readonly<Record<string, string | boolean | readonly string[]>>;

/**
 * A job run as a Swarm job (`swarm:` beside `with:`): once on every selected node, ok only if
 * all are. The kind receives it as its `swarm`, `constraint` and `registry` parameters.
 */
export interface JobSwarm {
  /** Swarm placement constraints (`node.role==worker`), all of which must hold. */
  readonly constraint: readonly string[];
  /** Push the helper image there for the nodes to pull (default: load it into each node's engine). */
  readonly registry?: string;
}

/** The parameters a job kind receives for `swarm:`: reserved, so `with:` cannot set them. */
export const SWARM_PARAMS: readonly string[] = ['swarm', 'constraint', 'registry'];
const SWARM_KEYS = ['constraint', 'registry'];

export interface JobSpec {
  readonly name: string;
  /** Where it was declared, for messages: `schedule.yaml:12` or `label on web-1`. */
  readonly origin: string;
  readonly schedule: Schedule;
  readonly kind: string;
  /** With `swarm:` also `swarm: true`, `constraint` and `registry` (see JobSwarm). */
  readonly params: JobParams;
  /** Set when the job runs as a Swarm job. */
  readonly swarm?: JobSwarm;
  readonly overlap: OverlapPolicy;
  /** Jobs that share a lock group never run at the same time. */
  readonly lock?: string;
  readonly maxRuntimeMs: number;
  readonly catchUp: CatchUpPolicy;
  readonly startingDeadlineMs: number;
  /** A stable per-job delay in [0, jitterMs) added to every instant. */
  readonly jitterMs: number;
  /** POSTed a JSON body on start, success, failure, recovery, skip and stuck runs. */
  readonly webhook?: string;
  /** A healthchecks-style URL: pinged on start (`/start`), success, and failure (`/fail`). */
  readonly ping?: string;
}

/** Validates a job kind's parameters before anything runs; throws a message naming the parameter. */
export interface JobKindCatalog {
  readonly names: readonly string[];
  /** The kinds that can run as a Swarm job (`swarm:`); none when absent. */
  readonly swarm?: readonly string[];
  check(kind: string, params: JobParams): void;
}

export const DEFAULT_MAX_RUNTIME_MS = 60 * 60_000;
/**
 * A missed instant older than this is not made up. Capped at the job's own interval: an
 * instant later than that is superseded by the next one anyway (and a frequent job's
 * claims then live for seconds, not an hour).
 */
export const DEFAULT_STARTING_DEADLINE_MS = 60 * 60_000;

/** The time between two of the schedule's instants, from a fixed reference (pure). */
export function scheduleInterval(schedule: Schedule): number {
  const first = schedule.next(new Date(Date.UTC(2026, 0, 5, 12)));
  return schedule.next(first).getTime() - first.getTime();
}
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** One problem with one job, precise enough to fix without guessing. */
export interface JobProblem {
  readonly origin: string;
  readonly job: string;
  readonly field: string;
  readonly message: string;
}

/** The fields a job declaration may have, as written in YAML or labels (before parsing). */
export interface RawJob {
  readonly schedule?: unknown;
  readonly tz?: unknown;
  readonly seconds?: unknown;
  readonly helper?: unknown;
  readonly with?: unknown;
  readonly swarm?: unknown;
  readonly overlap?: unknown;
  readonly lock?: unknown;
  readonly 'max-runtime'?: unknown;
  readonly 'catch-up'?: unknown;
  readonly 'starting-deadline'?: unknown;
  readonly jitter?: unknown;
  readonly webhook?: unknown;
  readonly ping?: unknown;
}
export const RAW_JOB_FIELDS: readonly string[] = [
  'schedule',
  'tz',
  'seconds',
  'helper',
  'with',
  'swarm',
  'overlap',
  'lock',
  'max-runtime',
  'catch-up',
  'starting-deadline',
  'jitter',
  'webhook',
  'ping',
];

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new FieldError(field, `must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
}

function duration(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) throw new FieldError(field, `must be a duration like 30s, 15m or 2h, not ${JSON.stringify(value)}`);
  return ms;
}

function url(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^https?:\/\/[^\s]+$/.test(value))
    throw new FieldError(field, `must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value;
}

function params(value: unknown): JobParams {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FieldError('with', 'must be a mapping of parameter names to values');
  const result: Record<string, string | boolean | readonly string[]> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (SWARM_PARAMS.includes(key))
      throw new FieldError(
        `with.${key}`,
        key === 'swarm'
          ? 'swarm is a setting of the job, not a parameter: write `swarm: true` (or `swarm: { constraint: [...], registry: ... }`) beside `with:`'
          : `${key} belongs under the job's swarm setting: \`swarm: { ${key}: ... }\` beside \`with:\``,
      );
    if (typeof raw === 'string' || typeof raw === 'boolean') result[key] = raw;
    else if (typeof raw === 'number') result[key] = String(raw);
    else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string' || typeof item === 'number')) result[key] = raw.map(String);
    else throw new FieldError(`with.${key}`, 'must be a string, a number, a boolean or a list of strings');
  }
  return result;
}

/**
 * `swarm:` as written: true or false (also "true"/"false", as labels give them), or a mapping
 * of `constraint` (one expression or a list) and `registry`; undefined when not a swarm job.
 */
function swarmSetting(value: unknown): JobSwarm | undefined {
  if (value === undefined || value === false || value === 'false') return undefined;
  if (value === true || value === 'true') return { constraint: [] };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FieldError('swarm', `must be true, false or a mapping with constraint and registry, not ${JSON.stringify(value)}`);
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!SWARM_KEYS.includes(key)) throw new FieldError(`swarm.${key}`, `unknown key (known: ${SWARM_KEYS.join(', ')})`);
  }
  const list = fields.constraint === undefined ? [] : Array.isArray(fields.constraint) ? fields.constraint : [fields.constraint];
  if (!list.every((c) => typeof c === 'string'))
    throw new FieldError('swarm.constraint', 'must be a constraint or a list of them, e.g. node.role==worker');
  try {
    parseConstraints(list as string[]);
  } catch (error) {
    throw new FieldError('swarm.constraint', (error as Error).message.replace(/^--constraint:? ?/, ''));
  }
  let registry: string | undefined;
  if (fields.registry !== undefined) {
    if (typeof fields.registry !== 'string') throw new FieldError('swarm.registry', 'must be HOST[:PORT][/PATH], e.g. registry.example:5000');
    try {
      registry = parseRegistry(fields.registry);
    } catch (error) {
      throw new FieldError('swarm.registry', (error as Error).message.replace(/^--registry /, ''));
    }
  }
  return { constraint: list as string[], ...(registry !== undefined ? { registry } : {}) };
}

/** The parameters a swarm-capable kind receives for `swarm:`. */
function swarmParams(swarm: JobSwarm): JobParams {
  return {
    swarm: true,
    ...(swarm.constraint.length ? { constraint: swarm.constraint } : {}),
    ...(swarm.registry ? { registry: swarm.registry } : {}),
  };
}

/** Checks one raw job into a JobSpec, or returns the problems found (every field is checked). */
export function checkJob(
  name: string,
  raw: RawJob,
  origin: string,
  kinds: JobKindCatalog,
  defaults: { readonly tz?: string } = {},
): JobSpec | JobProblem[] {
  const problems: JobProblem[] = [];
  const attempt = <T>(field: string, read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      const fieldName = error instanceof FieldError ? error.field : error instanceof ScheduleError ? `schedule (${error.field})` : field;
      problems.push({ origin, job: name, field: fieldName, message: (error as Error).message });
      return undefined;
    }
  };
  if (!JOB_NAME.test(name))
    problems.push({
      origin,
      job: name,
      field: 'name',
      message: 'a job name is letters, digits, ".", "_" or "-" (at most 63), starting with a letter or digit',
    });
  for (const key of Object.keys(raw)) {
    if (!RAW_JOB_FIELDS.includes(key))
      problems.push({ origin, job: name, field: key, message: `unknown field (known: ${RAW_JOB_FIELDS.join(', ')})` });
  }
  const tz = attempt('tz', () => {
    if (raw.tz !== undefined && typeof raw.tz !== 'string') throw new FieldError('tz', 'must be a zone name like Europe/Berlin');
    return (raw.tz as string | undefined) ?? defaults.tz;
  });
  const seconds = attempt('seconds', () => {
    if (raw.seconds !== undefined && typeof raw.seconds !== 'boolean') throw new FieldError('seconds', 'must be true or false');
    return raw.seconds === true;
  });
  const schedule = attempt('schedule', () => {
    if (typeof raw.schedule !== 'string' || raw.schedule.trim() === '')
      throw new FieldError('schedule', 'is required: a cron expression, a shorthand like @daily, or @every 4h');
    return parseSchedule(raw.schedule, { ...(tz ? { tz } : {}), seconds: seconds ?? false });
  });
  const kind = attempt('helper', () => {
    if (typeof raw.helper !== 'string' || !kinds.names.includes(raw.helper)) {
      throw new FieldError(
        'helper',
        `${raw.helper === undefined ? 'is required' : `unknown helper ${JSON.stringify(raw.helper)}`}: one of ${kinds.names.join(', ')}`,
      );
    }
    return raw.helper;
  });
  const withParams = attempt('with', () => params(raw.with));
  let swarmOk = true;
  const swarm = attempt('swarm', () => {
    try {
      const setting = swarmSetting(raw.swarm);
      if (setting && kind !== undefined && !(kinds.swarm ?? []).includes(kind)) {
        const able = kinds.swarm ?? [];
        throw new FieldError(
          'swarm',
          `helper ${kind} cannot run as a swarm job${able.length ? ` (swarm: is for ${able.join(', ')})` : ''}: run it against each node's engine instead (DOCKER_HOST=…)`,
        );
      }
      return setting;
    } catch (error) {
      swarmOk = false;
      throw error;
    }
  });
  const jobParams = withParams === undefined ? undefined : swarm ? { ...withParams, ...swarmParams(swarm) } : withParams;
  if (kind !== undefined && jobParams !== undefined && swarmOk) {
    attempt('with', () => {
      try {
        kinds.check(kind, jobParams);
      } catch (error) {
        throw new FieldError('with', (error as Error).message);
      }
    });
  }
  const overlap = attempt('overlap', () => oneOf(raw.overlap, OVERLAP_POLICIES, 'skip', 'overlap'));
  const catchUp = attempt('catch-up', () => oneOf(raw['catch-up'], CATCH_UP_POLICIES, 'once', 'catch-up'));
  const maxRuntimeMs = attempt('max-runtime', () => duration(raw['max-runtime'], DEFAULT_MAX_RUNTIME_MS, 'max-runtime'));
  const startingDeadlineMs = attempt('starting-deadline', () =>
    duration(
      raw['starting-deadline'],
      schedule ? Math.min(DEFAULT_STARTING_DEADLINE_MS, scheduleInterval(schedule)) : DEFAULT_STARTING_DEADLINE_MS,
      'starting-deadline',
    ),
  );
  const jitterMs = attempt('jitter', () => duration(raw.jitter, 0, 'jitter'));
  const lock = attempt('lock', () => {
    if (raw.lock !== undefined && (typeof raw.lock !== 'string' || !JOB_NAME.test(raw.lock)))
      throw new FieldError('lock', 'must be a name (letters, digits, ".", "_", "-")');
    return raw.lock as string | undefined;
  });
  const webhook = attempt('webhook', () => url(raw.webhook, 'webhook'));
  const ping = attempt('ping', () => url(raw.ping, 'ping'));
  if (problems.length > 0) return problems;
  return {
    name,
    origin,
    schedule: schedule!,
    kind: kind!,
    params: jobParams!,
    ...(swarm ? { swarm } : {}),
    overlap: overlap!,
    ...(lock ? { lock } : {}),
    maxRuntimeMs: maxRuntimeMs!,
    catchUp: catchUp!,
    startingDeadlineMs: startingDeadlineMs!,
    jitterMs: jitterMs!,
    ...(webhook ? { webhook } : {}),
    ...(ping ? { ping } : {}),
  };
}

export function formatProblem(problem: JobProblem): string {
  return `${problem.origin}: job ${problem.job}: ${problem.field}: ${problem.message}`;
}
