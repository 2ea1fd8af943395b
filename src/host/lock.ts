/**
 * A lock that the kernel releases: an exclusive open-file-description lock (Linux
 * F_OFD_SETLK, flock elsewhere) on a lock file, taken through fs-native-extensions. When
 * the holder dies, SIGKILL and OOM included, the kernel drops the lock with its last open
 * descriptor, so nobody guesses from a pid whether the holder still runs, and there is no
 * takeover race. The same call serves any scope: a backup target's folder, or a host-wide
 * name for the scheduler.
 *
 * The file is never deleted (removing it would let a waiter lock a name nobody else sees);
 * while held it names its holder, for the error a second run gets.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { tryLock } from 'fs-native-extensions';
import { AbortedError, LockedError } from '../errors.js';

export interface HeldLock extends AsyncDisposable {
  readonly path: string;
}

export interface LockOptions {
  /** How long to wait for a held lock before failing; 0 (the default) fails at once. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

/** How often a waiting run tries again: short, since the holder's death frees the lock at once. */
const RETRY_MS = 50;

interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

async function describeHolder(path: string): Promise<string> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder> | null;
    if (typeof holder?.pid === 'number' && typeof holder.host === 'string') {
      return ` (pid ${holder.pid} on ${holder.host} since ${String(holder.since ?? '?')})`;
    }
  } catch {
    // Written a moment after the lock is taken: an empty or partial file just names nobody.
  }
  return '';
}

/** Who holds the lock at `path` right now, or undefined when nobody does (or there is no such file). */
export async function lockHolder(path: string): Promise<{ pid?: number; host?: string; since?: string } | undefined> {
  let handle: FileHandle;
  try {
    // Writable: an exclusive lock, even a probing one, needs a descriptor open for writing.
    handle = await open(path, 'r+');
  } catch {
    return undefined;
  }
  try {
    if (tryLock(handle.fd)) return undefined;
    try {
      const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder> | null;
      return {
        ...(typeof holder?.pid === 'number' ? { pid: holder.pid } : {}),
        ...(typeof holder?.host === 'string' ? { host: holder.host } : {}),
        ...(holder?.since ? { since: String(holder.since) } : {}),
      };
    } catch {
      return {};
    }
  } finally {
    // Closing drops the probe's own lock, if it got one.
    await handle.close();
  }
}

async function release(handle: FileHandle): Promise<void> {
  try {
    await handle.truncate(0);
  } finally {
    // Closing the last descriptor is what releases the lock.
    await handle.close();
  }
}

export async function acquireLock(path: string, what: string, options: LockOptions = {}): Promise<HeldLock> {
  const handle = await open(path, 'a+', 0o644);
  try {
    const deadline = Date.now() + (options.waitMs ?? 0);
    while (!tryLock(handle.fd)) {
      if (options.signal?.aborted) throw new AbortedError(`interrupted while waiting for the lock on ${what}`);
      if (Date.now() >= deadline) {
        const waited = options.waitMs ? ` (waited ${Math.round(options.waitMs / 1000)}s)` : '';
        throw new LockedError(`${what} is locked by another dtool run${await describeHolder(path)}${waited}`, {
          hint: options.waitMs
            ? 'that run is still going; wait longer, or let it finish'
            : 'wait for that run to finish, or give --lock-wait SECONDS',
        });
      }
      await sleep(RETRY_MS);
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    await handle.truncate(0);
    await handle.write(JSON.stringify(holder), 0);
    return { path, [Symbol.asyncDispose]: () => release(handle) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
