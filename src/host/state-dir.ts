import { homedir } from 'node:os';
import { join } from 'node:path';

/** Root keeps state in /var/lib/dtool/PART, everyone else under their own home (XDG). */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, part: string): string {
  if (process.getuid?.() === 0) return join('/var/lib/dtool', part);
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'dtool', part);
}
