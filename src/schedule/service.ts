/**
 * `dtool schedule run`: the long-running scheduler, put together. Jobs come from schedule
 * files (checked in full before anything runs) and from container labels (kept in sync
 * through Docker events plus a full reconcile every minute; targets are names, resolved at
 * run time). Runs go through the job kinds; their helpers are ordinary dtool helpers, so
 * they die with this process if it is killed (the core guarantee).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { acquireLock } from '../host/lock.js';
import { DTOOL_VERSION } from '../version.js';
import { claimInstant, sweepClaims } from './claim.js';
import { createHooks } from './hooks.js';
import { startHealthServer } from './http.js';
import { formatProblem, type JobKindCatalog, type JobProblem, type JobSpec } from './job.js';
import { declaresJobs, jobsFromLabels } from './job-labels.js';
import { parseJobsFile } from './jobs-file.js';
import { createSchedulerMetrics } from './metrics.js';
import { Scheduler, type RunContext, type RunOutcome, type SchedulerEvent } from './scheduler.js';
import { FileStateStore } from './state.js';

export interface JobRunner extends JobKindCatalog {
  checkAsync(kind: string, params: JobSpec['params']): Promise<void>;
  run(deps: Deps, context: RunContext): Promise<RunOutcome>;
}

export interface ScheduleOptions {
  readonly files: readonly string[];
  readonly stateDir: string;
  /** `host:port` for /healthz, /ready and /metrics; loopback only. */
  readonly listen?: string;
  readonly maxConcurrent: number;
  /** Also take jobs from container labels. */
  readonly labels: boolean;
  /** Wait for the state folder's lock instead of failing when another scheduler holds it. */
  readonly standby: boolean;
  /** How long running helpers get to finish on shutdown before they are killed. */
  readonly graceMs: number;
  readonly log: (line: string) => void;
}

const RECONCILE_MS = 60_000;
const SNAPSHOT_MS = 30_000;
const CLAIM_SWEEP_MS = 60_000;

/** Checks each job's parameter values as its helper's CLI would: good jobs to `accepted`, the rest to `problems`. */
async function checkParameters(candidates: readonly JobSpec[], kinds: JobRunner, accepted: JobSpec[], problems: JobProblem[]): Promise<void> {
  for (const job of candidates) {
    try {
      await kinds.checkAsync(job.kind, job.params);
      accepted.push(job);
    } catch (error) {
      problems.push({ origin: job.origin, job: job.name, field: 'with', message: (error as Error).message });
    }
  }
}

/** Reads and checks schedule files: every problem of every file, or the jobs. */
export async function loadJobFiles(files: readonly string[], kinds: JobRunner, cwd: string): Promise<JobSpec[]> {
  const jobs: JobSpec[] = [];
  const problems: JobProblem[] = [];
  for (const file of files) {
    const path = resolve(cwd, file);
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read schedule file ${file}: ${error.code ?? error.message}`);
    });
    const loaded = parseJobsFile(text, file, kinds);
    problems.push(...loaded.problems);
    await checkParameters(loaded.jobs, kinds, jobs, problems);
  }
  const seen = new Map<string, string>();
  for (const job of jobs) {
    const other = seen.get(job.name);
    if (other) problems.push({ origin: job.origin, job: job.name, field: 'name', message: `also declared at ${other}` });
    seen.set(job.name, job.origin);
  }
  if (problems.length > 0) {
    throw new UsageError(`${problems.length} problem${problems.length > 1 ? 's' : ''} in the schedule; nothing was started`, {
      details: problems.map(formatProblem),
    });
  }
  return jobs;
}

function describe(event: SchedulerEvent): string | undefined {
  switch (event.type) {
    case 'run.start':
      return `job=${event.job.name} run=${event.record.id} start instant=${event.record.instant} trigger=${event.record.trigger} delay=${event.record.delayMs}ms`;
    case 'run.end':
      return `job=${event.job.name} run=${event.record.id} ${event.record.status}${event.record.exitCode ? ` exit=${event.record.exitCode}` : ''}: ${event.record.summary ?? ''}${event.recovered ? ' (recovered)' : ''}`;
    case 'run.skip':
      return `job=${event.job.name} skipped instant=${event.instant} reason=${event.reason}: ${event.detail}`;
    case 'run.stuck':
      return `job=${event.job.name} run=${event.record.id} STUCK: ${event.record.summary ?? ''}`;
    case 'jobs.loaded':
      return `${event.jobs.length} job${event.jobs.length === 1 ? '' : 's'} loaded`;
  }
}

export async function runScheduleService(deps: Deps, kinds: JobRunner, options: ScheduleOptions, cwd: string): Promise<void> {
  const signal = deps.signal ?? new AbortController().signal;
  const log = (line: string) => options.log(`${new Date().toISOString()} ${line}`);
  const fileJobs = await loadJobFiles(options.files, kinds, cwd);
  if (!(await deps.docker.inspectImage(deps.config.baseImage))) {
    throw new UsageError(`the scheduler claims each instant with a container of ${deps.config.baseImage}, which the engine does not have`, {
      hint: 'build or pull it first (make base-image), or set DTOOL_BASE_IMAGE',
    });
  }

  const stateDir = resolve(cwd, options.stateDir);
  await mkdir(stateDir, { recursive: true });
  if (options.standby) log(`standby: waiting for the state folder ${stateDir}`);
  await using _stateLock = await acquireLock(join(stateDir, '.lock'), `the scheduler state folder ${stateDir}`, {
    waitMs: options.standby ? 2 ** 31 - 1 : 0,
    signal,
  });
  const { store, interrupted } = await FileStateStore.open(stateDir);
  for (const record of interrupted) log(`job=${record.job} run=${record.id} interrupted: the previous scheduler stopped while it ran`);

  const metrics = createSchedulerMetrics();
  const hooks = createHooks({ log: (message) => log(`hook: ${message}`) });
  let labelJobs: JobSpec[] = [];
  let labelProblems: string[] = [];
  const scheduler = new Scheduler({
    now: () => Date.now(),
    timers: { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    run: (context) => kinds.run(deps, context),
    claim: (job, instant) => claimInstant(deps.docker, { image: deps.config.baseImage, version: DTOOL_VERSION }, job, instant),
    state: store,
    emit: (event) => {
      metrics.observe(event);
      void hooks.observe(event);
      const line = describe(event);
      if (line) log(line);
    },
    maxConcurrent: options.maxConcurrent,
  });

  const startedAt = new Date().toISOString();
  let endpoint: string | undefined;
  const snapshot = () =>
    store
      .writeSnapshot({
        pid: process.pid,
        startedAt,
        updatedAt: new Date().toISOString(),
        ...(endpoint ? { endpoint } : {}),
        jobs: scheduler.jobs.map((job) => ({
          name: job.name,
          origin: job.origin,
          kind: job.kind,
          schedule: job.schedule.expression,
          tz: job.schedule.tz,
          ...(scheduler.nextInstant(job.name) ? { next: scheduler.nextInstant(job.name)!.toISOString() } : {}),
        })),
        problems: labelProblems,
      })
      .catch((error: Error) => log(`could not write the status snapshot: ${error.message}`));

  const applyJobs = () => {
    scheduler.setJobs([...fileJobs, ...labelJobs]);
    void snapshot();
  };

  /** Re-reads every running container's job labels; a label that does not parse is reported loudly, never dropped silently. */
  const reconcileLabels = async () => {
    const containers = await deps.docker.listContainers({});
    const jobs: JobSpec[] = [];
    const problems: JobProblem[] = [];
    for (const container of containers.filter((c) => declaresJobs(c.labels))) {
      const found = jobsFromLabels(container, kinds);
      problems.push(...found.problems);
      await checkParameters(found.jobs, kinds, jobs, problems);
    }
    const messages = problems.map(formatProblem);
    for (const message of messages.filter((m) => !labelProblems.includes(m))) {
      log(`LABEL ERROR ${message}`);
      metrics.recordLabelError(message.split(':')[0]!);
    }
    labelProblems = messages;
    const key = (list: readonly JobSpec[]) =>
      JSON.stringify(list.map((j) => [j.name, j.schedule.expression, j.schedule.tz, j.kind, j.params, j.overlap, j.lock]));
    if (key(jobs) !== key(labelJobs)) {
      labelJobs = jobs;
      applyJobs();
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const server = options.listen
    ? await startHealthServer({
        ...parseListen(options.listen),
        metrics,
        ready: () => !signal.aborted,
        status: () => ({
          jobs: scheduler.jobs.map((j) => ({ name: j.name, next: scheduler.nextInstant(j.name) })),
          running: scheduler.running(),
          problems: labelProblems,
        }),
      })
    : undefined;
  endpoint = server?.url;
  if (endpoint) log(`health and metrics on ${endpoint}`);
  try {
    applyJobs();
    scheduler.start();
    if (options.labels) {
      await reconcileLabels();
      timers.push(setInterval(() => void reconcileLabels().catch((error: Error) => log(`label reconcile failed: ${error.message}`)), RECONCILE_MS));
      void watchLabels(deps, signal, () => void reconcileLabels().catch(() => {}), log);
    }
    timers.push(setInterval(() => void snapshot(), SNAPSHOT_MS));
    timers.push(setInterval(() => void sweepClaims(deps.docker, new Date()).catch(() => {}), CLAIM_SWEEP_MS));
    void sweepClaims(deps.docker, new Date()).catch(() => {});
    log(`scheduler running: ${scheduler.jobs.length} job${scheduler.jobs.length === 1 ? '' : 's'}, state in ${stateDir}`);
    await new Promise<void>((resolveStop) =>
      signal.aborted ? resolveStop() : signal.addEventListener('abort', () => resolveStop(), { once: true }),
    );
    log(`stopping: no new runs; running helpers get ${Math.round(options.graceMs / 1000)}s to finish`);
    await scheduler.stop(options.graceMs);
  } finally {
    for (const timer of timers) clearInterval(timer);
    await server?.close();
    await snapshot();
  }
}

/** Docker events, with a debounce; the stream is reopened if the engine drops it. */
async function watchLabels(deps: Deps, signal: AbortSignal, changed: () => void, log: (line: string) => void): Promise<void> {
  let debounce: NodeJS.Timeout | undefined;
  while (!signal.aborted) {
    try {
      await deps.docker.watchContainerEvents((event) => {
        if (!['start', 'die', 'destroy', 'rename', 'create'].includes(event.action)) return;
        clearTimeout(debounce);
        debounce = setTimeout(changed, 300);
      }, signal);
    } catch (error) {
      log(`docker events: ${(error as Error).message}; retrying`);
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 2_000));
  }
  clearTimeout(debounce);
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new UsageError(`--listen expects HOST:PORT, like 127.0.0.1:9321, not "${listen}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port };
}
