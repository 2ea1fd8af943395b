/**
 * Settings, resolved once: defaults < config file ($DTOOL_CONFIG, JSON) < DTOOL_* env < flags.
 * Pure except `loadConfig`, which is handed the environment and a file reader.
 */
import { UsageError } from './errors.js';
import type { Privilege, PrivilegedMode } from './core/helper-spec.js';
import { PRIVILEGES } from './core/helper-spec.js';

export interface DtoolConfig {
  /** Repository prefix of helper images: `<prefix>/<name>:<hash>`. */
  readonly imagePrefix: string;
  /** Folder holding one folder per helper image (each with a Dockerfile). */
  readonly imagesDir: string;
  readonly baseImage: string;
  readonly privilegedMode: PrivilegedMode;
  /** Privileges the user grants to every helper run. */
  readonly grants: readonly Privilege[];
  /** Default timeout for a helper run. */
  readonly helperTimeoutMs: number;
  /**
   * Host sysctl keys `dtool sysctl` may change (patterns, `*` at the end), replacing the
   * default allowlist. Only from the config file: widening it is a deliberate change, never a flag.
   */
  readonly sysctlAllowlist?: readonly string[];
}

export const DEFAULT_IMAGES_DIR = new URL('../images/', import.meta.url).pathname;
/** The shipped recipes (recipes/ at the package root). */
export const DEFAULT_RECIPES_DIR = new URL('../recipes/', import.meta.url).pathname;

export const DEFAULT_CONFIG: DtoolConfig = {
  imagePrefix: 'dtool',
  imagesDir: DEFAULT_IMAGES_DIR,
  baseImage: 'debian:bookworm-slim',
  privilegedMode: 'flag',
  grants: [],
  helperTimeoutMs: 6 * 60 * 60 * 1000,
};

function parsePrivilegedMode(value: string, source: string): PrivilegedMode {
  if (value === 'flag' || value === 'capabilities') return value;
  throw new UsageError(`${source}: privileged mode must be "flag" or "capabilities", not "${value}"`);
}

export function parseGrants(values: readonly string[], source: string): Privilege[] {
  return values.map((value) => {
    if ((PRIVILEGES as readonly string[]).includes(value)) return value as Privilege;
    throw new UsageError(`${source}: unknown privilege "${value}" (known: ${PRIVILEGES.join(', ')})`);
  });
}

type Partialize<T> = { -readonly [K in keyof T]?: T[K] };

function fromRecord(record: Record<string, unknown>, source: string): Partialize<DtoolConfig> {
  const result: Partialize<DtoolConfig> = {};
  if (typeof record.imagePrefix === 'string') result.imagePrefix = record.imagePrefix;
  if (typeof record.imagesDir === 'string') result.imagesDir = record.imagesDir;
  if (typeof record.baseImage === 'string') result.baseImage = record.baseImage;
  if (typeof record.privilegedMode === 'string') result.privilegedMode = parsePrivilegedMode(record.privilegedMode, source);
  if (Array.isArray(record.grants)) result.grants = parseGrants(record.grants.map(String), source);
  if (typeof record.helperTimeoutMs === 'number') result.helperTimeoutMs = record.helperTimeoutMs;
  if (Array.isArray(record.sysctlAllowlist)) result.sysctlAllowlist = record.sysctlAllowlist.map(String);
  return result;
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): Partialize<DtoolConfig> {
  const result: Partialize<DtoolConfig> = {};
  if (env.DTOOL_IMAGE_PREFIX) result.imagePrefix = env.DTOOL_IMAGE_PREFIX;
  if (env.DTOOL_IMAGES_DIR) result.imagesDir = env.DTOOL_IMAGES_DIR;
  if (env.DTOOL_BASE_IMAGE) result.baseImage = env.DTOOL_BASE_IMAGE;
  if (env.DTOOL_PRIVILEGED_MODE) result.privilegedMode = parsePrivilegedMode(env.DTOOL_PRIVILEGED_MODE, 'DTOOL_PRIVILEGED_MODE');
  if (env.DTOOL_ALLOW) result.grants = parseGrants(env.DTOOL_ALLOW.split(',').filter(Boolean), 'DTOOL_ALLOW');
  return result;
}

export function resolveConfig(layers: {
  readonly file?: Record<string, unknown>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: Partial<DtoolConfig>;
}): DtoolConfig {
  return {
    ...DEFAULT_CONFIG,
    ...(layers.file ? fromRecord(layers.file, 'config file') : {}),
    ...(layers.env ? fromEnv(layers.env) : {}),
    // A flag left undefined must not erase a value from the layers below.
    ...Object.fromEntries(Object.entries(layers.flags ?? {}).filter(([, value]) => value !== undefined)),
  };
}

export async function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Promise<string>,
  flags: Partial<DtoolConfig> = {},
): Promise<DtoolConfig> {
  let file: Record<string, unknown> | undefined;
  if (env.DTOOL_CONFIG) {
    try {
      file = JSON.parse(await readFile(env.DTOOL_CONFIG)) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`cannot read config file ${env.DTOOL_CONFIG}: ${(error as Error).message}`, { cause: error });
    }
  }
  return resolveConfig({ file, env, flags });
}
