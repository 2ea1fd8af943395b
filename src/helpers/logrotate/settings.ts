/**
 * What a rotation does, as plain data: which files, how many rotations are kept, when a file
 * is due, compression, and how the application lets go of its file (a signal dtool sends,
 * or copytruncate). Settings come from options, then from the target's `dtool.logrotate.*`
 * labels, then from the defaults; everything here is pure and validates strictly, because
 * each value ends up in a logrotate config file.
 */
import { UsageError } from '../../errors.js';

export type RotationMode = 'signal' | 'copytruncate';
export const ROTATION_MODES: readonly RotationMode[] = ['signal', 'copytruncate'];
export type Frequency = 'daily' | 'weekly' | 'monthly';
export const FREQUENCIES: readonly Frequency[] = ['daily', 'weekly', 'monthly'];
/** When a file is due: by age (across runs, through the state volume) or by size alone. */
export type Schedule = { readonly kind: Frequency } | { readonly kind: 'size'; readonly size: string };

export interface RotationSettings {
  /** Absolute globs, as the target sees its files (the helper mounts its volumes at the same paths). */
  readonly paths: readonly string[];
  readonly rotate: number;
  readonly schedule: Schedule;
  readonly compress: boolean;
  /** Compress a rotated file one rotation later (logrotate's delaycompress). */
  readonly delaycompress: boolean;
  readonly mode: RotationMode;
  /** Signal mode only: what dtool sends the target's main process after a rotation, e.g. SIGHUP. */
  readonly signal?: string;
}

/** The settings one source (options, or a container's labels) names; the rest come from elsewhere. */
export type RotationOverrides = { readonly [K in keyof RotationSettings]?: RotationSettings[K] };

/** The seed's rotation: every `*log` file one folder below /var/log, seven days kept, compressed a day late. */
export const DEFAULT_SETTINGS = {
  paths: ['/var/log/*/*log'],
  rotate: 7,
  schedule: { kind: 'daily' },
  compress: true,
  delaycompress: true,
  signal: 'SIGHUP',
} as const satisfies Omit<RotationSettings, 'mode'>;

/** Signals that ask an application to reopen its logs; the others would stop or disturb it. */
export const REOPEN_SIGNALS: readonly string[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'];

/** Where Docker's json-file logs live; the engine keeps them open, so they are never rotated here. */
export const DOCKER_CONTAINERS_DIR = '/var/lib/docker/containers';

export const LABEL_PREFIX = 'dtool.logrotate.';
export const LABELS = {
  path: `${LABEL_PREFIX}path`,
  signal: `${LABEL_PREFIX}signal`,
  mode: `${LABEL_PREFIX}mode`,
  rotate: `${LABEL_PREFIX}rotate`,
  size: `${LABEL_PREFIX}size`,
  frequency: `${LABEL_PREFIX}frequency`,
  compress: `${LABEL_PREFIX}compress`,
  delaycompress: `${LABEL_PREFIX}delaycompress`,
} as const;

const GLOB_CHARS = /^\/[A-Za-z0-9._@%+=:~*?[\]/-]+$/;
const GLOB_META = /[*?[]/;

/** The folder components of a path or glob, without empty ones: `/var/log/x` → [var, log, x]. */
export function components(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Whether a glob's component can match `name` (a literal component); `*` and `?` never match "/". */
function componentMatches(globComponent: string, name: string): boolean {
  let pattern = '';
  for (let i = 0; i < globComponent.length; i++) {
    const c = globComponent[i]!;
    if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else if (c === '[') {
      const end = globComponent.indexOf(']', i + 2);
      if (end === -1) pattern += '\\[';
      else {
        const body = globComponent
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        pattern += `[${body}]`;
        i = end;
      }
    } else pattern += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`).test(name);
}

/** Whether a glob can match `dir` itself or anything below it. */
export function globReaches(glob: string, dir: string): boolean {
  const globParts = components(glob);
  const dirParts = components(dir);
  return globParts.length >= dirParts.length && dirParts.every((part, i) => componentMatches(globParts[i]!, part));
}

/** The helper's state folder: a named volume per target, so that "daily" holds across runs. */
export const STATE_DIR = '/var/lib/dtool-logrotate';

/** Paths the helper needs for itself: a glob into them would rotate the helper's own files. */
export const HELPER_OWN_PATHS: readonly string[] = ['/proc', '/sys', '/dev', '/tmp', '/run/secrets'];

export function parseGlob(value: string, what: string): string {
  const glob = value.trim();
  // Quoted as JSON: a newline or a quote in the value shows as such.
  const quoted = JSON.stringify(glob);
  if (!glob.startsWith('/')) throw new UsageError(`${what}: ${quoted} is not an absolute path (the paths are those inside the target container)`);
  if (!GLOB_CHARS.test(glob)) {
    throw new UsageError(
      `${what}: ${quoted} may hold only letters, digits, "/", ".", "_", "-", "@", "%", "+", "=", ":", "~" and the glob characters * ? [ ]`,
    );
  }
  const parts = glob.split('/').slice(1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new UsageError(`${what}: ${quoted} has an empty, "." or ".." component`);
  if (parts.length < 2) throw new UsageError(`${what}: ${quoted} must name files inside a folder, e.g. /var/log/app/*.log`);
  if (GLOB_META.test(parts[0]!)) throw new UsageError(`${what}: ${quoted} must start with a literal folder, e.g. /var/log/*/*log`);
  if (globReaches(glob, DOCKER_CONTAINERS_DIR)) {
    throw new UsageError(`${what}: ${quoted} reaches ${DOCKER_CONTAINERS_DIR}, Docker's own json-file logs`, {
      hint: "the engine keeps writing to the file it opened: a rotated log loses lines and a truncated one is corrupt; limit them with the engine's log options (max-size, max-file) instead",
    });
  }
  // The state folder holds only its status files: a glob reaches them only one level below it.
  const own =
    HELPER_OWN_PATHS.find((dir) => globReaches(glob, dir)) ??
    (globReaches(glob, STATE_DIR) && components(glob).length === components(STATE_DIR).length + 1 ? STATE_DIR : undefined);
  if (own) throw new UsageError(`${what}: ${quoted} reaches ${own}, which the logrotate helper uses for itself`);
  return glob;
}

/** A comma-separated list of globs (a label, or one --path value). */
export function parseGlobList(value: string, what: string): string[] {
  const globs = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (globs.length === 0) throw new UsageError(`${what} expects one or more absolute globs, e.g. /var/log/app/*.log`);
  return globs.map((g) => parseGlob(g, what));
}

export function parseSignal(value: string, what: string): string {
  const upper = value.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!REOPEN_SIGNALS.includes(name)) {
    throw new UsageError(`${what} must be one of ${REOPEN_SIGNALS.map((s) => s.slice(3)).join(', ')}, not "${value}"`, {
      hint: 'the signal asks the application to reopen its log files (nginx: USR1; most daemons: HUP); others would stop it',
    });
  }
  return name;
}

export function parseSize(value: string, what: string): string {
  const match = /^([1-9][0-9]{0,9})([kKmMgG]?)$/.exec(value.trim());
  if (!match) throw new UsageError(`${what} expects a size like 100k, 50M or 1G, not "${value}"`);
  const unit = match[2]!;
  return `${match[1]}${unit === '' ? '' : unit.toLowerCase() === 'k' ? 'k' : unit.toUpperCase()}`;
}

export function parseRotate(value: string | number, what: string): number {
  const text = String(value).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`${what} expects a whole number from 1 to 1000, not "${value}"`);
  return n;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${what} must be one of ${allowed.join(', ')}, not "${value}"`);
}

function parseBoolean(value: string, what: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`${what} must be true or false, not "${value}"`);
}

/** A source that names a signal but no mode means signal mode; naming copytruncate and a signal contradicts itself. */
export function withImpliedMode(overrides: RotationOverrides, contradiction: string): RotationOverrides {
  if (overrides.signal === undefined) return overrides;
  if (overrides.mode === 'copytruncate')
    throw new UsageError(contradiction, { hint: 'copytruncate needs no signal; signal mode needs one (HUP by default)' });
  return { ...overrides, mode: 'signal' };
}

/** The settings a container declares in its `dtool.logrotate.*` labels. */
export function settingsFromLabels(labels: Readonly<Record<string, string>>, container: string): RotationOverrides {
  const known = new Set<string>(Object.values(LABELS));
  const unknown = Object.keys(labels).filter((key) => key.startsWith(LABEL_PREFIX) && !known.has(key));
  if (unknown.length > 0) throw new UsageError(`${container}: unknown label ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const what = (key: string) => `label ${key} on ${container}`;
  const value = (key: string) => labels[key];
  const settings: { -readonly [K in keyof RotationSettings]?: RotationSettings[K] } = {};
  const path = value(LABELS.path);
  if (path !== undefined) settings.paths = parseGlobList(path, what(LABELS.path));
  const signal = value(LABELS.signal);
  if (signal !== undefined) settings.signal = parseSignal(signal, what(LABELS.signal));
  const mode = value(LABELS.mode);
  if (mode !== undefined) settings.mode = oneOf(mode, ROTATION_MODES, what(LABELS.mode));
  const rotate = value(LABELS.rotate);
  if (rotate !== undefined) settings.rotate = parseRotate(rotate, what(LABELS.rotate));
  const size = value(LABELS.size);
  const frequency = value(LABELS.frequency);
  if (size !== undefined && frequency !== undefined)
    throw new UsageError(`${container}: labels ${LABELS.size} and ${LABELS.frequency} contradict each other; keep one`);
  if (size !== undefined) settings.schedule = { kind: 'size', size: parseSize(size, what(LABELS.size)) };
  if (frequency !== undefined) settings.schedule = { kind: oneOf(frequency, FREQUENCIES, what(LABELS.frequency)) };
  const compress = value(LABELS.compress);
  if (compress !== undefined) settings.compress = parseBoolean(compress, what(LABELS.compress));
  const delaycompress = value(LABELS.delaycompress);
  if (delaycompress !== undefined) settings.delaycompress = parseBoolean(delaycompress, what(LABELS.delaycompress));
  return withImpliedMode(settings, `${container}: label ${LABELS.signal} applies to signal mode only, but ${LABELS.mode} is copytruncate`);
}

/**
 * One target's settings: options win over its labels, labels over the defaults. Without a
 * mode anywhere, a target that declares a signal is rotated in signal mode, any other with
 * copytruncate.
 */
export function resolveSettings(options: RotationOverrides, labels: RotationOverrides, target: string): RotationSettings {
  const mode = options.mode ?? labels.mode ?? 'copytruncate';
  const compress = options.compress ?? labels.compress ?? DEFAULT_SETTINGS.compress;
  const delaycompress = options.delaycompress ?? labels.delaycompress ?? DEFAULT_SETTINGS.delaycompress;
  if (mode === 'signal' && compress && !delaycompress) {
    throw new UsageError(`${target}: signal mode with compress needs delaycompress`, {
      hint: 'until the signal reaches it, the application still writes into the file just renamed; compressing that file at once would lose those lines',
    });
  }
  return {
    paths: options.paths ?? labels.paths ?? DEFAULT_SETTINGS.paths,
    rotate: options.rotate ?? labels.rotate ?? DEFAULT_SETTINGS.rotate,
    schedule: options.schedule ?? labels.schedule ?? DEFAULT_SETTINGS.schedule,
    compress,
    delaycompress,
    mode,
    ...(mode === 'signal' ? { signal: options.signal ?? labels.signal ?? DEFAULT_SETTINGS.signal } : {}),
  };
}
