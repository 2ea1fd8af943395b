/**
 * The scheduler: one small loop over plain job data. Time, timers, the job runner, the
 * cross-instance claim and the state store are passed in, so tests drive it with a fake
 * clock and no wall-clock sleeps.
 *
 * Per instant of a job, in order:
 *  1. claim   — taken ahead of the instant (see claim.ts): of all schedulers sharing an
 *               engine, only the one whose claim succeeds runs the instant;
 *  2. overlap — the job's previous run still going: skip (default), queue (one waiting at
 *               most), replace (stop it first) or allow;
 *  3. limits  — its lock group and the global cap: the run waits, at most until its
 *               starting deadline, then it is skipped;
 *  4. run     — with an AbortSignal that max-runtime fires (the helper is stopped: SIGTERM,
 *               then SIGKILL). A run that still has not ended a grace period later is
 *               declared stuck and its slot released, so a hung run never blocks the job.
 * Nothing is ever skipped silently: every skip is an event with its reason.
 */
import type { JobSpec } from './job.js';
import { stableJitterMs } from './time.js';

export type RunStatus = 'running' | 'ok' | 'failed' | 'timeout' | 'interrupted' | 'stuck';
export type SkipReason = 'overlap' | 'queue-full' | 'claimed-elsewhere' | 'deadline' | 'missed' | 'shutdown';

export interface RunRecord {
  readonly id: string;
  readonly job: string;
  /** The scheduled instant (ISO); for run-now, the moment it was asked for. */
  readonly instant: string;
  readonly trigger: 'schedule' | 'catch-up' | 'manual';
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly status: RunStatus;
  readonly exitCode?: number;
  /** Scheduled instant → job invoked, in ms. */
  readonly delayMs: number;
  readonly summary?: string;
  /** The last lines of output, kept only when the run failed. */
  readonly outputTail?: readonly string[];
  /** Figures the job measured (e.g. host info's memory and disk), exposed as metrics. */
  readonly figures?: Readonly<Record<string, number>>;
}

export interface RunOutcome {
  readonly ok: boolean;
  readonly exitCode: number;
  readonly summary: string;
  readonly outputTail?: readonly string[];
  readonly figures?: Readonly<Record<string, number>>;
}

export interface RunContext {
  readonly job: JobSpec;
  readonly instant: Date;
  readonly signal: AbortSignal;
}

export type SchedulerEvent =
  | { readonly type: 'run.start'; readonly job: JobSpec; readonly record: RunRecord }
  | { readonly type: 'run.end'; readonly job: JobSpec; readonly record: RunRecord; readonly recovered: boolean }
  | { readonly type: 'run.skip'; readonly job: JobSpec; readonly instant: string; readonly reason: SkipReason; readonly detail: string }
  | { readonly type: 'run.stuck'; readonly job: JobSpec; readonly record: RunRecord }
  | { readonly type: 'jobs.loaded'; readonly jobs: readonly JobSpec[] };

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StateStore {
  /** The latest instant this job was dispatched for (run or skipped), if any. */
  lastInstant(job: string): Date | undefined;
  save(record: RunRecord): Promise<void>;
  markInstant(job: string, instant: Date): Promise<void>;
}

export interface SchedulerDeps {
  readonly now: () => number;
  readonly timers: Timers;
  readonly run: (context: RunContext) => Promise<RunOutcome>;
  /** Resolves true when this scheduler may run the job's instant. */
  readonly claim: (job: JobSpec, instant: Date) => Promise<boolean>;
  readonly state: StateStore;
  readonly emit: (event: SchedulerEvent) => void;
  /** At most this many runs at once, all jobs together. */
  readonly maxConcurrent: number;
  /** How long before an instant its claim is taken. */
  readonly claimLeadMs?: number;
  /** How long past max-runtime a run may take to stop before it is declared stuck. */
  readonly stuckGraceMs?: number;
  readonly newId?: () => string;
}

/** How late a run may start and still count as on time, for catch-up: none. */
const ON_TIME_MS = 5_000;
/** The longest single timer: long sleeps are re-checked, which also absorbs clock jumps. */
const MAX_SLEEP_MS = 60_000;

interface ActiveRun {
  readonly record: RunRecord;
  readonly controller: AbortController;
  readonly done: Promise<void>;
  stopReason?: 'timeout' | 'replaced' | 'shutdown';
  released: boolean;
}

interface JobState {
  spec: JobSpec;
  /** The next instant (jitter included), ms since the epoch. */
  next: number;
  /** The last instant handled, so a clock that moves back never repeats one. */
  lastHandled: number;
  claims: Map<number, Promise<boolean>>;
  running: Set<ActiveRun>;
  queued?: { instant: number; trigger: RunRecord['trigger'] };
  /** Runs of this job waiting for their lock group or a slot. */
  waiting: number;
  lastOk?: boolean;
}

interface Waiter {
  readonly job: JobState;
  readonly instant: number;
  readonly trigger: RunRecord['trigger'];
  readonly resolve: () => void;
}

let sequence = 0;

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #jobs = new Map<string, JobState>();
  readonly #locks = new Map<string, ActiveRun>();
  readonly #waiting: Waiter[] = [];
  #active = 0;
  #timer: unknown;
  #stopping = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  get jobs(): readonly JobSpec[] {
    return [...this.#jobs.values()].map((j) => j.spec);
  }

  /** Runs in progress, by job name. */
  running(): { job: string; record: RunRecord }[] {
    return [...this.#jobs.values()].flatMap((j) => [...j.running].map((r) => ({ job: j.spec.name, record: r.record })));
  }

  /** The job's next instant, jitter included. */
  nextInstant(job: string): Date | undefined {
    const state = this.#jobs.get(job);
    return state ? new Date(state.next) : undefined;
  }

  #instantAfter(spec: JobSpec, after: number): number {
    const jitter = stableJitterMs(spec.name, spec.jitterMs);
    // The schedule's own instant; jitter only delays it, so look from before the jitter.
    return spec.schedule.next(new Date(after - jitter)).getTime() + jitter;
  }

  /**
   * Replaces the job set: new jobs are scheduled (with catch-up of a missed instant, from
   * the state store), changed jobs keep their running runs, removed jobs start no more runs.
   */
  setJobs(jobs: readonly JobSpec[]): void {
    const now = this.#deps.now();
    const names = new Set(jobs.map((j) => j.name));
    for (const name of [...this.#jobs.keys()]) if (!names.has(name)) this.#jobs.delete(name);
    for (const spec of jobs) {
      const existing = this.#jobs.get(spec.name);
      if (existing) {
        const changed =
          existing.spec.schedule.expression !== spec.schedule.expression ||
          existing.spec.schedule.tz !== spec.schedule.tz ||
          existing.spec.jitterMs !== spec.jitterMs;
        existing.spec = spec;
        if (changed) existing.next = this.#instantAfter(spec, Math.max(now, existing.lastHandled));
        continue;
      }
      const last = this.#deps.state.lastInstant(spec.name)?.getTime();
      const state: JobState = {
        spec,
        next: this.#instantAfter(spec, now),
        lastHandled: last ?? now,
        claims: new Map(),
        running: new Set(),
        waiting: 0,
      };
      this.#jobs.set(spec.name, state);
      if (last !== undefined && spec.catchUp === 'once') this.#catchUp(state, last, now);
    }
    this.#deps.emit({ type: 'jobs.loaded', jobs });
    this.#arm();
  }

  /** After downtime: the latest instant missed since `last` runs once if within the starting deadline. */
  #catchUp(state: JobState, last: number, now: number): void {
    let missed = this.#instantAfter(state.spec, last);
    if (missed > now) return;
    let count = 1;
    for (let guard = 0; guard < 100_000; guard++) {
      const following = this.#instantAfter(state.spec, missed);
      if (following > now) break;
      missed = following;
      count++;
    }
    if (now - missed > state.spec.startingDeadlineMs) {
      this.#skip(
        state,
        missed,
        'missed',
        `${count} instant${count > 1 ? 's' : ''} missed while the scheduler was down; the latest is past its starting deadline`,
      );
      return;
    }
    if (count > 1)
      this.#report(
        state,
        missed,
        'missed',
        `${count - 1} earlier instant${count > 2 ? 's' : ''} missed while the scheduler was down; only the latest is made up`,
      );
    void this.#dispatch(state, missed, 'catch-up');
  }

  start(): void {
    this.#stopping = false;
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopping || this.#jobs.size === 0) return;
    const now = this.#deps.now();
    const lead = this.#deps.claimLeadMs ?? 1_000;
    let wake = now + MAX_SLEEP_MS;
    for (const state of this.#jobs.values()) {
      const claimAt = state.next - lead;
      wake = Math.min(wake, state.claims.has(state.next) ? state.next : Math.max(claimAt, now));
    }
    this.#timer = this.#deps.timers.setTimeout(() => this.#tick(), Math.max(0, wake - now));
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#stopping) return;
    const now = this.#deps.now();
    const lead = this.#deps.claimLeadMs ?? 1_000;
    for (const state of this.#jobs.values()) {
      // Claim ahead, so that at the instant only the run itself is left to start.
      if (!state.claims.has(state.next) && state.next - lead <= now) {
        const instant = state.next;
        const claim = this.#deps.claim(state.spec, new Date(instant)).catch(() => true);
        state.claims.set(instant, claim);
      }
      if (state.next > now) continue;
      // Due: take the latest due instant; earlier ones (a clock jump forward) are missed.
      let due = state.next;
      let missed = 0;
      for (let following = this.#instantAfter(state.spec, due); following <= now; following = this.#instantAfter(state.spec, due)) {
        due = following;
        missed++;
      }
      state.next = this.#instantAfter(state.spec, Math.max(now, due));
      if (missed > 0)
        this.#report(
          state,
          due,
          'missed',
          `${missed} instant${missed > 1 ? 's' : ''} before it passed unseen (the clock jumped or the process was paused)`,
        );
      if (due <= state.lastHandled) continue;
      const late = now - due;
      const deadline = state.spec.catchUp === 'once' ? state.spec.startingDeadlineMs : Math.min(ON_TIME_MS, state.spec.startingDeadlineMs);
      if (late > deadline) {
        this.#skip(state, due, 'missed', `started ${Math.round(late / 1000)}s late, past its starting deadline`);
        continue;
      }
      void this.#dispatch(state, due, 'schedule');
    }
    this.#arm();
  }

  /** Skips the instant: it is handled, and never considered again. */
  #skip(state: JobState, instant: number, reason: SkipReason, detail: string): void {
    state.lastHandled = Math.max(state.lastHandled, instant);
    void this.#deps.state.markInstant(state.spec.name, new Date(instant)).catch(() => {});
    this.#report(state, instant, reason, detail);
  }

  #report(state: JobState, instant: number, reason: SkipReason, detail: string): void {
    this.#deps.emit({ type: 'run.skip', job: state.spec, instant: new Date(instant).toISOString(), reason, detail });
  }

  async #dispatch(state: JobState, instant: number, trigger: RunRecord['trigger']): Promise<void> {
    if (trigger !== 'manual') {
      state.lastHandled = Math.max(state.lastHandled, instant);
      const claim = state.claims.get(instant) ?? this.#deps.claim(state.spec, new Date(instant)).catch(() => true);
      state.claims.delete(instant);
      if (!(await claim)) {
        this.#deps.emit({
          type: 'run.skip',
          job: state.spec,
          instant: new Date(instant).toISOString(),
          reason: 'claimed-elsewhere',
          detail: 'another scheduler runs this instant',
        });
        return;
      }
      void this.#deps.state.markInstant(state.spec.name, new Date(instant)).catch(() => {});
    }
    const busy = [...state.running].filter((r) => !r.released);
    if (busy.length > 0 || state.waiting > 0) {
      switch (state.spec.overlap) {
        case 'skip':
          this.#report(state, instant, 'overlap', busy[0] ? `run ${busy[0].record.id} is still going` : 'a run is waiting for a free slot');
          return;
        case 'queue':
          if (state.queued) {
            this.#deps.emit({
              type: 'run.skip',
              job: state.spec,
              instant: new Date(instant).toISOString(),
              reason: 'queue-full',
              detail: 'one run is already waiting',
            });
          } else {
            state.queued = { instant, trigger };
          }
          return;
        case 'replace':
          for (const run of busy) this.#stopRun(run, 'replaced');
          await Promise.all(busy.map((r) => r.done));
          break;
        case 'allow':
          break;
      }
    }
    await this.#startWhenFree(state, instant, trigger);
  }

  /** Waits for the lock group and the global cap, up to the starting deadline. */
  async #startWhenFree(state: JobState, instant: number, trigger: RunRecord['trigger']): Promise<void> {
    if (this.#free(state)) {
      this.#reserve(state);
    } else {
      // #release() reserves the slot (and the lock group) for this waiter before waking it.
      state.waiting++;
      await new Promise<void>((resolve) => this.#waiting.push({ job: state, instant, trigger, resolve }));
      state.waiting--;
      if (this.#stopping) return;
      const late = this.#deps.now() - instant;
      if (trigger !== 'manual' && late > state.spec.startingDeadlineMs) {
        this.#deps.emit({
          type: 'run.skip',
          job: state.spec,
          instant: new Date(instant).toISOString(),
          reason: 'deadline',
          detail: `waited ${Math.round(late / 1000)}s for ${state.spec.lock ? `lock ${state.spec.lock} or ` : ''}a free slot`,
        });
        this.#unreserve(state);
        this.#release();
        return;
      }
    }
    this.#begin(state, instant, trigger);
  }

  #reserve(state: JobState): void {
    this.#active++;
    if (state.spec.lock) this.#locks.set(state.spec.lock, RESERVED);
  }

  #unreserve(state: JobState): void {
    this.#active--;
    if (state.spec.lock && this.#locks.get(state.spec.lock) === RESERVED) this.#locks.delete(state.spec.lock);
  }

  #free(state: JobState): boolean {
    if (this.#active >= this.#deps.maxConcurrent) return false;
    return !state.spec.lock || !this.#locks.has(state.spec.lock);
  }

  /** Hands freed capacity to the waiters that can use it, first come first served; on shutdown, wakes them all. */
  #release(): void {
    for (let i = 0; i < this.#waiting.length; ) {
      const waiter = this.#waiting[i]!;
      if (this.#stopping) {
        this.#waiting.splice(i, 1);
        waiter.resolve();
      } else if (this.#free(waiter.job)) {
        this.#waiting.splice(i, 1);
        this.#reserve(waiter.job);
        waiter.resolve();
      } else {
        i++;
      }
    }
  }

  #begin(state: JobState, instant: number, trigger: RunRecord['trigger']): void {
    const { spec } = state;
    const now = this.#deps.now();
    const controller = new AbortController();
    const record: RunRecord = {
      id: this.#deps.newId?.() ?? `${now.toString(36)}-${(++sequence).toString(36)}`,
      job: spec.name,
      instant: new Date(instant).toISOString(),
      trigger,
      startedAt: new Date(now).toISOString(),
      status: 'running',
      delayMs: Math.max(0, now - instant),
    };
    let resolveDone!: () => void;
    const run: ActiveRun = { record, controller, done: new Promise((resolve) => (resolveDone = resolve)), released: false };
    state.running.add(run);
    if (spec.lock) this.#locks.set(spec.lock, run);
    void this.#deps.state.save(record).catch(() => {});
    this.#deps.emit({ type: 'run.start', job: spec, record });

    const runtimeTimer = this.#deps.timers.setTimeout(() => this.#stopRun(run, 'timeout'), spec.maxRuntimeMs);
    const stuckTimer = this.#deps.timers.setTimeout(
      () => {
        if (run.released) return;
        const stuck: RunRecord = {
          ...record,
          status: 'stuck',
          endedAt: new Date(this.#deps.now()).toISOString(),
          summary: 'did not stop after max-runtime and its grace period',
        };
        this.#deps.emit({ type: 'run.stuck', job: spec, record: stuck });
        void this.#deps.state.save(stuck).catch(() => {});
        this.#finish(state, run);
      },
      spec.maxRuntimeMs + (this.#deps.stuckGraceMs ?? 30_000),
    );

    const settle = (outcome: RunOutcome): void => {
      this.#deps.timers.clearTimeout(runtimeTimer);
      this.#deps.timers.clearTimeout(stuckTimer);
      if (run.released) {
        resolveDone();
        return;
      }
      const status: RunStatus =
        run.stopReason === 'timeout'
          ? 'timeout'
          : run.stopReason === 'shutdown' || run.stopReason === 'replaced'
            ? 'interrupted'
            : outcome.ok
              ? 'ok'
              : 'failed';
      const ended: RunRecord = {
        ...record,
        status,
        endedAt: new Date(this.#deps.now()).toISOString(),
        exitCode: outcome.exitCode,
        summary: status === 'timeout' ? `stopped after max-runtime ${Math.round(spec.maxRuntimeMs / 1000)}s: ${outcome.summary}` : outcome.summary,
        ...(status !== 'ok' && outcome.outputTail?.length ? { outputTail: outcome.outputTail.slice(-20) } : {}),
        ...(outcome.figures && Object.keys(outcome.figures).length ? { figures: outcome.figures } : {}),
      };
      const recovered = status === 'ok' && state.lastOk === false;
      state.lastOk = status === 'ok';
      void this.#deps.state.save(ended).catch(() => {});
      this.#deps.emit({ type: 'run.end', job: spec, record: ended, recovered });
      this.#finish(state, run);
      resolveDone();
    };
    this.#deps
      .run({ job: spec, instant: new Date(instant), signal: controller.signal })
      .then(settle, (error: unknown) => settle({ ok: false, exitCode: 1, summary: (error as Error)?.message ?? String(error) }));
  }

  #finish(state: JobState, run: ActiveRun): void {
    if (run.released) return;
    run.released = true;
    state.running.delete(run);
    this.#active--;
    if (state.spec.lock && this.#locks.get(state.spec.lock) === run) this.#locks.delete(state.spec.lock);
    const queued = state.queued;
    state.queued = undefined;
    this.#release();
    if (queued && !this.#stopping) void this.#startWhenFree(state, queued.instant, queued.trigger);
  }

  #stopRun(run: ActiveRun, reason: NonNullable<ActiveRun['stopReason']>): void {
    run.stopReason ??= reason;
    run.controller.abort(
      new Error(
        `run ${run.record.id} ${reason === 'timeout' ? 'exceeded its max-runtime' : reason === 'replaced' ? 'was replaced by a newer run' : 'stopped: the scheduler is shutting down'}`,
      ),
    );
  }

  /** Runs a job now, outside its schedule (still subject to overlap, its lock group and the cap). */
  async runNow(name: string): Promise<void> {
    const state = this.#jobs.get(name);
    if (!state) throw new Error(`no job named ${name}`);
    await this.#dispatch(state, this.#deps.now(), 'manual');
  }

  /** Waits for the runs in progress (for tests and for a clean shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#jobs.values()].flatMap((j) => [...j.running].map((r) => r.done)));
  }

  /**
   * Stops starting runs and stops the running ones (their helpers get SIGTERM, then
   * SIGKILL); waits for them up to `graceMs`. Runs that ended this way are recorded as
   * interrupted; any still going after the grace are left to the process's exit, which
   * their helpers' guards follow.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#release();
    const runs = [...this.#jobs.values()].flatMap((j) => [...j.running]);
    for (const run of runs) this.#stopRun(run, 'shutdown');
    let timer: unknown;
    await Promise.race([
      Promise.all(runs.map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = this.#deps.timers.setTimeout(resolve, graceMs);
      }),
    ]);
    this.#deps.timers.clearTimeout(timer);
  }
}

/** Holds a lock group for a run that is about to begin. */
const RESERVED = { released: true } as unknown as ActiveRun;
