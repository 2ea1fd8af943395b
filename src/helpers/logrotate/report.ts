/**
 * What a logrotate run tells its caller, per target and per file, and how the helper's
 * output becomes that: dtool-logrotate prints one JSON line (also after a failed logrotate
 * run, since what was rotated must still be signalled) and exits with documented codes.
 */
import { HelperFailedError, UsageError, type DtoolError } from '../../errors.js';
import { lastLines } from '../../docker/streams.js';
import type { HelperResult } from '../../core/helper-spec.js';
import type { RotationMode } from './settings.js';

/** dtool-logrotate's exit codes (see the script's header). */
export const LOGROTATE_EXIT = { usage: 2, failed: 12, refused: 13 } as const;

export interface LogFileReport {
  readonly path: string;
  /** `uid:gid`: logrotate ran as this owner for this file. */
  readonly owner: string;
  readonly rotated: boolean;
  /** Size of the rotated file: the copy in copytruncate mode; in signal mode, the renamed file when the helper ended. */
  readonly bytes?: number;
  /** copytruncate only: bytes appended between the copy and the truncate, and so lost. */
  readonly lostBytes?: number;
}

export interface SignalReport {
  /** e.g. SIGHUP */
  readonly name: string;
  readonly sent: boolean;
  /** Why it was not sent. */
  readonly reason?: string;
}

export interface LogrotateTargetReport {
  readonly target: string;
  /** The container's name (the target as given may be an ID). */
  readonly container: string;
  readonly status: 'ok' | 'failed';
  readonly mode?: RotationMode;
  /** Every file the globs matched on the target's volumes, rotated or not. */
  readonly files: readonly LogFileReport[];
  /** Signal mode only. */
  readonly signal?: SignalReport;
  /** copytruncate only: the sum of the files' lostBytes. */
  readonly lostBytes?: number;
  readonly stateVolume?: string;
  readonly seconds: number;
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string; readonly details: readonly string[] };
}

export interface LogrotateReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly targets: readonly LogrotateTargetReport[];
}

export interface HelperOutcome {
  readonly files: readonly LogFileReport[];
  readonly failedOwners: readonly string[];
}

function isFile(value: unknown): value is LogFileReport {
  const f = value as Record<string, unknown>;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.path === 'string' &&
    typeof f.owner === 'string' &&
    typeof f.rotated === 'boolean' &&
    (f.bytes === undefined || typeof f.bytes === 'number') &&
    (f.lostBytes === undefined || typeof f.lostBytes === 'number')
  );
}

/** The helper's result line (the last line of stdout), or undefined when it printed none that parses. */
export function parseHelperOutcome(stdout: string): HelperOutcome | undefined {
  const line = lastLines(stdout, 1)[0];
  if (line === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { files, failedOwners } = parsed as { files?: unknown; failedOwners?: unknown };
  if (!Array.isArray(files) || !files.every(isFile) || !Array.isArray(failedOwners) || !failedOwners.every((o) => typeof o === 'string'))
    return undefined;
  return {
    files: files.map((f) => ({
      path: f.path,
      owner: f.owner,
      rotated: f.rotated,
      ...(f.bytes !== undefined ? { bytes: f.bytes } : {}),
      ...(f.lostBytes !== undefined ? { lostBytes: f.lostBytes } : {}),
    })),
    failedOwners,
  };
}

/** The error a non-zero exit of dtool-logrotate stands for. */
export function logrotateHelperError(result: HelperResult, target: string): DtoolError {
  const details = lastLines(result.stderr, 20);
  const reason = (details.filter((l) => l.trim() !== '').at(-1) ?? `exit code ${result.exitCode}`).replace(/^dtool-logrotate: /, '');
  switch (result.exitCode) {
    case LOGROTATE_EXIT.refused:
      return new UsageError(`${target}: ${reason}`, { details });
    case LOGROTATE_EXIT.failed:
      return new HelperFailedError(result.helper, result.exitCode, details, {
        hint: 'logrotate runs as the owner of the files: their folder must be writable by that owner',
      });
    default:
      return new HelperFailedError(result.helper, result.exitCode, details);
  }
}

/** One line for a scheduler's run record: targets, files rotated, signals sent, bytes lost. */
export function summarizeLogrotateReport(report: LogrotateReport): string {
  const ok = report.targets.filter((t) => t.status === 'ok').length;
  const rotated = report.targets.reduce((sum, t) => sum + t.files.filter((f) => f.rotated).length, 0);
  const signalled = report.targets.filter((t) => t.signal?.sent).length;
  const lost = report.targets.reduce((sum, t) => sum + (t.lostBytes ?? 0), 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [
    `${ok} of ${plural(report.targets.length, 'target')} rotated`,
    `${plural(rotated, 'file')} rotated`,
    ...(signalled > 0 ? [`${plural(signalled, 'signal')} sent`] : []),
    ...(lost > 0 ? [`${lost} bytes lost to copytruncate`] : []),
  ].join(', ');
}
