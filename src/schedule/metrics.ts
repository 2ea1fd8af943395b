/**
 * The scheduler's Prometheus metrics, built only from SchedulerEvents. Each call makes its
 * own Registry (never prom-client's global one), so two schedulers in one process, or two
 * tests, never share counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunRecord, SchedulerEvent } from './scheduler.js';

export interface SchedulerMetrics {
  /** Updates the metrics from one scheduler event. */
  observe(event: SchedulerEvent): void;
  /** The Prometheus text exposition of every metric in this registry. */
  render(): Promise<string>;
  /** The content type that goes with render()'s text. */
  readonly contentType: string;
  /** Counts a container label that did not parse; `origin` says where it was declared. */
  recordLabelError(origin: string): void;
}

const PREFIX = 'dtool_schedule_';
/** Helper runs take seconds to hours. */
const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];
/** Timer wake-up to invocation: normally a few ms; seconds mean a wait for a lock or a slot. */
const DELAY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createSchedulerMetrics(): SchedulerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runs = new Counter({
    name: `${PREFIX}runs_total`,
    help: 'Runs ended, by outcome (ok, failed, timeout, interrupted, stuck).',
    labelNames: ['job', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${PREFIX}run_duration_seconds`,
    help: 'How long runs took, from start to end.',
    labelNames: ['job'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const skipped = new Counter({
    name: `${PREFIX}skipped_total`,
    help: 'Instants not run, by reason.',
    labelNames: ['job', 'reason'] as const,
    registers,
  });
  const figures = new Gauge({
    name: `${PREFIX}job_figure`,
    help: "Figures a job's last run measured (host info: memory, load, disk usage), by name.",
    labelNames: ['job', 'figure'] as const,
    registers,
  });
  const lastSuccess = new Gauge({
    name: `${PREFIX}last_success_timestamp_seconds`,
    help: 'When the last successful run ended (Unix time).',
    labelNames: ['job'] as const,
    registers,
  });
  const failures = new Gauge({
    name: `${PREFIX}consecutive_failures`,
    help: 'Runs that did not succeed since the last one that did.',
    labelNames: ['job'] as const,
    registers,
  });
  const delay = new Histogram({
    name: `${PREFIX}schedule_delay_seconds`,
    help: 'From the scheduled instant to the job being invoked.',
    labelNames: ['job'] as const,
    buckets: DELAY_BUCKETS,
    registers,
  });
  const running = new Gauge({ name: `${PREFIX}running`, help: 'Runs in progress.', labelNames: ['job'] as const, registers });
  const jobs = new Gauge({ name: `${PREFIX}jobs`, help: 'Jobs loaded.', registers });
  const labelErrors = new Counter({
    name: `${PREFIX}label_errors_total`,
    help: 'Container job labels that did not parse.',
    labelNames: ['origin'] as const,
    registers,
  });

  // Run ids rather than a bare inc/dec, so a repeated or missing event cannot drift the gauge.
  const inProgress = new Map<string, Set<string>>();
  const setRunning = (job: string, id: string, active: boolean) => {
    const ids = inProgress.get(job) ?? new Set<string>();
    if (active) ids.add(id);
    else ids.delete(id);
    inProgress.set(job, ids);
    running.set({ job }, ids.size);
  };
  const failureCounts = new Map<string, number>();
  const setFailures = (job: string, count: number) => {
    failureCounts.set(job, count);
    failures.set({ job }, count);
  };
  let loaded = new Set<string>();

  const ended = (record: RunRecord) => {
    runs.inc({ job: record.job, outcome: record.status });
    setRunning(record.job, record.id, false);
  };

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    recordLabelError: (origin) => labelErrors.inc({ origin }),
    observe(event) {
      switch (event.type) {
        case 'run.start':
          setRunning(event.job.name, event.record.id, true);
          delay.observe({ job: event.job.name }, event.record.delayMs / 1000);
          return;
        case 'run.end': {
          const { record } = event;
          ended(record);
          const endedAt = record.endedAt ? Date.parse(record.endedAt) : Number.NaN;
          const seconds = (endedAt - Date.parse(record.startedAt)) / 1000;
          if (Number.isFinite(seconds)) duration.observe({ job: record.job }, Math.max(0, seconds));
          for (const [figure, value] of Object.entries(record.figures ?? {})) figures.set({ job: record.job, figure }, value);
          if (record.status === 'ok') {
            setFailures(record.job, 0);
            if (Number.isFinite(endedAt)) lastSuccess.set({ job: record.job }, endedAt / 1000);
          } else {
            // Interrupted counts too: the scheduler reports the next success after it as a recovery.
            setFailures(record.job, (failureCounts.get(record.job) ?? 0) + 1);
          }
          return;
        }
        case 'run.stuck':
          ended(event.record);
          setFailures(event.record.job, (failureCounts.get(event.record.job) ?? 0) + 1);
          return;
        case 'run.skip':
          skipped.inc({ job: event.job.name, reason: event.reason });
          return;
        case 'jobs.loaded': {
          jobs.set(event.jobs.length);
          const names = new Set(event.jobs.map((j) => j.name));
          for (const name of names) {
            if (loaded.has(name)) continue;
            // Present from the start, so an alert on `consecutive_failures > 0` or `running` sees the job before its first run.
            setFailures(name, failureCounts.get(name) ?? 0);
            running.set({ job: name }, inProgress.get(name)?.size ?? 0);
          }
          // A job removed (say, its container went away) must not keep alerting on stale gauges.
          for (const name of loaded) {
            if (names.has(name)) continue;
            failures.remove({ job: name });
            failureCounts.delete(name);
            lastSuccess.remove({ job: name });
            if (!inProgress.get(name)?.size) {
              running.remove({ job: name });
              inProgress.delete(name);
            }
          }
          loaded = names;
          return;
        }
      }
    },
  };
}
