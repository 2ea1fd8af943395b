/** `dtool backup`'s options, validated once at the boundary into a readonly object. */
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { COMPRESSIONS, DUMP_ENGINES, type Compression, type DumpEngine } from './naming.js';
import type { RetentionPolicy } from './retention.js';
import { parseLabelSelector, parseLink, type LinkSpec } from './target.js';

export interface BackupParams {
  readonly links: readonly LinkSpec[];
  readonly labels: readonly string[];
  readonly outDir: string;
  readonly credentialsFile: string;
  /** Undefined: all databases. */
  readonly databases?: readonly string[];
  readonly engine: DumpEngine;
  readonly compression: Compression;
  readonly concurrency: number;
  /** mydumper threads; undefined lets the helper use every CPU. */
  readonly threads?: number;
  readonly retention: RetentionPolicy;
  readonly verify: boolean;
  readonly timeoutMs?: number;
  /** How long to wait for a target another run is backing up; 0 fails at once. */
  readonly lockWaitMs: number;
  /** --fetch: also copy each finished artifact and its manifest here, on this machine. */
  readonly fetchDir?: string;
}

/** What the CLI (or a library user) hands in, unvalidated. */
export interface RawBackupOptions {
  readonly link?: readonly string[];
  readonly label?: readonly string[];
  readonly out?: string;
  readonly credentials?: string;
  readonly databases?: string;
  readonly engine?: string;
  readonly compress?: string;
  readonly concurrency?: string | number;
  readonly threads?: string | number;
  readonly keep?: string | number;
  readonly keepDays?: string | number;
  readonly verify?: boolean;
  readonly timeout?: string | number;
  readonly lockWait?: string | number;
  readonly fetch?: string;
}

const DATABASE_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$/;

export function parsePositiveInt(value: string | number | undefined, flag: string, { min = 1, max = 1_000_000 } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max || (typeof value === 'string' && !/^\d+$/.test(value.trim()))) {
    throw new UsageError(`${flag} expects a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}

export function parseDatabaseList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--databases expects a comma-separated list of names');
  for (const name of names) {
    if (!DATABASE_NAME.test(name)) throw new UsageError(`invalid database name "${name}": use letters, digits, "_", "$" or "-"`);
  }
  return names;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value}"`);
}

function fetchDir(value: string, cwd: string): string {
  if (value.trim() === '') throw new UsageError('--fetch expects a folder on this machine');
  return resolve(cwd, value);
}

export function parseBackupParams(raw: RawBackupOptions, cwd: string): BackupParams {
  const links = (raw.link ?? []).map(parseLink);
  const labels = (raw.label ?? []).map(parseLabelSelector);
  if (links.length === 0 && labels.length === 0) throw new UsageError('name at least one target: --link CONTAINER or --label KEY=VALUE');
  if (!raw.out) throw new UsageError('--out DIR is required');
  if (!raw.credentials) {
    throw new UsageError('--credentials FILE is required', { hint: 'a my.cnf with a [client] section, or a dbcreds.yml with USER:/PASS: lines' });
  }
  const keep = parsePositiveInt(raw.keep, '--keep');
  const keepDays = parsePositiveInt(raw.keepDays, '--keep-days', { max: 36_500 });
  if (keep !== undefined && keepDays !== undefined) throw new UsageError('choose one of --keep and --keep-days');
  const engine = oneOf(raw.engine, DUMP_ENGINES, 'mariadb-dump', '--engine');
  const threads = parsePositiveInt(raw.threads, '--threads', { max: 256 });
  if (threads !== undefined && engine !== 'mydumper') throw new UsageError('--threads applies to --engine mydumper only');
  const databases = parseDatabaseList(raw.databases);
  const timeoutSeconds = parsePositiveInt(raw.timeout, '--timeout');
  const lockWaitSeconds = parsePositiveInt(raw.lockWait, '--lock-wait', { min: 0, max: 86_400 }) ?? 0;
  return {
    links,
    labels,
    outDir: isAbsolute(raw.out) ? raw.out : resolve(cwd, raw.out),
    credentialsFile: resolve(cwd, raw.credentials),
    ...(databases ? { databases } : {}),
    engine,
    compression: oneOf(raw.compress, COMPRESSIONS, 'zstd', '--compress'),
    concurrency: parsePositiveInt(raw.concurrency, '--concurrency', { max: 64 }) ?? 1,
    ...(threads !== undefined ? { threads } : {}),
    retention:
      keep !== undefined ? { kind: 'keep-last', count: keep } : keepDays !== undefined ? { kind: 'keep-days', days: keepDays } : { kind: 'none' },
    verify: raw.verify ?? false,
    ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}),
    lockWaitMs: lockWaitSeconds * 1000,
    ...(raw.fetch !== undefined ? { fetchDir: fetchDir(raw.fetch, cwd) } : {}),
  };
}
