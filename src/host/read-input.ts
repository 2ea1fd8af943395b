import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** Reads a file the user named; a missing or unreadable one is a usage error naming it. */
export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
}
