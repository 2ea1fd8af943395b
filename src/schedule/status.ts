/** `dtool schedule status`: read from the state folder, without its lock, so it works while a scheduler runs. */
import { lockHolder } from '../host/lock.js';
import { join } from 'node:path';
import type { RunRecord } from './scheduler.js';
import { readJobStates, readSnapshot, type SchedulerSnapshot } from './state.js';

export interface JobStatus {
  readonly job: string;
  readonly schedule?: string;
  readonly tz?: string;
  readonly next?: string;
  readonly lastInstant?: string;
  readonly last?: RunRecord;
  readonly lastSuccess?: string;
  readonly consecutiveFailures: number;
  readonly recent: readonly RunRecord[];
}

export interface ScheduleStatus {
  readonly stateDir: string;
  /** The scheduler holding the folder, if one runs. */
  readonly scheduler?: { readonly pid?: number; readonly host?: string; readonly since?: string; readonly endpoint?: string };
  readonly snapshot?: SchedulerSnapshot;
  readonly jobs: readonly JobStatus[];
  readonly problems: readonly string[];
}

export async function scheduleStatus(stateDir: string): Promise<ScheduleStatus> {
  const [states, snapshot, holder] = await Promise.all([readJobStates(stateDir), readSnapshot(stateDir), lockHolder(join(stateDir, '.lock'))]);
  const names = new Set([...(snapshot?.jobs.map((j) => j.name) ?? []), ...states.map((s) => s.job)]);
  const jobs = [...names].sort().map((name): JobStatus => {
    const state = states.find((s) => s.job === name);
    const declared = snapshot?.jobs.find((j) => j.name === name);
    const history = state?.history ?? [];
    const finished = history.filter((r) => r.status !== 'running');
    let consecutiveFailures = 0;
    for (const record of [...finished].reverse()) {
      if (record.status === 'ok') break;
      consecutiveFailures++;
    }
    return {
      job: name,
      ...(declared ? { schedule: declared.schedule, tz: declared.tz, ...(holder && declared.next ? { next: declared.next } : {}) } : {}),
      ...(state?.lastInstant ? { lastInstant: state.lastInstant } : {}),
      ...(history.length ? { last: history.at(-1)! } : {}),
      ...(finished.findLast((r) => r.status === 'ok') ? { lastSuccess: finished.findLast((r) => r.status === 'ok')!.endedAt! } : {}),
      consecutiveFailures,
      recent: history.slice(-5),
    };
  });
  return {
    stateDir,
    ...(holder ? { scheduler: { ...holder, ...(snapshot?.endpoint ? { endpoint: snapshot.endpoint } : {}) } } : {}),
    ...(snapshot ? { snapshot } : {}),
    jobs,
    problems: snapshot?.problems ?? [],
  };
}

export function renderScheduleStatus(status: ScheduleStatus): string {
  const lines = [
    status.scheduler
      ? `scheduler: pid ${status.scheduler.pid} on ${status.scheduler.host} since ${status.scheduler.since}${status.scheduler.endpoint ? `, metrics on ${status.scheduler.endpoint}/metrics` : ''}`
      : `scheduler: none running on ${status.stateDir}`,
  ];
  const rows = [['JOB', 'SCHEDULE', 'NEXT', 'LAST', 'STATUS', 'FAILURES IN A ROW']];
  for (const job of status.jobs) {
    rows.push([
      job.job,
      job.schedule ? `${job.schedule} (${job.tz})` : '-',
      job.next ?? '-',
      job.last?.instant ?? '-',
      job.last?.status ?? '-',
      String(job.consecutiveFailures),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  for (const problem of status.problems) lines.push(`problem: ${problem}`);
  return `${lines.join('\n')}\n`;
}
