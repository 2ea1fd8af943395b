import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockedError } from '../../../src/errors.js';
import { acquireLock } from '../../../src/host/lock.js';

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-lock-'));
  lockPath = join(dir, '.dtool.lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) => stat(path).then(() => true, () => false);

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
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
    await expect(acquireLock(lockPath, 'backups of db')).rejects.toThrow(expect.objectContaining({ hint: expect.stringContaining(lockPath) }));
  });

  it('is free again once disposed', async () => {
    {
      await using _held = await acquireLock(lockPath, 'x');
      expect(await exists(lockPath)).toBe(true);
    }
    expect(await exists(lockPath)).toBe(false);
    await using again = await acquireLock(lockPath, 'x');
    expect(again.path).toBe(lockPath);
  });

  it('takes over a stale lock whose process is gone on this host', async () => {
    const pid = deadPid();
    await writeFile(lockPath, JSON.stringify({ pid, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    await using _lock = await acquireLock(lockPath, 'x');
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(process.pid);
  });

  it('does not take over a lock held from another host, whose process it cannot check', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, since: '2026-01-01T00:00:00Z' }));
    await expect(acquireLock(lockPath, 'x')).rejects.toBeInstanceOf(LockedError);
    expect(await exists(lockPath)).toBe(true);
  });

  it.each(['', 'garbage', '{"pid":', '[]', '42'])('treats unreadable lock content %j as held', async (content) => {
    await writeFile(lockPath, content);
    await expect(acquireLock(lockPath, 'x')).rejects.toBeInstanceOf(LockedError);
    await expect(acquireLock(lockPath, 'x')).rejects.toThrow(/^x is locked by another dtool run/);
    expect(await readFile(lockPath, 'utf8')).toBe(content);
  });

  // JSON that parses but is no owner record (null, wrong field types) must not crash on
  // `holder.host` (a TypeError, exit 1): it is treated as held, like unreadable content.
  it.each(['null', '{}', '{"pid":"1","host":"h"}', '{"pid":1}', '{"pid":1,"host":null}', '"str"', 'true'])(
    'treats a lock file holding non-owner JSON %j as held',
    async (content) => {
      await writeFile(lockPath, content);
      await expect(acquireLock(lockPath, 'x')).rejects.toBeInstanceOf(LockedError);
      await expect(acquireLock(lockPath, 'x')).rejects.toThrow(/^x is locked by another dtool run$/);
      expect(await readFile(lockPath, 'utf8')).toBe(content);
    },
  );

  it('does not take over a lock whose pid is not a number, even naming this host', async () => {
    const content = JSON.stringify({ pid: String(deadPid()), host: hostname(), since: '2026-01-01T00:00:00Z' });
    await writeFile(lockPath, content);
    await expect(acquireLock(lockPath, 'x')).rejects.toBeInstanceOf(LockedError);
    expect(await readFile(lockPath, 'utf8')).toBe(content);
  });

  it('passes on errors other than "already locked"', async () => {
    await expect(acquireLock(join(dir, 'missing', '.dtool.lock'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
