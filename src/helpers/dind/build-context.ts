/**
 * A build context as the docker CLI sends it: the folder as a tar stream, minus what
 * `.dockerignore` excludes (Docker's own matching rules, from @balena/dockerignore), with
 * the Dockerfile and `.dockerignore` always included, as the CLI does. Streamed from disk,
 * never held in memory.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { Ignore } from '@balena/dockerignore';
import { NotFoundError } from '../../errors.js';

export interface BuildContext {
  readonly dir: string;
  /** The Dockerfile's path inside the context. */
  readonly dockerfile: string;
  readonly dockerfileText: string;
}

export async function readBuildContext(dir: string, dockerfile = 'Dockerfile'): Promise<BuildContext> {
  const dockerfileText = await readFile(join(dir, dockerfile), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new NotFoundError(`no ${dockerfile} in build context ${dir}`);
    throw error;
  });
  return { dir, dockerfile, dockerfileText };
}

export async function packBuildContext(context: BuildContext): Promise<Readable> {
  const [ignoreModule, tar] = await Promise.all([import('@balena/dockerignore'), import('tar-fs')]);
  // A CommonJS module: its factory is `default.default` when loaded as ESM.
  const dockerignore = (ignoreModule.default as unknown as { default: () => Ignore }).default;
  const rules = await readFile(join(context.dir, '.dockerignore'), 'utf8').catch(() => '');
  const ignored = dockerignore().add(rules.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trim().startsWith('#')));
  const alwaysSent = new Set([context.dockerfile, '.dockerignore']);
  return tar.pack(context.dir, {
    ignore: (path) => {
      const name = relative(context.dir, path).split(sep).join('/');
      return name !== '' && !alwaysSent.has(name) && ignored.ignores(name);
    },
    // Owned by root, as the CLI sends it: the builder's COPY keeps what the tar says.
    map: (header) => ({ ...header, uid: 0, gid: 0, uname: 'root', gname: 'root' }),
  }) as unknown as Readable;
}
