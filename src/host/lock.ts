/**
 * A lock file per backup target directory, so two runs never write the same target at
 * once. Created with O_EXCL; a lock whose process is gone (same host) is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { LockedError } from '../errors.js';

export interface HeldLock extends AsyncDisposable {
  readonly path: string;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner> | null;
    if (typeof owner?.pid !== 'number' || typeof owner.host !== 'string') return undefined;
    return { pid: owner.pid, host: owner.host, since: String(owner.since ?? '?') };
  } catch {
    return undefined;
  }
}

export async function acquireLock(path: string, what: string): Promise<HeldLock> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return { path, [Symbol.asyncDispose]: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readOwner(path);
      const stale = holder !== undefined && holder.host === owner.host && !processAlive(holder.pid);
      if (!stale) {
        throw new LockedError(`${what} is locked by another dtool run${holder ? ` (pid ${holder.pid} on ${holder.host} since ${holder.since})` : ''}`, {
          hint: `wait for it to finish; if no run is active, remove ${path}`,
        });
      }
      await rm(path, { force: true });
    }
  }
  throw new LockedError(`${what} is locked by another dtool run`);
}
