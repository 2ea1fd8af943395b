/** Reading a sysctl profile file: every problem at once, as one usage error naming the file and lines. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NotFoundError, UsageError } from '../../errors.js';
import { parseSysctlProfile, type SysctlProfile } from './profile.js';

export async function loadSysctlProfile(path: string, cwd: string): Promise<SysctlProfile> {
  const file = resolve(cwd, path);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new NotFoundError(`profile ${file} does not exist`);
    throw new UsageError(`cannot read profile ${file}: ${error.message}`, { cause: error });
  });
  const { profile, problems } = parseSysctlProfile(text, file);
  if (problems.length > 0 || !profile) {
    throw new UsageError(`${problems.length} problem${problems.length === 1 ? '' : 's'} in profile ${file}`, {
      details: problems.map((p) => `${p.origin}  ${p.key}: ${p.message}`),
    });
  }
  return profile;
}
