import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, LockedError } from '../../../src/errors.js';
import { acquireLock } from '../../../src/host/lock.js';

let dir: string;
let lockPath: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-lock-'));
  lockPath = join(dir, '.dtool.lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Another process that takes the lock the way dtool does and holds it until killed. */
async function holdInAnotherProcess(path: string): Promise<ChildProcess> {
  const addon = createRequire(import.meta.url).resolve('fs-native-extensions');
  const script = `
    const { tryLock } = require(${JSON.stringify(addon)});
    const fd = require('node:fs').openSync(${JSON.stringify(path)}, 'a+');
    if (!tryLock(fd)) process.exit(3);
    process.stdout.write('locked\\n');
    setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).toBe('locked\n');
  return child;
}

describe('acquireLock', () => {
  it('writes who holds the lock', async () => {
    await using _lock = await acquireLock(lockPath, 'backups of db');
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
  });

  it('refuses a second holder while the lock is held, saying who holds it', async () => {
    await using _held = await acquireLock(lockPath, 'backups of db');
    const second = acquireLock(lockPath, 'backups of db');
    await expect(second).rejects.toBeInstanceOf(LockedError);
    await expect(acquireLock(lockPath, 'backups of db')).rejects.toThrow(
      new RegExp(`^backups of db is locked by another dtool run \\(pid ${process.pid} on `),
    );
    await expect(acquireLock(lockPath, 'backups of db')).rejects.toThrow(expect.objectContaining({ hint: expect.stringContaining('--lock-wait') }));
  });

  it('is free again once disposed; the file stays, naming nobody', async () => {
    {
      await using _held = await acquireLock(lockPath, 'x');
    }
    expect(await readFile(lockPath, 'utf8')).toBe('');
    await using again = await acquireLock(lockPath, 'x');
    expect(again.path).toBe(lockPath);
  });

  it('ignores whatever an old lock file says: only a live holder counts', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: 1, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    await using _lock = await acquireLock(lockPath, 'x');
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(process.pid);
  });

  it('waits for a held lock and takes it as soon as the holder releases it', async () => {
    const held = await acquireLock(lockPath, 'x');
    setTimeout(() => void held[Symbol.asyncDispose](), 200);
    await using second = await acquireLock(lockPath, 'x', { waitMs: 10_000 });
    expect(second.path).toBe(lockPath);
  });

  it('gives up after waitMs, saying how long it waited', async () => {
    await using _held = await acquireLock(lockPath, 'x');
    await expect(acquireLock(lockPath, 'x', { waitMs: 150 })).rejects.toThrow(/locked by another dtool run .*\(waited 0s\)$/);
  });

  it('stops waiting when aborted', async () => {
    await using _held = await acquireLock(lockPath, 'x');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(acquireLock(lockPath, 'x', { waitMs: 60_000, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('is released by the kernel when its holder is killed with SIGKILL', async () => {
    const holder = await holdInAnotherProcess(lockPath);
    await expect(acquireLock(lockPath, 'x')).rejects.toBeInstanceOf(LockedError);
    const waiting = acquireLock(lockPath, 'x', { waitMs: 10_000 });
    holder.kill('SIGKILL');
    await using lock = await waiting;
    expect(lock.path).toBe(lockPath);
  });

  it('passes on errors other than "already locked"', async () => {
    await expect(acquireLock(join(dir, 'missing', '.dtool.lock'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('lockHolder', () => {
  it('names the holder of a held lock, and nobody once it is free', async () => {
    const { lockHolder } = await import('../../../src/host/lock.js');
    expect(await lockHolder(lockPath)).toBeUndefined();
    const held = await acquireLock(lockPath, 'x');
    expect(await lockHolder(lockPath)).toMatchObject({ pid: process.pid, host: hostname() });
    await held[Symbol.asyncDispose]();
    expect(await lockHolder(lockPath)).toBeUndefined();
  });
});
