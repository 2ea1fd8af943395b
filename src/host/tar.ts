/**
 * Small trees of files in and out of containers and build contexts, as tar streams (the
 * archive API's and the build API's format). Files keep their executable bit; ownership
 * is root's, as `docker cp` does; only regular files and folders pass, in either direction,
 * so an archive can never plant a link that points outside its folder.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Pack } from 'tar-stream';
import { UsageError } from '../errors.js';
import { listTree } from './file-tree.js';

/** One thing to put in an archive: a host file or folder, or literal content, under `name`. */
export type ArchiveEntry =
  | { readonly name: string; readonly path: string }
  | { readonly name: string; readonly content: string | Uint8Array; readonly mode?: number };

async function addEntry(archive: Pack, name: string, content: Uint8Array | string, mode: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    archive.entry({ name, mode, uid: 0, gid: 0, mtime: new Date(0) }, Buffer.from(content), (error) => (error ? reject(error) : resolve()));
  });
}

async function addPath(archive: Pack, name: string, path: string): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    archive.entry({ name: `${name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
    for (const file of await listTree(path)) {
      const fileInfo = await stat(join(path, file));
      await addEntry(archive, `${name}/${file.split(sep).join('/')}`, await readFile(join(path, file)), fileInfo.mode & 0o111 ? 0o755 : 0o644);
    }
  } else {
    await addEntry(archive, name, await readFile(path), info.mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * A tar stream of the entries; read errors surface as a stream error. (tar-stream's
 * streams are streamx streams: readable, pipeable, and accepted wherever a Readable is.)
 */
export function packEntries(entries: readonly ArchiveEntry[]): Readable {
  const into: Pack = pack();
  void (async () => {
    try {
      for (const entry of entries) {
        if ('path' in entry) await addPath(into, entry.name, entry.path);
        else await addEntry(into, entry.name, entry.content, entry.mode ?? 0o644);
      }
      into.finalize();
    } catch (error) {
      into.destroy(error as Error);
    }
  })();
  return into as unknown as Readable;
}

/**
 * Extracts an archive-API tar of one path into `dest`, dropping the top component (the
 * path's own name), so `/out` in the container becomes `dest` on the host. With `keepTop`,
 * names are kept: `/usr/bin/tool` becomes `dest/tool`, `/opt/app` becomes `dest/app/…`.
 */
export async function extractArchive(tar: Readable, destination: string, options: { readonly keepTop?: boolean } = {}): Promise<void> {
  const dest = resolve(destination);
  await mkdir(dest, { recursive: true });
  const extraction = extract();
  extraction.on('entry', (header, stream, next) => {
    const done = (error?: unknown) => (error ? extraction.destroy(error as Error) : next());
    const refuse = (message: string) => {
      // The entry's own stream goes down with the extraction: its error is already ours.
      stream.on('error', () => {});
      stream.resume();
      done(new UsageError(message));
    };
    const parts = header.name.split('/').filter(Boolean);
    // A single file (an output path that is a file, not a folder) keeps its own name.
    const name = options.keepTop || (parts.length === 1 && header.type === 'file') ? parts.join('/') : parts.slice(1).join('/');
    const target = normalize(join(dest, name));
    if (name !== '' && !target.startsWith(`${dest}${sep}`)) return refuse(`archive entry ${header.name} points outside its folder`);
    if (header.type === 'directory') {
      stream.resume();
      mkdir(target, { recursive: true }).then(() => done(), done);
    } else if (header.type === 'file') {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        mkdir(dirname(target), { recursive: true })
          .then(() => writeFile(target, Buffer.concat(chunks), { mode: (header.mode ?? 0o644) & 0o111 ? 0o755 : 0o644 }))
          .then(() => done(), done);
      });
      stream.on('error', done);
    } else {
      refuse(`archive entry ${header.name} is a ${header.type}: only files and folders are copied`);
    }
  });
  await pipeline(tar, extraction);
}
