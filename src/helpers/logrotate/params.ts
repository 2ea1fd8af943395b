/** `dtool logrotate`'s options, validated once at the boundary into a readonly object. */
import { UsageError } from '../../errors.js';
import {
  FREQUENCIES,
  ROTATION_MODES,
  oneOf,
  parseGlobList,
  parseRotate,
  parseSignal,
  parseSize,
  withImpliedMode,
  type RotationOverrides,
  type RotationSettings,
} from './settings.js';

export interface LogrotateParams {
  /** Containers named by --volumes-from: each must exist and run. */
  readonly volumesFrom: readonly string[];
  /** Label selectors: every running container carrying them is a target. */
  readonly labels: readonly string[];
  /** Settings given as options: they win over a target's `dtool.logrotate.*` labels, which win over the defaults. */
  readonly settings: RotationOverrides;
  /** Rotate whether or not a file is due (logrotate --force). */
  readonly force: boolean;
  /** Helpers (one per target) running at once. */
  readonly concurrency: number;
}

/**
 * What the CLI, the scheduler (from YAML or labels) or a library user hands in, unvalidated:
 * plain strings, lists and booleans, none of them required to carry a default.
 */
export interface RawLogrotateOptions {
  readonly volumesFrom?: string | readonly string[];
  readonly label?: string | readonly string[];
  /** Absolute globs; an entry may also hold several, comma-separated. */
  readonly path?: string | readonly string[];
  readonly rotate?: string | number;
  readonly daily?: boolean;
  readonly weekly?: boolean;
  /** daily, weekly or monthly: the same as the flags, for callers that pass one value. */
  readonly frequency?: string;
  readonly size?: string;
  readonly compress?: boolean;
  readonly delaycompress?: boolean;
  readonly mode?: string;
  readonly signal?: string;
  readonly force?: boolean;
  readonly concurrency?: string | number;
}

export const DEFAULT_CONCURRENCY = 4;

/** A list option, given once (a string, as a YAML scalar) or repeated. */
function asList(value: string | readonly string[] | undefined): readonly string[] | undefined {
  return typeof value === 'string' ? [value] : value;
}

/** An option that takes a value: a string (a number is taken as written). */
function asText(value: unknown, flag: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new UsageError(`${flag} expects a value, not ${JSON.stringify(value)}`);
}

/** A flag: true/false, also as the strings a schedule file or label may hold. */
function asFlag(value: unknown, flag: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`${flag} is a flag: true or false, not "${String(value)}"`);
}

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

function parseContainerName(value: string): string {
  if (!CONTAINER_NAME.test(value)) throw new UsageError(`--volumes-from expects a container name or ID, not "${value}"`);
  return value;
}

function parseLabelSelector(value: string): string {
  if (!/^[^=\s,]+(=[^\s,]*)?$/.test(value)) throw new UsageError(`--label expects KEY or KEY=VALUE, not "${value}"`);
  return value;
}

function parseConcurrency(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  const text = String(value).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64) throw new UsageError(`--concurrency expects a whole number from 1 to 64, not "${value}"`);
  return n;
}

function parseSchedule(raw: RawLogrotateOptions): RotationSettings['schedule'] | undefined {
  const frequency = asText(raw.frequency, '--frequency');
  const size = asText(raw.size, '--size');
  const daily = asFlag(raw.daily, '--daily');
  const weekly = asFlag(raw.weekly, '--weekly');
  const chosen = [
    daily ? '--daily' : undefined,
    weekly ? '--weekly' : undefined,
    frequency !== undefined ? `--frequency ${frequency}` : undefined,
    size !== undefined ? '--size' : undefined,
  ].filter((s) => s !== undefined);
  if (chosen.length > 1) throw new UsageError(`choose one of --daily, --weekly and --size, not ${chosen.join(' and ')}`);
  if (daily) return { kind: 'daily' };
  if (weekly) return { kind: 'weekly' };
  if (frequency !== undefined) return { kind: oneOf(frequency, FREQUENCIES, '--frequency') };
  if (size !== undefined) return { kind: 'size', size: parseSize(size, '--size') };
  return undefined;
}

export function parseLogrotateParams(raw: RawLogrotateOptions, _cwd: string): LogrotateParams {
  const volumesFrom = (asList(raw.volumesFrom) ?? []).map(parseContainerName);
  const labels = (asList(raw.label) ?? []).map(parseLabelSelector);
  if (volumesFrom.length === 0 && labels.length === 0)
    throw new UsageError('name at least one target: --volumes-from CONTAINER or --label KEY=VALUE');
  const settings: { -readonly [K in keyof RotationSettings]?: RotationSettings[K] } = {};
  const paths = asList(raw.path);
  if (paths !== undefined) {
    if (paths.length === 0) throw new UsageError('--path expects an absolute glob, e.g. /var/log/app/*.log');
    settings.paths = [...new Set(paths.flatMap((p) => parseGlobList(p, '--path')))];
  }
  if (raw.rotate !== undefined) settings.rotate = parseRotate(raw.rotate, '--rotate');
  const schedule = parseSchedule(raw);
  if (schedule) settings.schedule = schedule;
  const compress = asFlag(raw.compress, '--compress');
  if (compress !== undefined) settings.compress = compress;
  const delaycompress = asFlag(raw.delaycompress, '--delaycompress');
  if (delaycompress !== undefined) settings.delaycompress = delaycompress;
  const mode = asText(raw.mode, '--mode');
  if (mode !== undefined) settings.mode = oneOf(mode, ROTATION_MODES, '--mode');
  const signal = asText(raw.signal, '--signal');
  if (signal !== undefined) settings.signal = parseSignal(signal, '--signal');
  const explicit = withImpliedMode(settings, '--signal applies to --mode signal only, not to --mode copytruncate');
  if (explicit.mode === 'signal' && explicit.compress !== false && explicit.delaycompress === false) {
    throw new UsageError('signal mode with compress needs delaycompress', {
      hint: 'until the signal reaches it, the application still writes into the file just renamed; compressing that file at once would lose those lines',
    });
  }
  return {
    volumesFrom: [...new Set(volumesFrom)],
    labels,
    settings: explicit,
    force: asFlag(raw.force, '--force') ?? false,
    concurrency: parseConcurrency(raw.concurrency),
  };
}
