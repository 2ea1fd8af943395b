/**
 * A dtool process that dies leaves nothing behind: SIGKILL of the real CLI in the middle of
 * a backup, on the real engine. The helper stops and goes (guard + AutoRemove), a waiting
 * run takes over the kernel-released lock at once, a temp file that did survive is removed
 * by the next run, and helpers whose owner is gone are swept by the next start.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helperLabels } from '../../../src/docker/labels.js';
import { currentOwner } from '../../../src/host/owner.js';
import { DTOOL_VERSION } from '../../../src/version.js';
import {
  type CliProcess,
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

/** The CLI run to its end: exit code and both outputs. */
async function finished(run: CliProcess) {
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

describe('crash safety of the real CLI', () => {
  let server: StartedTestContainer;
  let locker: Connection;
  let dir: string;
  let credentials: string;
  const link = () => `${server.getName().replace(/^\//, '')}:crashdb`;

  beforeAll(async () => {
    server = await startMariaDb();
    await sql(
      server,
      'CREATE DATABASE shop; USE shop; CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO customers SELECT seq, CONCAT("c", seq) FROM seq_1_to_1000;',
    );
    locker = await connectTo(server);
    dir = await tempDir();
    credentials = await rootCredentials(dir);
  });
  afterAll(async () => {
    await locker?.end();
    await server?.stop();
  });

  it('SIGKILL mid-dump: the helper is gone without any command, and a waiting run takes the lock at once', async () => {
    const out = join(dir, 'out');
    // A table lock held by an independent client makes the dump block, deterministically,
    // for as long as this test wants: run A holds the target's lock all that time.
    await locker.query('LOCK TABLES shop.customers WRITE');
    const first = startDtool(['backup', '--link', link(), '--out', out, '--credentials', credentials]);
    const blocked = await pollUntil(
      () => helpers('mysql-backup'),
      (ids) => ids.length === 1,
      60_000,
    );
    expect(blocked).toHaveLength(1);
    const tempFiles = await pollUntil(
      async () => (await readdir(join(out, 'crashdb')).catch(() => [])).filter((f) => f.endsWith('.tmp')),
      (f) => f.length > 0,
      30_000,
    );
    expect(tempFiles).toHaveLength(1);

    // Run B waits for the target; it can only get it when A is gone.
    const second = startDtool(['backup', '--link', link(), '--out', out, '--credentials', credentials, '--lock-wait', '240', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(second.child.exitCode).toBeNull();

    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // A's helper stops (its stdin closed) and the engine removes it; nobody runs prune.
    const leftOfFirst = await pollUntil(
      () => helpers('mysql-backup').filter((id) => blocked.includes(id)),
      (ids) => ids.length === 0,
      30_000,
    );
    expect(leftOfFirst).toEqual([]);

    await locker.query('UNLOCK TABLES');
    const result = await finished(second);
    // B takes the lock the moment A dies, while A's helper may still be stopping: then B finds
    // A's temp file first, removes it and says so. Either way, none is left behind.
    expect(result.stderr).toMatch(/^(warning: crashdb: removed 1 temp file of an earlier run that did not finish \(\.crashdb-[^)]+\.tmp\)\n)?$/);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; targets: { file: string; removedLeftovers?: string[] }[] };
    expect(report.ok).toBe(true);
    // A's temp file is gone (removed by A's helper as it stopped, or by B); nothing is left but B's backup.
    const files = (await readdir(join(out, 'crashdb'))).sort();
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(files).toEqual(
      ['.dtool.lock', report.targets[0]!.file.split('/').at(-1)!, `${report.targets[0]!.file.split('/').at(-1)!}.manifest.json`].sort(),
    );
    expect(helpers('mysql-backup')).toEqual([]);
  });

  it('a temp file that survived its run (helper killed outright) is removed by the next run, which says so', async () => {
    const out = join(dir, 'out2');
    await locker.query('LOCK TABLES shop.customers WRITE');
    const first = startDtool(['backup', '--link', link(), '--out', out, '--credentials', credentials]);
    const [helper] = await pollUntil(
      () => helpers('mysql-backup'),
      (ids) => ids.length === 1,
      60_000,
    );
    const [temp] = await pollUntil(
      async () => (await readdir(join(out, 'crashdb')).catch(() => [])).filter((f) => f.endsWith('.tmp')),
      (f) => f.length > 0,
      30_000,
    );
    // As if the machine lost power: neither the helper nor dtool gets to clean up. dtool is
    // frozen first, so that it cannot react to its helper's death.
    first.child.kill('SIGSTOP');
    execFileSync('docker', ['kill', '--signal', 'KILL', helper!]);
    first.child.kill('SIGKILL');
    await first.exited;
    await locker.query('UNLOCK TABLES');
    expect(await readdir(join(out, 'crashdb'))).toContain(temp);

    const next = startDtool(['backup', '--link', link(), '--out', out, '--credentials', credentials, '--json']);
    const result = await finished(next);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { targets: { removedLeftovers?: string[] }[] };
    expect(report.targets[0]!.removedLeftovers).toEqual([temp]);
    expect((await readdir(join(out, 'crashdb'))).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it("every start sweeps helpers whose owner is gone, and leaves a live owner's alone", async () => {
    const image =
      (server as unknown as { image?: string }).image ??
      execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', server.getId()], { encoding: 'utf8' }).trim();
    const deadPid = spawn(process.execPath, ['-e', '']).pid!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const me = currentOwner();
    const run = (name: string, owner: typeof me) => {
      const labels = Object.entries({ ...helperLabels('sweep-probe', name, DTOOL_VERSION, owner), [TEST_LABEL]: 'true' }).flatMap(([k, v]) => [
        '--label',
        `${k}=${v}`,
      ]);
      execFileSync('docker', ['run', '-d', '--name', `dtool-sweep-${name}-${process.pid}`, ...labels, '--entrypoint', 'sleep', image, '600']);
    };
    run('orphan', { ...me, pid: deadPid, startTicks: '1' });
    run('alive', me);
    try {
      const result = await finished(startDtool(['prune', '--dry-run']));
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/removed 1 helper container \(dtool-sweep-orphan-\d+\)/);
      expect(helpers('sweep-probe')).toHaveLength(1);
    } finally {
      spawnSync('docker', ['rm', '-f', `dtool-sweep-alive-${process.pid}`, `dtool-sweep-orphan-${process.pid}`], { stdio: 'ignore' });
    }
  });
});
