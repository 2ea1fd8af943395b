/**
 * `dtool schedule run-now JOB`: one run of a declared job, in this process, outside its
 * schedule. Recorded in the state folder when no scheduler holds it (a running scheduler
 * owns its folder; its history is not written from two processes).
 */
import { join } from 'node:path';
import type { Deps } from '../deps.js';
import { DtoolError, NotFoundError } from '../errors.js';
import { acquireLock } from '../host/lock.js';
import type { JobSpec } from './job.js';
import { declaresJobs, jobsFromLabels } from './job-labels.js';
import type { RunRecord } from './scheduler.js';
import { loadJobFiles, type JobRunner } from './service.js';
import { FileStateStore } from './state.js';

export async function runJobNow(
  deps: Deps,
  kinds: JobRunner,
  options: { readonly job: string; readonly files: readonly string[]; readonly stateDir: string },
  cwd: string,
): Promise<{ record: RunRecord; recorded: boolean; error?: DtoolError }> {
  const jobs: JobSpec[] = [...(await loadJobFiles(options.files, kinds, cwd))];
  if (!jobs.some((j) => j.name === options.job)) {
    for (const container of (await deps.docker.listContainers({})).filter((c) => declaresJobs(c.labels)))
      jobs.push(...jobsFromLabels(container, kinds).jobs);
  }
  const job = jobs.find((j) => j.name === options.job);
  if (!job) throw new NotFoundError(`no job named ${options.job}`, { hint: `declared jobs: ${jobs.map((j) => j.name).join(', ') || 'none'}` });
  await kinds.checkAsync(job.kind, job.params);

  const started = new Date();
  const controller = new AbortController();
  deps.signal?.addEventListener('abort', () => controller.abort(deps.signal?.reason), { once: true });
  const timer = setTimeout(() => controller.abort(new Error('max-runtime')), job.maxRuntimeMs);
  const outcome = await kinds.run(deps, { job, instant: started, signal: controller.signal }).finally(() => clearTimeout(timer));
  const record: RunRecord = {
    id: `${started.getTime().toString(36)}-now`,
    job: job.name,
    instant: started.toISOString(),
    trigger: 'manual',
    startedAt: started.toISOString(),
    endedAt: new Date().toISOString(),
    status: controller.signal.aborted ? (deps.signal?.aborted ? 'interrupted' : 'timeout') : outcome.ok ? 'ok' : 'failed',
    exitCode: outcome.exitCode,
    delayMs: 0,
    summary: outcome.summary,
    ...(outcome.ok ? {} : { outputTail: outcome.outputTail ?? [] }),
  };
  let recorded = false;
  try {
    await using _lock = await acquireLock(join(options.stateDir, '.lock'), 'the scheduler state folder');
    const { store } = await FileStateStore.open(options.stateDir);
    await store.save(record);
    recorded = true;
  } catch {
    // Held by a running scheduler, or no folder to write: the outcome is still printed.
  }
  const error = outcome.ok
    ? undefined
    : new DtoolError('HELPER_FAILED', `job ${job.name}: ${outcome.summary}`, { details: outcome.outputTail ?? [] });
  return { record, recorded, ...(error ? { error } : {}) };
}
