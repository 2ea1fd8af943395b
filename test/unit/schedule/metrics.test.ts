/**
 * The scheduler's metrics, fed synthetic events and read back as a scraper would: from the
 * Prometheus text exposition.
 */
import { describe, expect, it } from 'vitest';
import { checkJob, type JobKindCatalog, type JobSpec } from '../../../src/schedule/job.js';
import { createSchedulerMetrics } from '../../../src/schedule/metrics.js';
import type { RunRecord, RunStatus, SchedulerEvent } from '../../../src/schedule/scheduler.js';

const kinds: JobKindCatalog = { names: ['probe'], check: () => {} };

function job(name: string): JobSpec {
  const checked = checkJob(name, { schedule: '* * * * *', helper: 'probe' }, 'test', kinds);
  if (Array.isArray(checked)) throw new Error(JSON.stringify(checked));
  return checked;
}

let ids = 0;
function record(jobName: string, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `run-${++ids}`,
    job: jobName,
    instant: '2026-11-24T10:00:00.000Z',
    trigger: 'schedule',
    startedAt: '2026-11-24T10:00:00.000Z',
    status: 'running',
    delayMs: 3,
    ...fields,
  };
}

/** One run of `spec`: its start event and its end event. */
function run(spec: JobSpec, status: RunStatus, options: { delayMs?: number; seconds?: number; recovered?: boolean } = {}): SchedulerEvent[] {
  const started = record(spec.name, { delayMs: options.delayMs ?? 3 });
  const endedAt = new Date(Date.parse(started.startedAt) + (options.seconds ?? 2) * 1000).toISOString();
  return [
    { type: 'run.start', job: spec, record: started },
    { type: 'run.end', job: spec, record: { ...started, status, endedAt, exitCode: status === 'ok' ? 0 : 1 }, recovered: options.recovered ?? false },
  ];
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the exposition text into samples (label order does not matter). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function scrape(metrics: ReturnType<typeof createSchedulerMetrics>): Promise<Sample[]> {
  return parse(await metrics.render());
}

describe('createSchedulerMetrics', () => {
  it('counts runs by outcome and times them', async () => {
    const metrics = createSchedulerMetrics();
    const a = job('a');
    const b = job('b');
    for (const event of [...run(a, 'ok'), ...run(a, 'ok', { seconds: 40 }), ...run(a, 'failed'), ...run(b, 'timeout'), ...run(b, 'interrupted')])
      metrics.observe(event);

    const text = await metrics.render();
    expect(text).toContain('dtool_schedule_runs_total{job="a",outcome="ok"} 2');
    const samples = parse(text);
    expect(value(samples, 'dtool_schedule_runs_total', { job: 'a', outcome: 'failed' })).toBe(1);
    expect(value(samples, 'dtool_schedule_runs_total', { job: 'b', outcome: 'timeout' })).toBe(1);
    expect(value(samples, 'dtool_schedule_runs_total', { job: 'b', outcome: 'interrupted' })).toBe(1);
    expect(value(samples, 'dtool_schedule_run_duration_seconds_count', { job: 'a' })).toBe(3);
    expect(value(samples, 'dtool_schedule_run_duration_seconds_sum', { job: 'a' })).toBe(44);
    expect(value(samples, 'dtool_schedule_run_duration_seconds_bucket', { job: 'a', le: '30' })).toBe(2);
  });

  it('records the schedule delay in a histogram fine enough for milliseconds', async () => {
    const metrics = createSchedulerMetrics();
    const a = job('a');
    for (const event of [...run(a, 'ok', { delayMs: 0 }), ...run(a, 'ok', { delayMs: 3 }), ...run(a, 'ok', { delayMs: 1500 })])
      metrics.observe(event);

    const samples = await scrape(metrics);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_count', { job: 'a' })).toBe(3);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_sum', { job: 'a' })).toBeCloseTo(1.503);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_bucket', { job: 'a', le: '0.001' })).toBe(1);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_bucket', { job: 'a', le: '0.005' })).toBe(2);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_bucket', { job: 'a', le: '1' })).toBe(2);
    expect(value(samples, 'dtool_schedule_schedule_delay_seconds_bucket', { job: 'a', le: '2.5' })).toBe(3);
  });

  it('tracks consecutive failures and the last success', async () => {
    const metrics = createSchedulerMetrics();
    const a = job('a');
    const failures = async () => value(await scrape(metrics), 'dtool_schedule_consecutive_failures', { job: 'a' });

    for (const event of run(a, 'ok', { seconds: 5 })) metrics.observe(event);
    expect(await failures()).toBe(0);
    expect(value(await scrape(metrics), 'dtool_schedule_last_success_timestamp_seconds', { job: 'a' })).toBe(
      Date.parse('2026-11-24T10:00:05Z') / 1000,
    );

    for (const event of [...run(a, 'failed'), ...run(a, 'timeout')]) metrics.observe(event);
    const stuck = record('a', { status: 'stuck', endedAt: '2026-11-24T11:00:00.000Z' });
    metrics.observe({ type: 'run.start', job: a, record: { ...stuck, status: 'running' } });
    metrics.observe({ type: 'run.stuck', job: a, record: stuck });
    expect(await failures()).toBe(3);
    expect(value(await scrape(metrics), 'dtool_schedule_runs_total', { job: 'a', outcome: 'stuck' })).toBe(1);

    for (const event of run(a, 'ok', { recovered: true })) metrics.observe(event);
    expect(await failures()).toBe(0);
  });

  it('counts skips by reason', async () => {
    const metrics = createSchedulerMetrics();
    const a = job('a');
    const skip = (reason: 'overlap' | 'deadline'): SchedulerEvent => ({
      type: 'run.skip',
      job: a,
      instant: '2026-11-24T10:00:00.000Z',
      reason,
      detail: 'test',
    });
    for (const event of [skip('overlap'), skip('overlap'), skip('deadline')]) metrics.observe(event);

    const samples = await scrape(metrics);
    expect(value(samples, 'dtool_schedule_skipped_total', { job: 'a', reason: 'overlap' })).toBe(2);
    expect(value(samples, 'dtool_schedule_skipped_total', { job: 'a', reason: 'deadline' })).toBe(1);
  });

  it('shows runs in progress and the jobs loaded; drops the gauges of a removed job', async () => {
    const metrics = createSchedulerMetrics();
    const a = job('a');
    const b = job('b');
    metrics.observe({ type: 'jobs.loaded', jobs: [a, b] });
    let samples = await scrape(metrics);
    expect(value(samples, 'dtool_schedule_jobs')).toBe(2);
    expect(value(samples, 'dtool_schedule_running', { job: 'b' })).toBe(0);
    expect(value(samples, 'dtool_schedule_consecutive_failures', { job: 'b' })).toBe(0);

    const [startA1, endA1] = run(a, 'ok');
    const [startA2] = run(a, 'ok');
    metrics.observe(startA1!);
    metrics.observe(startA2!);
    expect(value(await scrape(metrics), 'dtool_schedule_running', { job: 'a' })).toBe(2);
    metrics.observe(endA1!);
    metrics.observe(endA1!);
    expect(value(await scrape(metrics), 'dtool_schedule_running', { job: 'a' })).toBe(1);

    for (const event of run(b, 'failed')) metrics.observe(event);
    metrics.observe({ type: 'jobs.loaded', jobs: [a] });
    samples = await scrape(metrics);
    expect(value(samples, 'dtool_schedule_jobs')).toBe(1);
    expect(value(samples, 'dtool_schedule_consecutive_failures', { job: 'b' })).toBeUndefined();
    expect(value(samples, 'dtool_schedule_running', { job: 'b' })).toBeUndefined();
    expect(value(samples, 'dtool_schedule_runs_total', { job: 'b', outcome: 'failed' })).toBe(1);
  });

  it('counts label errors by origin', async () => {
    const metrics = createSchedulerMetrics();
    metrics.recordLabelError('label on web-1');
    metrics.recordLabelError('label on web-1');
    metrics.recordLabelError('label on db');

    const samples = await scrape(metrics);
    expect(value(samples, 'dtool_schedule_label_errors_total', { origin: 'label on web-1' })).toBe(2);
    expect(value(samples, 'dtool_schedule_label_errors_total', { origin: 'label on db' })).toBe(1);
  });

  it('has its own registry, with the process metrics, and the Prometheus content type', async () => {
    const one = createSchedulerMetrics();
    const two = createSchedulerMetrics();
    one.recordLabelError('x');

    expect(value(await scrape(two), 'dtool_schedule_label_errors_total', { origin: 'x' })).toBeUndefined();
    const samples = await scrape(one);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(one.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('job figures', () => {
  it("exposes the figures a job's run measured, by job and figure, the last value winning", async () => {
    const metrics = createSchedulerMetrics();
    const spec = job('host-watch');
    for (const load1 of [0.5, 1.25]) {
      const started = record(spec.name);
      metrics.observe({
        type: 'run.end',
        job: spec,
        record: { ...started, status: 'ok', endedAt: started.startedAt, exitCode: 0, figures: { load1, 'disk_used_bytes:/srv': 1024 } },
        recovered: false,
      });
    }
    const text = await metrics.render();
    expect(text).toContain('dtool_schedule_job_figure{job="host-watch",figure="load1"} 1.25');
    expect(text).toContain('dtool_schedule_job_figure{job="host-watch",figure="disk_used_bytes:/srv"} 1024');
  });
});
