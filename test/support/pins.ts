/**
 * What every pinned helper's create options share: the labels of a pinned run (run `run-1`,
 * dtool `1.2.3`, owned by TEST_OWNER) and the guard's stdin wiring. Each family's pin test
 * spells out the rest, so a privilege change is still a visible diff there.
 */
import type { CreateContext } from '../../src/core/to-create-options.js';
import { TEST_OWNER } from './fake-docker.js';

export const PIN_VERSION = '1.2.3';
export const PIN_RUN_ID = 'run-1';

export function pinLabels(helper: string): Record<string, string> {
  return {
    'dtool.managed': PIN_VERSION,
    'dtool.helper': helper,
    'dtool.run-id': PIN_RUN_ID,
    'dtool.owner.host': TEST_OWNER.host,
    'dtool.owner.boot-id': TEST_OWNER.bootId,
    'dtool.owner.pid': String(TEST_OWNER.pid),
    'dtool.owner.start-ticks': TEST_OWNER.startTicks,
  };
}

/** Every helper image runs dtool-guard: stdin held open by dtool, and the guard told to watch it. */
export const GUARDED_ATTACH = {
  AttachStdin: true,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: true,
  StdinOnce: true,
  Env: ['DTOOL_GUARD=stdin'],
} as const;

export function pinContext(grants: CreateContext['grants'] = new Set()): CreateContext {
  return { runId: PIN_RUN_ID, version: PIN_VERSION, grants, privilegedMode: 'flag', owner: TEST_OWNER };
}

/** A helper's secrets: names in the env for dtool-guard, an empty private tmpfs to receive them (1 MiB for small ones). */
export function secretsEnv(...names: string[]): string {
  return `DTOOL_SECRETS=${names.join(',')}`;
}
export function secretsTmpfs(user?: string): string {
  const [uid, gid] = user?.split(':') ?? [];
  return `rw,noexec,nosuid,nodev,size=1048576,mode=0700${uid !== undefined ? `,uid=${uid}` : ''}${gid !== undefined ? `,gid=${gid}` : ''}`;
}
