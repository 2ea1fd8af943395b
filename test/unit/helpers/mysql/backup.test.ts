import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerCreateOptions } from '../../../../src/docker/port.js';
import { DtoolError, PartialFailureError, UsageError, exitCodeFor } from '../../../../src/errors.js';
import { backup, backupReportError, type BackupReport, type TargetReport } from '../../../../src/helpers/mysql/backup.js';
import { parseBackupParams, parseDatabaseList, parsePositiveInt, type RawBackupOptions } from '../../../../src/helpers/mysql/backup-params.js';
import { FakeDocker, fakeDeps, readAll, runningContainer, type ScriptedRun } from '../../../support/fake-docker.js';

const CWD = '/home/ops';
const minimal: RawBackupOptions = { link: ['mariadb-1'], out: '/srv/backups', credentials: '/etc/dtool/my.cnf' };

function usageMessage(raw: RawBackupOptions): string {
  try {
    parseBackupParams(raw, CWD);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`parseBackupParams accepted ${JSON.stringify(raw)}`);
}

describe('parseBackupParams: defaults', () => {
  it('fills in the documented defaults', () => {
    expect(parseBackupParams(minimal, CWD)).toEqual({
      links: [{ container: 'mariadb-1' }],
      labels: [],
      outDir: '/srv/backups',
      credentialsFile: '/etc/dtool/my.cnf',
      engine: 'mariadb-dump',
      compression: 'zstd',
      concurrency: 1,
      retention: { kind: 'none' },
      verify: false,
      lockWaitMs: 0,
    });
  });

  it('reads every option', () => {
    const params = parseBackupParams(
      {
        link: ['mariadb-1:db', 'mariadb-2'],
        label: ['backup=true'],
        out: '/srv/backups',
        credentials: '/etc/dtool/my.cnf',
        databases: 'shop, crm',
        engine: 'mydumper',
        compress: 'gzip',
        concurrency: '3',
        threads: '8',
        keep: '7',
        verify: true,
        timeout: '600',
        lockWait: '30',
      },
      CWD,
    );
    expect(params).toEqual({
      links: [{ container: 'mariadb-1', alias: 'db' }, { container: 'mariadb-2' }],
      labels: ['backup=true'],
      outDir: '/srv/backups',
      credentialsFile: '/etc/dtool/my.cnf',
      databases: ['shop', 'crm'],
      engine: 'mydumper',
      compression: 'gzip',
      concurrency: 3,
      threads: 8,
      retention: { kind: 'keep-last', count: 7 },
      verify: true,
      timeoutMs: 600_000,
      lockWaitMs: 30_000,
    });
  });

  it('accepts --keep-days and a label instead of a link', () => {
    const params = parseBackupParams({ label: ['tier=db'], out: '/b', credentials: '/c', keepDays: '14' }, CWD);
    expect(params.links).toEqual([]);
    expect(params.labels).toEqual(['tier=db']);
    expect(params.retention).toEqual({ kind: 'keep-days', days: 14 });
  });

  it('resolves relative --out and --credentials against the working directory', () => {
    const params = parseBackupParams({ link: ['db'], out: 'backups', credentials: '../secrets/my.cnf' }, CWD);
    expect(params.outDir).toBe('/home/ops/backups');
    expect(params.credentialsFile).toBe('/home/secrets/my.cnf');
  });

  it('reads --fetch as a folder on this machine, relative to the working directory', () => {
    expect(parseBackupParams({ ...minimal, fetch: 'copies' }, CWD).fetchDir).toBe('/home/ops/copies');
    expect(parseBackupParams(minimal, CWD).fetchDir).toBeUndefined();
    expect(usageMessage({ ...minimal, fetch: ' ' })).toBe('--fetch expects a folder on this machine');
  });

  it('accepts numbers as numbers, as a library caller passes them', () => {
    expect(parseBackupParams({ ...minimal, keep: 3, concurrency: 2 }, CWD)).toMatchObject({
      retention: { kind: 'keep-last', count: 3 },
      concurrency: 2,
    });
  });
});

describe('parseBackupParams: faults', () => {
  it('requires a target', () => {
    expect(usageMessage({ out: '/b', credentials: '/c' })).toBe('name at least one target: --link CONTAINER or --label KEY=VALUE');
    expect(usageMessage({ link: [], label: [], out: '/b', credentials: '/c' })).toMatch(/at least one target/);
  });

  it('requires --out and --credentials', () => {
    expect(usageMessage({ link: ['db'], credentials: '/c' })).toBe('--out DIR is required');
    expect(usageMessage({ link: ['db'], out: '', credentials: '/c' })).toBe('--out DIR is required');
    expect(usageMessage({ link: ['db'], out: '/b' })).toBe('--credentials FILE is required');
  });

  it('hints at the credential formats', () => {
    expect(() => parseBackupParams({ link: ['db'], out: '/b' }, CWD)).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/my\.cnf.*dbcreds\.yml/) }),
    );
  });

  it('rejects a bad link or label', () => {
    expect(usageMessage({ ...minimal, link: ['a:b:c'] })).toMatch(/--link expects/);
    expect(usageMessage({ ...minimal, label: ['a b'] })).toMatch(/--label expects/);
  });

  it('rejects an unknown engine or compression, listing the choices', () => {
    expect(usageMessage({ ...minimal, engine: 'mysqldump' })).toBe('--engine must be one of mariadb-dump, mydumper, not "mysqldump"');
    expect(usageMessage({ ...minimal, compress: 'xz' })).toBe('--compress must be one of zstd, gzip, none, not "xz"');
  });

  it('refuses --keep together with --keep-days', () => {
    expect(usageMessage({ ...minimal, keep: '3', keepDays: '7' })).toBe('choose one of --keep and --keep-days');
  });

  it('refuses --threads without --engine mydumper', () => {
    expect(usageMessage({ ...minimal, threads: '4' })).toBe('--threads applies to --engine mydumper only');
    expect(usageMessage({ ...minimal, engine: 'mariadb-dump', threads: '4' })).toMatch(/mydumper only/);
  });

  it.each(['0', '-1', '1.5', 'abc', '', ' ', '1e3', '0x10', '3 days'])('rejects --keep %j as not a whole number', (value) => {
    expect(usageMessage({ ...minimal, keep: value })).toBe(`--keep expects a whole number from 1 to 1000000, not "${value}"`);
  });

  it.each([
    ['concurrency', '--concurrency', '65'],
    ['concurrency', '--concurrency', '0'],
    ['keepDays', '--keep-days', '36501'],
    ['timeout', '--timeout', '-5'],
  ] as const)('rejects %s out of range or negative: %s %s', (key, flag, value) => {
    expect(usageMessage({ ...minimal, [key]: value })).toMatch(new RegExp(`^${flag} expects a whole number from 1 to \\d+, not "${value}"`));
  });

  it('rejects --threads out of range even with mydumper', () => {
    expect(usageMessage({ ...minimal, engine: 'mydumper', threads: '257' })).toBe('--threads expects a whole number from 1 to 256, not "257"');
  });

  it.each(['shop;drop', 'my shop', 'sh`op', "sh'op", 'a/b', '../x', '-x'])('rejects the database name %j', (name) => {
    expect(usageMessage({ ...minimal, databases: `ok,${name}` })).toBe(`invalid database name "${name}": use letters, digits, "_", "$" or "-"`);
  });

  it('rejects an empty database list', () => {
    expect(usageMessage({ ...minimal, databases: ' , ' })).toBe('--databases expects a comma-separated list of names');
  });
});

describe('parsePositiveInt and parseDatabaseList', () => {
  it('returns undefined for an absent value', () => {
    expect(parsePositiveInt(undefined, '--x')).toBeUndefined();
    expect(parseDatabaseList(undefined)).toBeUndefined();
  });

  it('accepts surrounding spaces and the bounds, but not a fractional number', () => {
    expect(parsePositiveInt(' 42 ', '--x')).toBe(42);
    expect(parsePositiveInt('1', '--x', { min: 1, max: 5 })).toBe(1);
    expect(parsePositiveInt('5', '--x', { min: 1, max: 5 })).toBe(5);
    expect(() => parsePositiveInt(2.5, '--x')).toThrow(UsageError);
  });
});

describe('backupReportError', () => {
  const ok = (target: string): TargetReport => ({ target, container: target, status: 'ok', seconds: 1, file: `/b/${target}/x.sql.zst` });
  const failed = (target: string, code: string, message: string, details: string[] = [], hint?: string): TargetReport => ({
    target,
    container: target,
    status: 'failed',
    seconds: 1,
    error: { code, message, ...(hint === undefined ? {} : { hint }), details },
  });
  const report = (...targets: TargetReport[]): BackupReport => ({
    ok: targets.every((t) => t.status === 'ok'),
    startedAt: '2026-11-22T15:30:00.000Z',
    finishedAt: '2026-11-22T15:31:00.000Z',
    targets,
  });

  it('is undefined when no target failed', () => {
    expect(backupReportError(report(ok('a')))).toBeUndefined();
    expect(backupReportError(report(ok('a'), ok('b')))).toBeUndefined();
  });

  it("returns a lone target's own error, so it exits with that error's code", () => {
    const error = backupReportError(report(failed('db', 'CREDENTIALS', 'access denied by db', ['ERROR 1045'])))!;
    expect(error).toBeInstanceOf(DtoolError);
    expect(error.code).toBe('CREDENTIALS');
    expect(error.message).toBe('access denied by db');
    expect(error.details).toEqual(['ERROR 1045']);
    expect(exitCodeFor(error)).toBe(6);
    expect(error.hint).toBeUndefined();
  });

  it("keeps a lone target's hint, so the user still sees what to do", () => {
    const error = backupReportError(report(failed('db', 'LOCKED', 'backups of db are locked', [], 'wait for it to finish')))!;
    expect(error).toMatchObject({ code: 'LOCKED', message: 'backups of db are locked', hint: 'wait for it to finish', details: [] });
    expect(exitCodeFor(error)).toBe(exitCodeFor(new DtoolError('LOCKED', 'x')));
  });

  it('returns a partial failure listing the failed targets when several ran', () => {
    const error = backupReportError(report(ok('a'), failed('b', 'LOCKED', 'locked'), failed('c', 'NO_SPACE', 'full')))!;
    expect(error).toBeInstanceOf(PartialFailureError);
    expect(error.message).toBe('2 of 3 failed: b, c');
    expect((error as PartialFailureError).failed).toEqual(['b', 'c']);
    expect(exitCodeFor(error)).toBe(8);
  });
});

describe('backup: a failed target', () => {
  async function runWith(container?: ReturnType<typeof runningContainer>) {
    const dir = await mkdtemp(join(tmpdir(), 'dtool-backup-'));
    try {
      await writeFile(join(dir, 'my.cnf'), '[client]\nuser=backup\npassword=pw\n');
      const deps = fakeDeps();
      if (container) deps.docker.containers.set('db', container);
      const params = parseBackupParams({ link: ['db'], out: join(dir, 'out'), credentials: join(dir, 'my.cnf') }, dir);
      return { report: await backup(deps, params), deps };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("records the error's hint in its report, and backupReportError passes it on", async () => {
    const { report, deps } = await runWith();
    expect(report.ok).toBe(false);
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]!.error).toEqual({
      code: 'NOT_FOUND',
      message: 'link target db: no such container',
      hint: 'see docker ps for running containers',
      details: [],
    });
    expect(backupReportError(report)).toMatchObject({ code: 'NOT_FOUND', hint: 'see docker ps for running containers' });
    expect(deps.docker.created).toEqual([]);
  });

  it('carries a hint naming the container to start when it is stopped', async () => {
    const { report } = await runWith(runningContainer('db', { running: false, status: 'exited' }));
    expect(report.targets[0]!.error).toMatchObject({ code: 'NOT_FOUND', hint: 'start it first: docker start db' });
    expect(backupReportError(report)!.hint).toBe('start it first: docker start db');
  });
});

describe('backup: one batch helper per network', () => {
  let dir: string;
  let out: string;
  /** Folders (inside the session, e.g. `/out/db1`) that another run holds locked. */
  let lockedElsewhere: Set<string>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dtool-backup-batch-'));
    out = join(dir, 'out');
    await writeFile(join(dir, 'my.cnf'), '[client]\nuser=backup\npassword=pw-9f3\n');
    lockedElsewhere = new Set();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const STAMP = '20261122T153000Z';
  const SHA = 'ab'.repeat(32);

  /** A job's lines in dtool-backup-batch's report. */
  function reportLines(name: string, outcome: { exit: number; bytes?: number; stderr?: string[] }): string {
    const result = outcome.bytes === undefined ? [] : [`${name}\tresult\t${JSON.stringify({ bytes: outcome.bytes, sha256: SHA })}`];
    const stderr = (outcome.stderr ?? []).map((line) => `${name}\tstderr\t${line}`);
    return [...result, ...stderr, `${name}\texit\t${outcome.exit}`, ''].join('\n');
  }

  /** The helper's side of a dump: write `bytes[name]` bytes at each job's --out, through its bind mount. */
  function writeDumps(bytes: Record<string, number>): (options: ContainerCreateOptions, secrets: Readonly<Record<string, string>>) => Promise<void> {
    return async (options, secrets) => {
      const mounts = options.HostConfig.Mounts ?? [];
      for (const line of secrets['jobs.tsv']!.split('\n').filter(Boolean)) {
        const [name, , ...args] = line.split('\t');
        const size = bytes[name!];
        if (size === undefined) continue;
        const inContainer = args[args.indexOf('--out') + 1]!;
        const mount = mounts.find((m) => m.Type === 'bind' && inContainer.startsWith(`${m.Target}/`))!;
        await writeFile(join(mount.Source!, inContainer.slice(mount.Target.length + 1)), 'x'.repeat(size));
      }
    };
  }

  /**
   * dtool-outdir as the outdir session runs it, over the local folder its /out mount names:
   * the engine host's side of every file step, answered as the script answers.
   */
  const plainNames = async (folder: string) => (await readdir(folder)).filter((n) => /^[A-Za-z0-9._-]+$/.test(n));

  function emulateOutdir(docker: FakeDocker): void {
    docker.onExec = async (_id, command, stdin, options) => {
      const mount = options.HostConfig.Mounts!.find((m) => m.Target === '/out')!;
      const local = (path: string) => join(mount.Source!, path.slice('/out'.length));
      const holder = () => Buffer.from('{"pid":77,"host":"other-host","since":"2026-11-22T15:00:00Z"}').toString('base64');
      /** One step, as the script answers it; `input` is the step's stdin. */
      const step = async (
        verb: string,
        dir: string,
        args: readonly string[],
        input: Buffer,
      ): Promise<{ stdout?: string; stderr?: string; exitCode?: number }> => {
        const folder = local(dir);
        switch (verb) {
          case 'list':
            return { stdout: `${JSON.stringify({ files: await plainNames(folder) })}\n` };
          case 'remove':
            for (const name of args) await rm(join(folder, name), { recursive: true, force: true });
            return { stdout: `{"removed":${args.length}}\n` };
          case 'commit': {
            const [temp, final, bytes, manifest] = args;
            const size = (await stat(join(folder, temp!))).size;
            if (size !== Number(bytes)) return { stderr: `dtool-outdir: is ${size} bytes on disk, the helper wrote ${bytes}\n`, exitCode: 13 };
            await rename(join(folder, temp!), join(folder, final!));
            if (manifest === undefined) return { stdout: '{"committed":true}\n' };
            await writeFile(join(folder, manifest), input);
            return { stdout: `${JSON.stringify({ written: true, files: await plainNames(folder) })}\n` };
          }
          case 'manifest':
            await writeFile(join(folder, args[0]!), input);
            return { stdout: `${JSON.stringify({ written: true, files: await plainNames(folder) })}\n` };
          default:
            throw new Error(`dtool-outdir ${verb} is not emulated`);
        }
      };
      const [tool, verb, ...rest] = command;
      expect(tool).toBe('dtool-outdir');
      switch (verb) {
        case 'hold': {
          const [dir, , owner] = rest;
          if (lockedElsewhere.has(dir!)) return { stdout: `{"locked":false,"holder":"${holder()}"}\n`, exitCode: 15 };
          await mkdir(local(dir!), { recursive: true });
          await writeFile(join(local(dir!), '.dtool.lock'), owner!);
          stdin?.resume();
          return { stdout: `${JSON.stringify({ locked: true, files: await plainNames(local(dir!)) })}\n` };
        }
        case 'hold-many': {
          const [, owner, ...dirs] = rest;
          let stdout = '';
          for (const dir of dirs) {
            if (lockedElsewhere.has(dir)) {
              stdout += `${JSON.stringify({ dir, locked: false, holder: holder() })}\n`;
              continue;
            }
            await mkdir(local(dir), { recursive: true });
            await writeFile(join(local(dir), '.dtool.lock'), owner!);
            stdout += `${JSON.stringify({ dir, locked: true, files: await plainNames(local(dir)) })}\n`;
          }
          stdin?.resume();
          return { stdout: `${stdout}{"done":true}\n` };
        }
        case 'batch': {
          let stdout = '';
          const lines = (await readAll(stdin)).toString('utf8').split('\n').filter(Boolean);
          for (const [n, line] of lines.entries()) {
            const words = line.split('\t');
            const input = words.pop()!;
            const [stepVerb, dir, ...args] = words;
            const answer = await step(stepVerb!, dir!, args, input === '-' ? Buffer.alloc(0) : Buffer.from(input, 'base64'));
            const out = answer.stdout?.trim() || 'null';
            stdout += `{"step":${n},"exit":${answer.exitCode ?? 0},"out":${out},"err":"${Buffer.from(answer.stderr ?? '').toString('base64')}"}\n`;
          }
          return { stdout };
        }
        default: {
          const [dir, ...args] = rest;
          return step(verb!, dir!, args, await readAll(stdin));
        }
      }
    };
  }

  /** The outdir session: ready, then idle until removed. */
  const SESSION: ScriptedRun = { stdout: 'dtool-outdir: ready\n', hang: true };

  /** The dump helpers created (the outdir session aside). */
  const dumpHelpers = (docker: FakeDocker) => docker.created.filter((o) => o.Labels['dtool.helper'] === 'mysql-backup');

  async function run(links: string[], containers: ReturnType<typeof runningContainer>[], ...runs: ScriptedRun[]) {
    const docker = new FakeDocker().script(SESSION, ...runs);
    emulateOutdir(docker);
    for (const c of containers) docker.containers.set(c.name, c);
    const deps = fakeDeps({ docker });
    const params = parseBackupParams({ link: links, out, credentials: join(dir, 'my.cnf') }, dir);
    return { report: await backup(deps, params), docker };
  }

  it('dumps the targets of one network in a single helper, then commits each with its manifest', async () => {
    const { report, docker } = await run(['db1', 'db2'], [runningContainer('db1'), runningContainer('db2')], {
      stdout: reportLines('db2', { exit: 0, bytes: 5 }) + reportLines('db1', { exit: 0, bytes: 3 }),
      onStart: writeDumps({ db1: 3, db2: 5 }),
    });
    expect(dumpHelpers(docker)).toHaveLength(1);
    expect(dumpHelpers(docker)[0]).toMatchObject({
      Cmd: ['dtool-backup-batch', '--parallel', '1', '/run/secrets/jobs.tsv'],
      HostConfig: { NetworkMode: 'bridge', Links: ['db1:db1', 'db2:db2'] },
    });
    // The outdir session mounted --out, reached no network, and is gone with the dump helper.
    expect(docker.created[0]).toMatchObject({
      Cmd: ['dtool-outdir', 'serve', '/out'],
      HostConfig: { Mounts: [{ Type: 'bind', Source: out, Target: '/out', ReadOnly: false }], NetworkMode: 'none' },
    });
    expect(docker.removed).toHaveLength(2);
    expect(report.ok).toBe(true);
    expect(report.targets.map((t) => [t.target, t.status, t.bytes, t.sha256, t.file])).toEqual([
      ['db1', 'ok', 3, SHA, join(out, 'db1', `db1-${STAMP}.sql.zst`)],
      ['db2', 'ok', 5, SHA, join(out, 'db2', `db2-${STAMP}.sql.zst`)],
    ]);
    // The dump is renamed into place and proven by its manifest; no temp file; the lock file stays (it names nobody).
    expect((await readdir(join(out, 'db1'))).sort()).toEqual(['.dtool.lock', `db1-${STAMP}.sql.zst`, `db1-${STAMP}.sql.zst.manifest.json`]);
    const manifest = JSON.parse(await readFile(join(out, 'db2', `db2-${STAMP}.sql.zst.manifest.json`), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'dtool-backup/1',
      target: 'db2',
      container: 'db2',
      file: `db2-${STAMP}.sql.zst`,
      bytes: 5,
      sha256: SHA,
    });
    expect(JSON.stringify(docker.created)).not.toContain('pw-9f3');
  });

  it("removes a dead run's temp file and scratch folder once it holds the lock, and says so; nothing else", async () => {
    const target = join(out, 'db1');
    await mkdir(join(target, '.db1-20261101T000000Z.tar.zst.tmp.d'), { recursive: true });
    const leftovers = ['.db1-20261101T000000Z.sql.zst.tmp', '.db1-20261101T000000Z.tar.zst.tmp.d'];
    const kept = ['.db2-20261101T000000Z.sql.zst.tmp', 'notes.tmp', '.db1-notes.tmp'];
    for (const name of [leftovers[0]!, ...kept]) await writeFile(join(target, name), 'old');
    const { report } = await run(['db1'], [runningContainer('db1')], {
      stdout: reportLines('db1', { exit: 0, bytes: 3 }),
      onStart: writeDumps({ db1: 3 }),
    });
    expect(report.targets[0]).toMatchObject({ status: 'ok', removedLeftovers: leftovers });
    expect((await readdir(target)).sort()).toEqual([
      '.db1-notes.tmp',
      '.db2-20261101T000000Z.sql.zst.tmp',
      '.dtool.lock',
      `db1-${STAMP}.sql.zst`,
      `db1-${STAMP}.sql.zst.manifest.json`,
      'notes.tmp',
    ]);
  });

  it('leaves a running backup alone: the target is locked, so nothing is dumped or deleted', async () => {
    const target = join(out, 'db1');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, '.db1-20261101T000000Z.sql.zst.tmp'), 'being written');
    lockedElsewhere.add('/out/db1');
    const { report, docker } = await run(['db1'], [runningContainer('db1')]);
    expect(report.targets[0]).toMatchObject({
      status: 'failed',
      error: {
        code: 'LOCKED',
        message: `backups of db1 in ${target} is locked by another dtool run (pid 77 on other-host since 2026-11-22T15:00:00Z)`,
        hint: 'wait for that run to finish, or give --lock-wait SECONDS',
      },
    });
    expect(dumpHelpers(docker)).toHaveLength(0);
    expect(await readFile(join(target, '.db1-20261101T000000Z.sql.zst.tmp'), 'utf8')).toBe('being written');
  });

  it('locks many targets in one exec: a target locked elsewhere fails alone, the others are backed up', async () => {
    lockedElsewhere.add('/out/db1');
    const { report, docker } = await run(['db1', 'db2'], [runningContainer('db1'), runningContainer('db2')], {
      stdout: reportLines('db2', { exit: 0, bytes: 4 }),
      onStart: writeDumps({ db2: 4 }),
    });
    expect(report.targets.map((t) => [t.target, t.status, t.error?.code])).toEqual([
      ['db1', 'failed', 'LOCKED'],
      ['db2', 'ok', undefined],
    ]);
    expect(report.targets[0]!.error?.message).toContain('is locked by another dtool run (pid 77 on other-host');
    // One exec took both locks, and one more committed db2 with its manifest.
    const execs = docker.calls
      .filter((c) => c.method === 'execStream')
      .map((c) => (c.args[1] as string[]).slice(0, 2).join(' '))
      .filter((command) => command.startsWith('dtool-outdir'));
    expect(execs).toEqual(['dtool-outdir hold-many', 'dtool-outdir batch']);
    expect((await readdir(join(out, 'db2'))).sort()).toEqual(['.dtool.lock', `db2-${STAMP}.sql.zst`, `db2-${STAMP}.sql.zst.manifest.json`]);
  });

  it('runs one helper per network: a link on the bridge, the address on a user network', async () => {
    const cache = runningContainer('cache', { networkMode: 'appnet', networks: [{ name: 'appnet', ipAddress: '10.0.0.9' }] });
    let cacheCnf = '';
    const { report, docker } = await run(
      ['db1', 'cache'],
      [runningContainer('db1'), cache],
      { stdout: reportLines('db1', { exit: 0, bytes: 3 }), onStart: writeDumps({ db1: 3 }) },
      {
        stdout: reportLines('cache', { exit: 0, bytes: 4 }),
        onStart: async (options, secrets) => {
          cacheCnf = secrets['cache.cnf']!;
          await writeDumps({ cache: 4 })(options, secrets);
        },
      },
    );
    expect(dumpHelpers(docker).map((o) => [o.HostConfig.NetworkMode, o.HostConfig.Links])).toEqual([
      ['bridge', ['db1:db1']],
      ['appnet', undefined],
    ]);
    expect(cacheCnf).toContain('host=10.0.0.9\n');
    expect(report.targets.map((t) => [t.target, t.status])).toEqual([
      ['db1', 'ok'],
      ['cache', 'ok'],
    ]);
  });

  it('fails a failed job alone, with the error a lone run would give', async () => {
    const { report } = await run(['db1', 'db2'], [runningContainer('db1'), runningContainer('db2')], {
      stdout:
        reportLines('db1', { exit: 0, bytes: 3 }) + reportLines('db2', { exit: 11, stderr: ['dtool-backup: access denied: ERROR 1045 (28000)'] }),
      onStart: writeDumps({ db1: 3 }),
    });
    expect(report.targets.map((t) => [t.target, t.status])).toEqual([
      ['db1', 'ok'],
      ['db2', 'failed'],
    ]);
    expect(report.targets[1]!.error).toEqual({
      code: 'CREDENTIALS',
      message: 'access denied by db2: dtool-backup: access denied: ERROR 1045 (28000)',
      hint: 'check the user and password in the credentials file',
      details: ['dtool-backup: access denied: ERROR 1045 (28000)'],
    });
    expect(await readdir(join(out, 'db2'))).toEqual(['.dtool.lock']);
    expect(backupReportError(report)).toBeInstanceOf(PartialFailureError);
  });

  it("keeps a lone failed target's code and hint for the exit", async () => {
    const { report } = await run(['db'], [runningContainer('db')], {
      stdout: reportLines('db', { exit: 11, stderr: ['dtool-backup: access denied: ERROR 1045 (28000)'] }),
    });
    const error = backupReportError(report)!;
    expect(error).toMatchObject({ code: 'CREDENTIALS', hint: 'check the user and password in the credentials file' });
    expect(exitCodeFor(error)).toBe(6);
  });

  it('fails a target the report leaves out, and a dump whose size on disk disagrees, removing its temp file', async () => {
    const { report } = await run(['db1', 'db2'], [runningContainer('db1'), runningContainer('db2')], {
      stdout: reportLines('db1', { exit: 0, bytes: 5 }),
      onStart: writeDumps({ db1: 3 }),
    });
    expect(report.targets[0]!.error).toMatchObject({ code: 'VERIFY_FAILED', message: 'dump of db1 is 3 bytes on disk, the helper wrote 5' });
    expect(report.targets[1]!.error).toMatchObject({ code: 'INTERNAL', message: 'the batch helper did not report on db2' });
    expect(await readdir(join(out, 'db1'))).toEqual(['.dtool.lock']);
  });

  it("fails every target with the batch's own error when it exits without reporting", async () => {
    const { report } = await run(['db1', 'db2'], [runningContainer('db1'), runningContainer('db2')], {
      exitCode: 2,
      stderr: 'dtool-backup-batch: bad job name: x y\n',
    });
    for (const target of report.targets) {
      expect(target.error).toMatchObject({
        code: 'HELPER_FAILED',
        message: 'helper mysql-backup exited with code 2: dtool-backup-batch: bad job name: x y',
      });
    }
  });
});
