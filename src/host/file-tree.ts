/**
 * The files of a tree and their content hashes: what a build context, an injected input
 * or an artifact holds, compared by content (build cache keys, "unchanged" installs,
 * backup manifests).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Regular files under `dir`, as paths relative to it, sorted (stable hashes and archives). */
export async function listTree(dir: string, skip: (relativePath: string) => boolean = () => false): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((path) => !skip(path))
    .sort();
}

/** sha256 of a file's bytes, hex: what `sha256sum` prints. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a file or a folder's files (relative path, executable bit, bytes), hex. */
export async function hashPath(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  const files = info.isDirectory() ? await listTree(path) : [''];
  for (const file of files) {
    const full = file === '' ? path : join(path, file);
    const mode = (await stat(full)).mode;
    hash.update(`${file}\0${mode & 0o111 ? 'x' : '-'}\0${await fileSha256(full)}\0`);
  }
  return hash.digest('hex');
}
