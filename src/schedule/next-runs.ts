/** `dtool schedule next`: a job's coming instants, in UTC and as wall-clock time in its zone. Pure. */
import type { JobSpec } from './job.js';
import { stableJitterMs } from './time.js';

export interface NextRuns {
  readonly job: string;
  readonly tz: string;
  readonly instants: readonly string[];
  /** The same instants, as `YYYY-MM-DD HH:MM:SS` wall-clock time in the job's zone. */
  readonly local: readonly string[];
}

export function localTime(instant: Date, tz: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(instant);
}

export function nextRuns(jobs: readonly JobSpec[], from: Date, count: number): NextRuns[] {
  return jobs.map((job) => {
    const jitter = stableJitterMs(job.name, job.jitterMs);
    const instants: Date[] = [];
    let at = from;
    for (let i = 0; i < count; i++) {
      at = job.schedule.next(at);
      instants.push(new Date(at.getTime() + jitter));
    }
    return {
      job: job.name,
      tz: job.schedule.tz,
      instants: instants.map((d) => d.toISOString()),
      local: instants.map((d) => localTime(d, job.schedule.tz)),
    };
  });
}
