/**
 * Every fault the backup must survive: a clear error, no final file, nothing left behind,
 * and older backups untouched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerPort } from '../../../../src/docker/port.js';
import { DockerodeAdapter } from '../../../../src/docker/dockerode-adapter.js';
import { backup, parseBackupParams, type BackupReport } from '../../../../src/helpers/mysql/backup.js';
import { sha256File } from '../../../../src/helpers/mysql/manifest.js';
import { ROOT_PASSWORD, TEST_LABEL, dtoolContainers, listFolder, rootCredentials, sql, startMariaDb, tempDir, testDeps } from '../../support.js';

let big: StartedTestContainer;
let bigName: string;
let credentials: string;
let workDir: string;

/** About 300 MB of rows: a dump long enough to interrupt and to observe while it runs. */
const BIG_SQL = `
CREATE DATABASE big;
CREATE TABLE big.t (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(2000)) ENGINE=InnoDB;
USE big;
INSERT INTO t (pad) SELECT REPEAT(MD5(seq), 60) FROM seq_1_to_150000;
`;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function tempFileIn(dir: string): Promise<string | undefined> {
  const files = await listFolder(dir).catch(() => [] as string[]);
  return files.find((f) => f.endsWith('.tmp'));
}

beforeAll(async () => {
  big = await startMariaDb();
  bigName = big.getName().replace(/^\//, '');
  await sql(big, BIG_SQL);
  workDir = await tempDir();
  credentials = await rootCredentials(workDir);
});

afterAll(async () => {
  await big?.stop().catch(() => {});
});

/** Records whether any container was created: some faults must be caught before that. */
function recordingDocker(): { docker: DockerPort; created: { image: string; labels: Record<string, string> }[] } {
  const real = new DockerodeAdapter();
  const created: { image: string; labels: Record<string, string> }[] = [];
  const docker = new Proxy(real, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'createContainer') {
        return async (options: { Image: string; Labels: Record<string, string> }) => {
          created.push({ image: options.Image, labels: options.Labels });
          return value.call(target, options);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { docker, created };
}

describe('backup faults', () => {
  it('a missing link target is an error naming it: no file, no container', async () => {
    const deps = await testDeps();
    const out = join(workDir, 'missing');
    const report = await backup(deps, parseBackupParams({ link: ['no-such-db-container'], out, credentials }, '/'));
    expect(report.ok).toBe(false);
    expect(report.targets[0]!.error).toMatchObject({ code: 'NOT_FOUND' });
    expect(report.targets[0]!.error!.message).toContain('no-such-db-container');
    // With no target to back up, the output folder is not even opened.
    expect(existsSync(out)).toBe(false);
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });

  it('a stopped link target is an error saying it is not running', async () => {
    const id = sh('docker', 'create', '--label', `${TEST_LABEL}=true`, 'debian:bookworm-slim', 'true').trim();
    try {
      const deps = await testDeps();
      const out = join(workDir, 'stopped');
      const report = await backup(deps, parseBackupParams({ link: [`${id}:stopped`], out, credentials }, '/'));
      expect(report.targets[0]!.error).toMatchObject({ code: 'NOT_FOUND' });
      expect(report.targets[0]!.error!.message).toMatch(/not running/);
      expect(existsSync(out)).toBe(false);
    } finally {
      sh('docker', 'rm', '-f', id);
    }
  });

  it('wrong credentials: a credentials error and no file', async () => {
    const deps = await testDeps();
    const out = join(workDir, 'wrong-credentials');
    const wrong = await rootCredentials(await tempDir(), 'not-the-password');
    const report = await backup(deps, parseBackupParams({ link: [`${bigName}:wrongpw`], out, credentials: wrong }, '/'));
    expect(report.targets[0]!.error).toMatchObject({ code: 'CREDENTIALS' });
    expect(report.targets[0]!.error!.message).toMatch(/access denied/i);
    expect(await listFolder(join(out, 'wrongpw'))).toEqual([]);
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });

  it("--out not writable: a usage error naming --out, checked on the engine's host before any dump helper starts", async () => {
    const { docker, created } = recordingDocker();
    const deps = await testDeps({ docker });
    const readOnly = join(workDir, 'read-only');
    await mkdir(readOnly);
    // Root ignores permission bits, so make the directory a read-only mount.
    sh('mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly);
    try {
      await expect(backup(deps, parseBackupParams({ link: [bigName], out: readOnly, credentials }, '/'))).rejects.toMatchObject({
        code: 'USAGE',
        message: `--out ${readOnly} is not writable (Read-only file system)`,
      });
      // Only the outdir session (which checked the folder) ran: no dump helper.
      expect(created.filter((c) => c.labels['dtool.helper'] !== 'mysql-outdir')).toEqual([]);
      expect(await dtoolContainers(deps.docker)).toEqual([]);
    } finally {
      sh('umount', readOnly);
    }
  });

  it('out of disk: a clean no-space failure, the temp file removed', async () => {
    const deps = await testDeps();
    const small = join(workDir, 'small-disk');
    await mkdir(small);
    sh('mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small);
    try {
      const report = await backup(deps, parseBackupParams({ link: [`${bigName}:full`], out: small, credentials, compress: 'none' }, '/'));
      expect(report.targets[0]!.error).toMatchObject({ code: 'NO_SPACE' });
      expect(await listFolder(join(small, 'full'))).toEqual([]);
      expect(await dtoolContainers(deps.docker)).toEqual([]);
    } finally {
      sh('umount', small);
    }
  });

  it('two backups of one target into one folder: the second is refused by the lock, the first is intact', async () => {
    const out = join(workDir, 'concurrent');
    const params = parseBackupParams({ link: [`${bigName}:same`], out, credentials, compress: 'none' }, '/');
    const first = backup(await testDeps(), params);
    await waitFor(() => tempFileIn(join(out, 'same')), 'the first backup to start writing');
    const second = await backup(await testDeps(), params);
    expect(second.targets[0]!.error).toMatchObject({ code: 'LOCKED' });
    const done = await first;
    expect(done.ok).toBe(true);
    const file = done.targets[0]!.file!;
    const manifest = JSON.parse(await readFile(`${file}.manifest.json`, 'utf8'));
    expect(await sha256File(file)).toBe(manifest.sha256);
    expect((await listFolder(join(out, 'same'))).sort()).toEqual([`${file.split('/').pop()}`, `${file.split('/').pop()}.manifest.json`].sort());
  });

  it('the password is in neither docker inspect nor the process list of the helper', async () => {
    const deps = await testDeps();
    const out = join(workDir, 'secrets');
    const running = backup(deps, parseBackupParams({ link: [`${bigName}:secret`], out, credentials, compress: 'none' }, '/'));
    const helperId = await waitFor(async () => {
      const id = sh('docker', 'ps', '-q', '--filter', 'label=dtool.helper=mysql-backup').trim().split('\n')[0];
      return id ? id : undefined;
    }, 'the backup helper to run');
    await waitFor(() => tempFileIn(join(out, 'secret')), 'the dump to start');
    const inspect = sh('docker', 'inspect', helperId);
    const processes = sh('docker', 'top', helperId, '-eo', 'pid,args');
    await running;
    expect(processes).toContain('mariadb-dump');
    for (const fragment of [ROOT_PASSWORD, 'r00t']) {
      expect(inspect).not.toContain(fragment);
      expect(processes).not.toContain(fragment);
    }
    // The secrets arrived through the API onto a private tmpfs: only their names are visible.
    const [details] = JSON.parse(inspect) as {
      HostConfig: { Tmpfs: Record<string, string>; Mounts: { Source: string }[] | null };
      Config: { Env: string[] };
    }[];
    expect(details!.HostConfig.Tmpfs['/run/secrets']).toMatch(/^rw,noexec,nosuid,nodev,size=\d+,mode=0700/);
    expect(details!.Config.Env).toContain('DTOOL_SECRETS=jobs.tsv,secret.cnf');
    expect((details!.HostConfig.Mounts ?? []).map((m) => m.Source).filter((source) => source.includes('dtool-secrets'))).toEqual([]);
  });

  it('server killed mid-dump: no final file, temp removed, older backups intact, a failed report', async () => {
    const out = join(workDir, 'killed');
    const older = await backup(await testDeps(), parseBackupParams({ link: [`${bigName}:victim`], out, credentials, databases: 'mysql' }, '/'));
    expect(older.ok).toBe(true);
    const olderFile = older.targets[0]!.file!;
    const olderSha = await sha256File(olderFile);
    await new Promise((r) => setTimeout(r, 1100)); // a new second, so a new file name

    const deps = await testDeps();
    const running = backup(deps, parseBackupParams({ link: [`${bigName}:victim`], out, credentials, compress: 'none' }, '/'));
    await waitFor(async () => {
      const temp = await tempFileIn(join(out, 'victim'));
      if (!temp) return undefined;
      return (await stat(join(out, 'victim', temp)).catch(() => undefined))?.size ? temp : undefined;
    }, 'the dump to write');
    sh('docker', 'kill', big.getId());
    const report: BackupReport = await running;

    expect(report.ok).toBe(false);
    expect(report.targets[0]!.status).toBe('failed');
    const files = (await listFolder(join(out, 'victim'))).sort();
    expect(files).toEqual([olderFile.split('/').pop()!, `${olderFile.split('/').pop()}.manifest.json`].sort());
    expect(await sha256File(olderFile)).toBe(olderSha);
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });
});
