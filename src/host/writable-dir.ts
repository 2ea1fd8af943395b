import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';

/**
 * Creates `dir` if needed and proves it writable by writing a probe file: permission bits
 * alone do not tell (root ignores them; read-only mounts and immutable dirs do not show).
 */
export async function ensureWritableDir(dir: string, flag: string): Promise<void> {
  const probe = join(dir, `.dtool-probe-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${flag} ${dir} is not writable (${code})`, {
      cause: error,
      hint: 'choose a directory this user can write to',
    });
  } finally {
    // When the directory could not even be created, removing the probe fails too (ENOTDIR).
    await rm(probe, { force: true }).catch(() => {});
  }
}
