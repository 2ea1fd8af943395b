/** Reading a sysctl profile file: every problem at once, as one usage error naming the file and lines. */
import { UsageError } from '../../errors.js';
import { readNamedTextFile } from '../../host/read-input.js';
import { parseSysctlProfile, type SysctlProfile } from './profile.js';

export async function loadSysctlProfile(path: string, cwd: string): Promise<SysctlProfile> {
  const { file, text } = await readNamedTextFile(path, cwd, 'profile');
  const { profile, problems } = parseSysctlProfile(text, file);
  if (problems.length > 0 || !profile) {
    throw new UsageError(`${problems.length} problem${problems.length === 1 ? '' : 's'} in profile ${file}`, {
      details: problems.map((p) => `${p.origin}  ${p.key}: ${p.message}`),
    });
  }
  return profile;
}
