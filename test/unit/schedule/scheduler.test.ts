/**
 * The scheduler on a fake clock: no wall-clock sleeps. Every run is a promise the test
 * settles by hand, so overlap, locks, the cap, max-runtime and catch-up are exact.
 */
import { describe, expect, it } from 'vitest';
import { checkJob, type JobKindCatalog, type JobSpec, type RawJob } from '../../../src/schedule/job.js';
import {
  Scheduler,
  type RunContext,
  type RunOutcome,
  type RunRecord,
  type SchedulerEvent,
  type StateStore,
} from '../../../src/schedule/scheduler.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const MINUTE = 60_000;

class FakeClock {
  now = T0;
  #timers: { at: number; callback: () => void; id: number }[] = [];
  #ids = 0;
  readonly timers = {
    setTimeout: (callback: () => void, ms: number) => {
      const id = ++this.#ids;
      this.#timers.push({ at: this.now + ms, callback, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    },
  };

  /** Moves time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await flush();
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = Math.max(this.now, due.at);
      due.callback();
    }
    this.now = target;
    await flush();
  }

  /** A jump of the wall clock, with no timer firing on the way. */
  jump(ms: number): void {
    this.now += ms;
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const kinds: JobKindCatalog = { names: ['probe'], check: () => {} };

function job(name: string, raw: Partial<RawJob> = {}): JobSpec {
  const checked = checkJob(name, { schedule: '* * * * *', helper: 'probe', ...raw }, 'test', kinds);
  if (Array.isArray(checked)) throw new Error(JSON.stringify(checked));
  return checked;
}

interface PendingRun {
  readonly context: RunContext;
  readonly finish: (outcome?: Partial<RunOutcome>) => void;
}

function setup(
  options: { maxConcurrent?: number; last?: Record<string, number>; claim?: (job: JobSpec, instant: Date) => boolean; stopOnAbort?: boolean } = {},
) {
  const clock = new FakeClock();
  const events: SchedulerEvent[] = [];
  const runs: PendingRun[] = [];
  const saved: RunRecord[] = [];
  const marks: Record<string, number> = { ...options.last };
  const state: StateStore = {
    lastInstant: (name) => (marks[name] === undefined ? undefined : new Date(marks[name]!)),
    save: async (record) => void saved.push(record),
    markInstant: async (name, instant) => {
      marks[name] = instant.getTime();
    },
  };
  const scheduler = new Scheduler({
    now: () => clock.now,
    timers: clock.timers,
    run: (context) =>
      new Promise<RunOutcome>((resolve) => {
        const finish = (outcome: Partial<RunOutcome> = {}) => resolve({ ok: true, exitCode: 0, summary: 'done', ...outcome });
        runs.push({ context, finish });
        // A well-behaved helper stops when its signal fires.
        if (options.stopOnAbort !== false) context.signal.addEventListener('abort', () => finish({ ok: false, exitCode: 130, summary: 'stopped' }));
      }),
    claim: async (j, instant) => options.claim?.(j, instant) ?? true,
    state,
    emit: (event) => events.push(event),
    maxConcurrent: options.maxConcurrent ?? 10,
    stuckGraceMs: 30_000,
  });
  const ofType = <T extends SchedulerEvent['type']>(type: T) => events.filter((e): e is Extract<SchedulerEvent, { type: T }> => e.type === type);
  const started = () => ofType('run.start').map((e) => `${e.job.name}@${e.record.instant.slice(11, 16)}`);
  return { clock, scheduler, events, runs, saved, marks, ofType, started };
}

describe('Scheduler: instants', () => {
  it('runs each instant once, on time, and records the delay', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('tick', { overlap: 'allow' })]);
    await clock.advance(MINUTE * 3);
    expect(started()).toEqual(['tick@10:01', 'tick@10:02', 'tick@10:03']);
    expect(ofType('run.start').map((e) => e.record.delayMs)).toEqual([0, 0, 0]);
    for (const r of runs) r.finish();
    await clock.advance(0);
    expect(ofType('run.end').map((e) => e.record.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('claims each instant ahead of time, and skips an instant another scheduler claimed', async () => {
    const claimedAt: number[] = [];
    const { clock, scheduler, started, ofType } = setup({
      claim: (_, instant) => {
        claimedAt.push(clock.now - instant.getTime());
        return instant.getTime() !== T0 + 2 * MINUTE;
      },
    });
    scheduler.setJobs([job('tick', { overlap: 'allow' })]);
    await clock.advance(MINUTE * 3);
    expect(started()).toEqual(['tick@10:01', 'tick@10:03']);
    expect(ofType('run.skip').map((e) => e.reason)).toEqual(['claimed-elsewhere']);
    expect(claimedAt.every((lead) => lead === -1000)).toBe(true);
  });
});

describe('Scheduler: overlap', () => {
  it('skip (the default): an instant that finds the last run going is skipped, and says so', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('slow')]);
    await clock.advance(MINUTE * 2);
    expect(started()).toEqual(['slow@10:01']);
    expect(ofType('run.skip')).toMatchObject([{ reason: 'overlap', instant: '2026-11-24T10:02:00.000Z' }]);
    runs[0]!.finish();
    await clock.advance(MINUTE);
    expect(started()).toEqual(['slow@10:01', 'slow@10:03']);
  });

  it('queue: one run waits and starts when the last ends; a second is skipped', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('slow', { overlap: 'queue' })]);
    await clock.advance(MINUTE * 3);
    expect(started()).toEqual(['slow@10:01']);
    expect(ofType('run.skip').map((e) => e.reason)).toEqual(['queue-full']);
    runs[0]!.finish();
    await clock.advance(0);
    expect(started()).toEqual(['slow@10:01', 'slow@10:02']);
  });

  it('replace: the running run is stopped, recorded as interrupted, and the new one starts', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('slow', { overlap: 'replace' })]);
    await clock.advance(MINUTE * 2);
    expect(runs[0]!.context.signal.aborted).toBe(true);
    expect(ofType('run.end').map((e) => e.record.status)).toEqual(['interrupted']);
    expect(started()).toEqual(['slow@10:01', 'slow@10:02']);
  });

  it('allow: runs overlap', async () => {
    const { clock, scheduler, started } = setup();
    scheduler.setJobs([job('slow', { overlap: 'allow' })]);
    await clock.advance(MINUTE * 2);
    expect(started()).toEqual(['slow@10:01', 'slow@10:02']);
  });
});

describe('Scheduler: lock groups and the cap', () => {
  it('never runs two jobs of one lock group at once: the second waits for the first', async () => {
    const { clock, scheduler, runs, started } = setup();
    scheduler.setJobs([job('hourly', { lock: 'repo' }), job('daily', { lock: 'repo' }), job('free')]);
    await clock.advance(MINUTE);
    expect(started()).toEqual(['hourly@10:01', 'free@10:01']);
    runs[0]!.finish();
    await clock.advance(0);
    expect(started()).toEqual(['hourly@10:01', 'free@10:01', 'daily@10:01']);
  });

  it('holds the global cap, starting waiting runs as slots free up', async () => {
    const { clock, scheduler, runs, started, scheduler: s } = setup({ maxConcurrent: 1 });
    scheduler.setJobs([job('a'), job('b')]);
    await clock.advance(MINUTE);
    expect(started()).toEqual(['a@10:01']);
    expect(s.running()).toHaveLength(1);
    runs[0]!.finish();
    await clock.advance(0);
    expect(started()).toEqual(['a@10:01', 'b@10:01']);
  });

  it('skips a waiting run once its starting deadline has passed', async () => {
    const { clock, scheduler, runs, started, ofType } = setup({ maxConcurrent: 1 });
    scheduler.setJobs([job('a', { 'max-runtime': '1h' }), job('b', { 'starting-deadline': '30s', overlap: 'skip' })]);
    await clock.advance(MINUTE);
    await clock.advance(MINUTE);
    runs[0]!.finish();
    await clock.advance(0);
    expect(
      ofType('run.skip')
        .filter((e) => e.job.name === 'b')
        .map((e) => e.reason),
    ).toContain('deadline');
    expect(started().filter((s) => s.startsWith('b'))).toEqual([]);
  });
});

describe('Scheduler: no wedging', () => {
  it('stops a run at max-runtime, records a timeout, and the next instant runs', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('hang', { schedule: '*/5 * * * *', 'max-runtime': '2m' })]);
    await clock.advance(5 * MINUTE);
    await clock.advance(2 * MINUTE);
    expect(runs[0]!.context.signal.aborted).toBe(true);
    expect(ofType('run.end').map((e) => [e.record.status, e.record.summary])).toEqual([['timeout', 'stopped after max-runtime 120s: stopped']]);
    await clock.advance(3 * MINUTE);
    expect(started()).toEqual(['hang@10:05', 'hang@10:10']);
  });

  it('declares a run that ignores its stop stuck, releases its slot, and runs the next instant', async () => {
    const { clock, scheduler, started, ofType } = setup({ stopOnAbort: false });
    scheduler.setJobs([job('wedged', { schedule: '*/5 * * * *', 'max-runtime': '1m' })]);
    await clock.advance(5 * MINUTE);
    await clock.advance(MINUTE + 30_000);
    expect(ofType('run.stuck')).toHaveLength(1);
    await clock.advance(4 * MINUTE);
    expect(started()).toEqual(['wedged@10:05', 'wedged@10:10']);
  });
});

describe('Scheduler: missed instants', () => {
  it('catch-up once (the default): after downtime, the latest missed instant runs once, the rest are reported', async () => {
    const { clock, scheduler, started, ofType } = setup({ last: { nightly: T0 - 3 * 24 * 60 * MINUTE - 7 * 60 * MINUTE } });
    scheduler.setJobs([job('nightly', { schedule: '0 3 * * *', 'starting-deadline': '12h' })]);
    await clock.advance(0);
    expect(started()).toEqual(['nightly@03:00']);
    expect(ofType('run.start')[0]!.record.trigger).toBe('catch-up');
    expect(ofType('run.skip').map((e) => [e.reason, e.detail])).toEqual([
      ['missed', '2 earlier instants missed while the scheduler was down; only the latest is made up'],
    ]);
  });

  it('catch-up once: a missed instant past its starting deadline is reported, not run', async () => {
    const { clock, scheduler, started, ofType } = setup({ last: { nightly: T0 - 2 * 24 * 60 * MINUTE } });
    scheduler.setJobs([job('nightly', { schedule: '0 3 * * *', 'starting-deadline': '1h' })]);
    await clock.advance(0);
    expect(started()).toEqual([]);
    expect(ofType('run.skip').map((e) => e.reason)).toEqual(['missed']);
  });

  it('catch-up none: nothing missed is made up', async () => {
    const { clock, scheduler, started } = setup({ last: { nightly: T0 - 2 * 24 * 60 * MINUTE } });
    scheduler.setJobs([job('nightly', { schedule: '0 3 * * *', 'catch-up': 'none' })]);
    await clock.advance(0);
    expect(started()).toEqual([]);
  });

  it('a clock jump forward never floods: one run for the latest instant, the rest reported', async () => {
    const { clock, scheduler, started, ofType } = setup();
    scheduler.setJobs([job('tick')]);
    clock.jump(10 * MINUTE);
    await clock.advance(0);
    await clock.advance(MINUTE);
    expect(started().slice(0, 1)).toEqual(['tick@10:10']);
    expect(ofType('run.skip')[0]).toMatchObject({ reason: 'missed' });
  });

  it('a clock jump back never repeats an instant', async () => {
    const { clock, scheduler, runs, started } = setup();
    scheduler.setJobs([job('tick', { overlap: 'allow' })]);
    await clock.advance(2 * MINUTE);
    for (const r of runs) r.finish();
    clock.jump(-2 * MINUTE);
    await clock.advance(2 * MINUTE);
    expect(started()).toEqual(['tick@10:01', 'tick@10:02']);
  });
});

describe('Scheduler: run-now and shutdown', () => {
  it('run-now starts the job at once, as a manual run', async () => {
    const { clock, scheduler, ofType } = setup();
    scheduler.setJobs([job('tick')]);
    await scheduler.runNow('tick');
    await clock.advance(0);
    expect(ofType('run.start').map((e) => e.record.trigger)).toEqual(['manual']);
    await expect(scheduler.runNow('nope')).rejects.toThrow('no job named nope');
  });

  it('stop: starts nothing more, stops running runs and records them as interrupted', async () => {
    const { clock, scheduler, runs, started, ofType } = setup();
    scheduler.setJobs([job('tick')]);
    await clock.advance(MINUTE);
    const stopping = scheduler.stop(10_000);
    await clock.advance(0);
    await stopping;
    expect(runs[0]!.context.signal.aborted).toBe(true);
    expect(ofType('run.end').map((e) => e.record.status)).toEqual(['interrupted']);
    await clock.advance(5 * MINUTE);
    expect(started()).toEqual(['tick@10:01']);
  });
});
