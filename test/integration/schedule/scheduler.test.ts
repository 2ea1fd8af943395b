/**
 * The real `dtool schedule run`, as a process, against real MariaDB servers on the real
 * engine: jobs from files and labels, two schedulers sharing an engine, a SIGKILLed
 * scheduler, and /metrics. Every wait is bounded; nothing asserts on elapsed time.
 */
import { execFileSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_LABEL,
  connectTo,
  pollUntil,
  rootCredentials,
  sql,
  startDtool,
  startMariaDb,
  tempDir,
  helperContainers as helpers,
} from '../support.js';

/** Polls until `probe` holds, at most `limitMs`. */
const until = async (probe: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> => pollUntil(probe, Boolean, limitMs);
const dtool = startDtool;

const starts = (log: string, job: string): string[] =>
  [...log.matchAll(new RegExp(`job=${job.replace(/\./g, '\\.')} run=\\S+ start instant=(\\S+)`, 'g'))].map((m) => m[1]!);

describe('dtool schedule run', () => {
  let server: StartedTestContainer;
  let name: string;
  let dir: string;
  let credentials: string;
  let locker: Connection;

  beforeAll(async () => {
    server = await startMariaDb();
    name = server.getName().replace(/^\//, '');
    await sql(server, 'CREATE DATABASE shop; USE shop; CREATE TABLE items (id INT PRIMARY KEY); INSERT INTO items SELECT seq FROM seq_1_to_100;');
    locker = await connectTo(server);
    dir = await tempDir();
    credentials = await rootCredentials(dir);
  });
  afterAll(async () => {
    await locker?.end();
    await server?.stop();
    // Claims outlive their runs by design (until their deadline); these tests are done with them.
    const claims = execFileSync('docker', ['ps', '-aq', '--filter', 'label=dtool.claim.job'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (claims.length) execFileSync('docker', ['rm', '-f', ...claims]);
  });

  async function scheduleFile(file: string, job: Record<string, unknown>): Promise<string> {
    const path = join(dir, file);
    await writeFile(path, `${JSON.stringify({ jobs: { tick: { helper: 'backup', seconds: true, 'catch-up': 'none', ...job } } }, null, 2)}\n`);
    return path;
  }

  it('two schedulers on one engine run each instant once between them, and /metrics counts the runs', async () => {
    const out = join(dir, 'twice');
    const file = await scheduleFile('every2s.yaml', { schedule: '@every 2s', with: { link: [`${name}:tick`], out, credentials } });
    const first = dtool(['schedule', 'run', file, '--state-dir', join(dir, 'state-a'), '--no-labels', '--listen', '127.0.0.1:0']);
    const second = dtool(['schedule', 'run', file, '--state-dir', join(dir, 'state-b'), '--no-labels']);
    try {
      expect(await until(() => starts(first.output(), 'tick').length + starts(second.output(), 'tick').length >= 4, 60_000)).toBe(true);
      const endpoint = /health and metrics on (http:\/\/\S+)/.exec(first.output())?.[1];
      expect(endpoint).toBeDefined();
      expect(
        await until(
          async () => /dtool_schedule_runs_total\{job="tick",outcome="ok"\} [1-9]/.test(await (await fetch(`${endpoint}/metrics`)).text()),
          30_000,
        ),
      ).toBe(true);
      expect((await fetch(`${endpoint}/healthz`)).status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      second.child.kill('SIGTERM');
      await Promise.all([first.exited, second.exited]);
    }
    const all = [...starts(first.output(), 'tick'), ...starts(second.output(), 'tick')];
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(new Set(all).size).toBe(all.length);
    expect(`${first.output()}${second.output()}`).toMatch(/reason=claimed-elsewhere/);
    const backups = (await readdir(join(out, 'tick'))).filter((f) => f.endsWith('.sql.zst'));
    expect(backups.length).toBeGreaterThanOrEqual(1);
  });

  it('SIGKILL with a job running leaves no helper, and the restarted scheduler records the run as interrupted', async () => {
    const state = join(dir, 'state-kill');
    const file = await scheduleFile('blocking.yaml', {
      schedule: '@every 2s',
      'max-runtime': '10m',
      with: { link: [`${name}:blocked`], out: join(dir, 'kill'), credentials },
    });
    await locker.query('LOCK TABLES shop.items WRITE');
    const scheduler = dtool(['schedule', 'run', file, '--state-dir', state, '--no-labels']);
    // Killed while its helper is running (blocked on the table lock), not while it is being created.
    const running = () =>
      execFileSync('docker', ['ps', '-q', '--filter', 'label=dtool.helper=mysql-backup', '--filter', 'status=running'], { encoding: 'utf8' }).trim();
    expect(await until(() => running() !== '', 60_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    scheduler.child.kill('SIGKILL');
    await scheduler.exited;
    expect(await until(() => helpers('mysql-backup').length === 0, 30_000)).toBe(true);
    await locker.query('UNLOCK TABLES');

    const status = dtool(['schedule', 'status', '--state-dir', state, '--json']);
    await status.exited;
    const restarted = dtool(['schedule', 'run', file, '--state-dir', state, '--no-labels']);
    try {
      expect(await until(() => /job=tick run=\S+ interrupted/.test(restarted.output()), 30_000)).toBe(true);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
    const after = dtool(['schedule', 'status', '--state-dir', state, '--json']);
    await after.exited;
    const report = JSON.parse(after.output()) as { jobs: { job: string; recent: { status: string }[] }[] };
    expect(report.jobs.find((j) => j.job === 'tick')!.recent.map((r) => r.status)).toContain('interrupted');
  });

  it('picks up a labelled container started after the scheduler, and runs its job', async () => {
    const state = join(dir, 'state-labels');
    const scheduler = dtool(['schedule', 'run', '--state-dir', state]);
    let late: StartedTestContainer | undefined;
    try {
      expect(await until(() => /scheduler running/.test(scheduler.output()), 30_000)).toBe(true);
      late = await startMariaDb({
        labels: {
          'dtool.job.b.schedule': '@every 2s',
          'dtool.job.b.seconds': 'true',
          'dtool.job.b.helper': 'backup',
          'dtool.job.b.catch-up': 'none',
          'dtool.job.b.with.out': join(dir, 'labels'),
          'dtool.job.b.with.credentials': credentials,
        },
      });
      const jobName = `${late.getName().replace(/^\//, '')}.b`;
      expect(await until(() => new RegExp(`job=${jobName.replace(/\./g, '\\.')} run=\\S+ ok`).test(scheduler.output()), 60_000)).toBe(true);
    } finally {
      scheduler.child.kill('SIGTERM');
      await scheduler.exited;
      await late?.stop();
    }
    expect(scheduler.output()).not.toMatch(/LABEL ERROR/);
  });

  it('validate names the file, line, job and field of a bad schedule, and runs nothing', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'jobs:\n  broken:\n    schedule: "0 25 * * *"\n    helper: backup\n    with: { out: /tmp/x }\n');
    const result = dtool(['schedule', 'validate', path]);
    expect((await result.exited).code).toBe(2);
    expect(result.output()).toMatch(/bad\.yaml:2: job broken: schedule \(hour\): invalid schedule "0 25 \* \* \*"/);
    const run = dtool(['schedule', 'run', path, '--state-dir', join(dir, 'never')]);
    expect((await run.exited).code).toBe(2);
  });

  it('labels every helper it runs, so nothing is left of it', () => {
    expect(helpers('mysql-backup')).toEqual([]);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=${TEST_LABEL}`, '--filter', 'status=exited'], { encoding: 'utf8' }).trim()).toBe(
      '',
    );
  });
});
