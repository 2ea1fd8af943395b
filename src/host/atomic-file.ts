/**
 * Files that matter are written atomically: a temp file in the same directory, fsync, then
 * rename over the final name and fsync the directory, so a crash leaves either the old
 * state or the new one, never half a file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames a file that is already complete and synced, then makes the rename durable. */
export async function commitRename(tempPath: string, finalPath: string): Promise<void> {
  await rename(tempPath, finalPath);
  await fsyncPath(dirname(finalPath));
}

export function tempPathFor(finalPath: string, tag = randomBytes(4).toString('hex')): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${tag}`);
}

/** Writes a temp file beside `finalPath` with `write`, fsyncs it and renames it over; on failure no temp file stays. */
async function replaceAtomically(finalPath: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const tempPath = tempPathFor(finalPath);
  try {
    const handle = await open(tempPath, 'wx', 0o644);
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await commitRename(tempPath, finalPath);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(finalPath: string, content: string | Uint8Array): Promise<void> {
  await replaceAtomically(finalPath, (handle) => handle.writeFile(content));
}

/**
 * Streams `source` into `finalPath` atomically, hashing on the way: a failure (or `signal`)
 * mid-stream leaves no file under the final name and no temp file either.
 */
export async function writeStreamAtomic(
  finalPath: string,
  source: Readable,
  options: { readonly signal?: AbortSignal } = {},
): Promise<{ readonly sha256: string; readonly bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await replaceAtomically(finalPath, (handle) =>
    pipeline(source, hashing, createWriteStream('', { fd: handle.fd, autoClose: false }), ...(options.signal ? [{ signal: options.signal }] : [])),
  );
  return { sha256: hash.digest('hex'), bytes };
}
