/**
 * What a remote engine needs, proven on the local one: the output folder's lock lives on the
 * engine's host (any process there holding flock on TARGET/.dtool.lock blocks a backup),
 * `--fetch` brings the artifact back through the API, and secrets reach helpers through the
 * API onto a tmpfs, never through a file on this machine's disk.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, parseBackupParams } from '../../../../src/helpers/mysql/backup.js';
import { sha256File } from '../../../../src/helpers/mysql/manifest.js';
import { restore } from '../../../../src/helpers/mysql/restore.js';
import { runHelper } from '../../../../src/run/run-helper.js';
import { TEST_LABEL, dtoolContainers, listFolder, rootCredentials, sql, startMariaDb, tableChecksums, tempDir, testDeps } from '../../support.js';

let server: StartedTestContainer;
let serverName: string;
let credentials: string;
let workDir: string;

beforeAll(async () => {
  server = await startMariaDb();
  serverName = server.getName().replace(/^\//, '');
  await sql(
    server,
    'CREATE DATABASE shop; USE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO shop.t SELECT seq, CONCAT("v", seq) FROM seq_1_to_500;',
  );
  workDir = await tempDir();
  credentials = await rootCredentials(workDir);
});

afterAll(async () => {
  await server?.stop().catch(() => {});
});

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Another process on the engine's host, in its own container, holding flock on the target's lock file. */
async function holdLock(targetDir: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  const id = docker(
    'run',
    '-d',
    '--label',
    `${TEST_LABEL}=true`,
    '-v',
    `${targetDir}:/t`,
    'debian:bookworm-slim',
    'bash',
    '-c',
    'exec 9>>/t/.dtool.lock; flock 9; printf \'{"pid":4711,"host":"elsewhere","since":"then"}\' >/t/.dtool.lock; echo held; exec sleep 600',
  );
  for (let i = 0; i < 200 && !docker('logs', id).includes('held'); i++) await new Promise((r) => setTimeout(r, 50));
  return id;
}

describe('the lock on the engine host', () => {
  it('a target locked by another process there fails at once with LOCKED, naming the holder; nothing is written', async () => {
    const out = join(workDir, 'locked');
    const holder = await holdLock(join(out, 'db'));
    try {
      const deps = await testDeps();
      const report = await backup(deps, parseBackupParams({ link: [`${serverName}:db`], out, credentials }, '/'));
      expect(report.targets[0]!.error).toMatchObject({
        code: 'LOCKED',
        message: `backups of db in ${join(out, 'db')} is locked by another dtool run (pid 4711 on elsewhere since then)`,
        hint: 'wait for that run to finish, or give --lock-wait SECONDS',
      });
      expect(await listFolder(join(out, 'db'))).toEqual([]);

      const waited = await backup(deps, parseBackupParams({ link: [`${serverName}:db`], out, credentials, lockWait: '1' }, '/'));
      expect(waited.targets[0]!.error).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/\(waited 1s\)$/) });
      expect(await dtoolContainers(deps.docker)).toEqual([]);
    } finally {
      docker('rm', '-f', holder);
    }
  });

  it('--lock-wait takes the lock once the other holder is gone', async () => {
    const out = join(workDir, 'waiting');
    const holder = await holdLock(join(out, 'db'));
    const deps = await testDeps();
    const running = backup(deps, parseBackupParams({ link: [`${serverName}:db`], out, credentials, lockWait: '120', databases: 'shop' }, '/'));
    await new Promise((r) => setTimeout(r, 1500));
    docker('rm', '-f', holder);
    const report = await running;
    expect(report.targets[0]!.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect((await listFolder(join(out, 'db'))).sort()).toEqual(
      [basename(report.targets[0]!.file!), `${basename(report.targets[0]!.file!)}.manifest.json`].sort(),
    );
  });
});

describe('--fetch', () => {
  it('copies the artifact and its manifest back here, equal by sha256, and the copy restores', async () => {
    const out = join(workDir, 'fetch-out');
    const fetchDir = join(workDir, 'fetched');
    const deps = await testDeps();
    const report = await backup(deps, parseBackupParams({ link: [`${serverName}:db`], out, credentials, databases: 'shop', fetch: fetchDir }, '/'));
    expect(report.targets[0]!.error).toBeUndefined();
    const target = report.targets[0]!;
    const name = basename(target.file!);
    expect(target.fetched).toEqual({ file: join(fetchDir, 'db', name), manifest: join(fetchDir, 'db', `${name}.manifest.json`) });
    expect((await readdir(join(fetchDir, 'db'))).sort()).toEqual([name, `${name}.manifest.json`].sort());
    const manifest = JSON.parse(await readFile(target.fetched!.manifest, 'utf8'));
    expect(await sha256File(target.fetched!.file)).toBe(manifest.sha256);
    expect(manifest.sha256).toBe(target.sha256);
    expect(await readFile(target.fetched!.manifest, 'utf8')).toBe(await readFile(`${target.file}.manifest.json`, 'utf8'));

    const copy = await startMariaDb();
    try {
      await restore(deps, { link: { container: copy.getId() }, from: target.fetched!.file, credentialsFile: credentials, allowUnverified: false });
      expect(await tableChecksums(copy, ['shop'])).toEqual(await tableChecksums(server, ['shop']));
    } finally {
      await copy.stop();
    }
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });
});

describe('secrets through the API', () => {
  it('the helper reads its secret from a private tmpfs; inspect shows no secret file bind and no content; nothing is written here', async () => {
    const deps = await testDeps();
    const { reference: image } = await deps.images.ensure('mysql-tools');
    const content = `secret-${process.pid}-${Date.now()}`;
    const before = new Set(await readdir(tmpdir()));
    let inspected = '';
    const result = await runHelper(
      deps,
      {
        helper: 'secret-probe',
        image,
        user: `${process.getuid!()}:${process.getgid!()}`,
        command: [
          'bash',
          '-c',
          'cat /run/secrets/probe.txt; echo; stat -c "%a %u" /run/secrets/probe.txt /run/secrets; grep " /run/secrets " /proc/mounts; sleep 2',
        ],
        secrets: [{ name: 'probe.txt', content }],
        network: { mode: 'none' },
      },
      {
        onLine: (stream, line) => {
          if (stream === 'stdout' && line === content && !inspected) {
            inspected = docker('ps', '-q', '--filter', 'label=dtool.helper=secret-probe');
            inspected = docker('inspect', inspected);
          }
        },
      },
    );
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(content);
    expect(lines[1]).toBe(`400 ${process.getuid!()}`);
    expect(lines[2]).toBe(`700 ${process.getuid!()}`);
    expect(lines[3]).toMatch(/^tmpfs \/run\/secrets tmpfs rw,nosuid,nodev,noexec,/);

    expect(inspected).not.toBe('');
    expect(inspected).not.toContain(content);
    const [details] = JSON.parse(inspected) as {
      HostConfig: { Binds: string[] | null; Mounts: unknown[] | null; Tmpfs: Record<string, string> };
      Mounts: unknown[];
      Config: { Env: string[] };
    }[];
    expect(details!.HostConfig.Binds ?? []).toEqual([]);
    expect(details!.HostConfig.Mounts ?? []).toEqual([]);
    expect(details!.Mounts.filter((m) => (m as { Type: string }).Type === 'bind')).toEqual([]);
    expect(details!.HostConfig.Tmpfs['/run/secrets']).toMatch(/mode=0700/);
    expect(details!.Config.Env).toContain('DTOOL_SECRETS=probe.txt');

    // Nothing new on this machine's disk holds the secret.
    const added = (await readdir(tmpdir())).filter((name) => !before.has(name));
    expect(added.filter((name) => name.startsWith('dtool-secrets-'))).toEqual([]);
    if (added.length > 0) {
      const grep = spawnSync('grep', ['-rl', '--', content, ...added.map((name) => join(tmpdir(), name))], { encoding: 'utf8' });
      expect(grep.stdout.trim()).toBe('');
    }
  });
});
