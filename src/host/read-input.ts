import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';

/** Reads a file the user named; a missing or unreadable one is a usage error naming it. */
export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
}

/**
 * Reads a text file the user named (relative to `cwd`): a missing one is NotFoundError
 * (exit 4), an unreadable one a usage error; both name it as `what`.
 */
export async function readNamedTextFile(path: string, cwd: string, what: string): Promise<{ readonly file: string; readonly text: string }> {
  const file = resolve(cwd, path);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new NotFoundError(`${what} ${file} does not exist`);
    throw new UsageError(`cannot read ${what} ${file}: ${error.message}`, { cause: error });
  });
  return { file, text };
}
