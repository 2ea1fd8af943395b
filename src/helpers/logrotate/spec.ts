/** The logrotate helper as data: one container per target, with the target's volumes and its own state volume. */
import type { HelperRunSpec } from '../../core/helper-spec.js';
import { LABEL_HELPER, LABEL_STATE } from '../../docker/labels.js';
import { STATE_DIR, type RotationMode } from './settings.js';

export const LOGROTATE_IMAGE = 'logrotate';
export const LOGROTATE_HELPER = 'logrotate';

/**
 * It starts as root only to read who owns the matched files and to become that owner
 * (setpriv): SETUID and SETGID are all it keeps, and none survives a switch to a non-root
 * owner (root-owned logs are rotated as root, with those two only).
 */
export const LOGROTATE_CAPABILITIES: readonly string[] = ['SETGID', 'SETUID'];

/** logrotate's state (when each file was last rotated) lives on, per target, in this named volume. */
export function stateVolumeName(container: string): string {
  return `dtool-logrotate-state-${container}`;
}

export interface LogrotateHelperOptions {
  readonly image: string;
  /** The target container's name: its volumes are mounted read-write at their own paths. */
  readonly container: string;
  readonly mode: RotationMode;
  readonly paths: readonly string[];
  /** The generated config (config.ts); an argument, not a secret: it holds nothing secret and must be readable after the switch to the owner. */
  readonly config: string;
  readonly force: boolean;
  readonly timeoutMs?: number;
}

export function logrotateHelperSpec(options: LogrotateHelperOptions): HelperRunSpec {
  return {
    helper: LOGROTATE_HELPER,
    image: options.image,
    command: [
      'dtool-logrotate',
      '--mode',
      options.mode,
      '--state-dir',
      STATE_DIR,
      ...(options.force ? ['--force'] : []),
      ...options.paths.flatMap((p) => ['--path', p]),
      '--config',
      options.config,
    ],
    user: '0:0',
    volumesFrom: [options.container],
    mounts: [
      {
        type: 'volume',
        source: stateVolumeName(options.container),
        target: STATE_DIR,
        readOnly: false,
        labels: { [LABEL_STATE]: 'logrotate', [LABEL_HELPER]: 'logrotate' },
      },
    ],
    network: { mode: 'none' },
    capabilities: LOGROTATE_CAPABILITIES,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
}
