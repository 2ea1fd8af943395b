/**
 * The scheduler's state folder: per job, the last instant handled and a bounded history of
 * runs (scheduled instant, start, end, status, exit code, the output tail on failure).
 * Every change is written atomically, so a crash leaves the old record or the new one.
 *
 * One scheduler at a time owns a state folder: it holds the folder's kernel-released lock
 * for its whole life (a second one fails at once, or waits as a standby with --standby).
 * So a record still "running" when the folder is opened belongs to a scheduler that died:
 * it is closed as interrupted.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/atomic-file.js';
import type { RunRecord, StateStore } from './scheduler.js';

/** Runs kept per job. */
export const HISTORY_LIMIT = 100;

export interface JobState {
  readonly job: string;
  readonly lastInstant?: string;
  readonly history: readonly RunRecord[];
}

/** What `dtool schedule status` shows besides the history: written by the running scheduler. */
export interface SchedulerSnapshot {
  readonly pid: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly endpoint?: string;
  readonly jobs: readonly {
    readonly name: string;
    readonly origin: string;
    readonly kind: string;
    readonly schedule: string;
    readonly tz: string;
    readonly next?: string;
  }[];
  readonly problems: readonly string[];
}

const SNAPSHOT = 'scheduler.json';

export function jobFileName(job: string): string {
  return `${encodeURIComponent(job)}.json`;
}

export class FileStateStore implements StateStore {
  readonly #dir: string;
  readonly #jobs = new Map<string, JobState>();
  /** Writes of one job, in order: a later write never lands before an earlier one. */
  readonly #writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Reads every job's state; records left "running" by a dead scheduler are closed as interrupted. */
  static async open(dir: string, now: () => Date = () => new Date()): Promise<{ store: FileStateStore; interrupted: RunRecord[] }> {
    const store = new FileStateStore(dir);
    await mkdir(join(dir, 'jobs'), { recursive: true });
    const interrupted: RunRecord[] = [];
    for (const state of await readJobStates(dir)) {
      const history = state.history.map((record) => {
        if (record.status !== 'running') return record;
        const closed: RunRecord = {
          ...record,
          status: 'interrupted',
          endedAt: now().toISOString(),
          summary: 'the scheduler stopped while this run was going',
        };
        interrupted.push(closed);
        return closed;
      });
      store.#jobs.set(state.job, { ...state, history });
    }
    for (const record of interrupted) await store.#write(record.job);
    return { store, interrupted };
  }

  lastInstant(job: string): Date | undefined {
    const last = this.#jobs.get(job)?.lastInstant;
    return last ? new Date(last) : undefined;
  }

  history(job: string): readonly RunRecord[] {
    return this.#jobs.get(job)?.history ?? [];
  }

  async save(record: RunRecord): Promise<void> {
    const state = this.#jobs.get(record.job) ?? { job: record.job, history: [] };
    const history = [...state.history.filter((r) => r.id !== record.id), record].slice(-HISTORY_LIMIT);
    const lastInstant = !state.lastInstant || record.instant > state.lastInstant ? record.instant : state.lastInstant;
    this.#jobs.set(record.job, { job: record.job, lastInstant: record.trigger === 'manual' ? state.lastInstant : lastInstant, history } as JobState);
    await this.#write(record.job);
  }

  async markInstant(job: string, instant: Date): Promise<void> {
    const state = this.#jobs.get(job) ?? { job, history: [] };
    const iso = instant.toISOString();
    if (state.lastInstant && state.lastInstant >= iso) return;
    this.#jobs.set(job, { ...state, lastInstant: iso });
    await this.#write(job);
  }

  async writeSnapshot(snapshot: SchedulerSnapshot): Promise<void> {
    await writeFileAtomic(join(this.#dir, SNAPSHOT), `${JSON.stringify(snapshot, null, 2)}\n`);
  }

  #write(job: string): Promise<void> {
    const previous = this.#writes.get(job) ?? Promise.resolve();
    const next = previous.then(() => writeFileAtomic(join(this.#dir, 'jobs', jobFileName(job)), `${JSON.stringify(this.#jobs.get(job), null, 2)}\n`));
    this.#writes.set(
      job,
      next.catch(() => {}),
    );
    return next;
  }
}

/** Every job's state, read without the lock (for `status`). */
export async function readJobStates(dir: string): Promise<JobState[]> {
  const files = await readdir(join(dir, 'jobs')).catch(() => [] as string[]);
  const states: JobState[] = [];
  for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
    try {
      const state = JSON.parse(await readFile(join(dir, 'jobs', file), 'utf8')) as JobState;
      if (typeof state.job === 'string' && Array.isArray(state.history)) states.push(state);
    } catch {
      // A file that does not parse is not a job's state (atomic writes never leave half a file).
    }
  }
  return states;
}

export async function readSnapshot(dir: string): Promise<SchedulerSnapshot | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, SNAPSHOT), 'utf8')) as SchedulerSnapshot;
  } catch {
    return undefined;
  }
}
