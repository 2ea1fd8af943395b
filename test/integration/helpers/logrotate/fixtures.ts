/**
 * Shared by the logrotate integration tests: named volumes owned by a non-root uid, target
 * containers, a writer that appends sequence-numbered lines and reopens its file on SIGHUP,
 * and a line count over every rotated (decompressed) and current file. Everything is
 * labelled for the global teardown; volumes are removed by the tests themselves.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TEST_LABEL } from '../../support.js';

export const BASE_IMAGE = process.env.DTOOL_BASE_IMAGE ?? 'debian:bookworm-slim';
export const APP_UID = 1000;

/** Each line is 32 bytes: a 10-digit sequence number, a blank, 20 x's and a newline. */
export const LINE_BYTES = 32;
/** Lines per write: 120 × 32 = 3840 bytes, one write() below the 4 KiB stdio buffer. */
export const BATCH_LINES = 120;
export const BATCH_BYTES = BATCH_LINES * LINE_BYTES;

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A named volume whose root belongs to `owner` (uid:gid), as an application's log volume would. */
export function ownedVolume(name: string, owner = `${APP_UID}:${APP_UID}`): string {
  docker('volume', 'create', '--label', `${TEST_LABEL}=true`, name);
  docker('run', '--rm', '-v', `${name}:/v`, BASE_IMAGE, 'chown', owner, '/v');
  return name;
}

/** Runs a shell script in a throwaway container over `volume` mounted at /v; returns its stdout. */
export function inVolume(volume: string, script: string, user = '0:0'): string {
  return docker('run', '--rm', '--user', user, '-v', `${volume}:/v`, BASE_IMAGE, 'bash', '-c', script);
}

/**
 * The writer: appends BATCH_LINES lines per write, about 100 writes a second (~12,000
 * lines/s), to /var/log/app/app.log, through a descriptor it reopens on SIGHUP. bash runs
 * traps between commands, so a reopen never splits a write.
 */
const WRITER_SCRIPT = `
f=/var/log/app/app.log
exec 3>>"$f"
trap 'exec 3>>"$f"' HUP
trap 'exit 0' TERM
i=0
while :; do
  buf=''
  for ((k = 0; k < ${BATCH_LINES}; k++)); do
    printf -v line '%010d xxxxxxxxxxxxxxxxxxxx\\n' "$i"
    buf+=$line
    i=$((i + 1))
  done
  printf '%s' "$buf" >&3
  sleep 0.005
done
`;

export function startWriter(name: string, volume: string, labels: Record<string, string> = {}): void {
  const labelArgs = Object.entries({ [TEST_LABEL]: 'true', ...labels }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  docker(
    'run',
    '-d',
    '--name',
    name,
    ...labelArgs,
    '--user',
    `${APP_UID}:${APP_UID}`,
    '-v',
    `${volume}:/var/log/app`,
    BASE_IMAGE,
    'bash',
    '-c',
    WRITER_SCRIPT,
  );
}

/** A container that only holds a volume at /var/log/app; tini would pass a signal on to `sleep`, which would end it. */
export function startIdleTarget(name: string, volume: string, labels: Record<string, string> = {}): void {
  const labelArgs = Object.entries({ [TEST_LABEL]: 'true', ...labels }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  docker('run', '-d', '--init', '--name', name, ...labelArgs, '-v', `${volume}:/var/log/app`, BASE_IMAGE, 'sleep', 'infinity');
}

export function isRunning(name: string): boolean {
  return docker('inspect', '-f', '{{.State.Running}}', name).trim() === 'true';
}

/** Waits, bounded in tries and time, until `probe` holds. */
export async function waitUntil(probe: () => boolean, what: string, { tries = 100, intervalMs = 100 } = {}): Promise<void> {
  const deadline = Date.now() + tries * intervalMs * 5;
  for (let i = 0; i < tries && Date.now() < deadline; i++) {
    if (probe()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface LineCount {
  /** Highest sequence number seen. */
  readonly last: number;
  readonly lines: number;
  readonly missing: number;
  readonly duplicated: number;
  /** Lines that are not a whole writer line (a copy cut mid-write). */
  readonly malformed: number;
  readonly files: readonly string[];
}

/** Counts the writer's lines over app.log and every rotation of it, decompressing the .gz ones. */
export function countLines(volume: string): LineCount {
  const files = inVolume(volume, 'cd /v && ls -1 app.log*').split('\n').filter(Boolean);
  const text = inVolume(volume, 'cd /v && for f in app.log*; do zcat -f -- "$f"; done');
  const seen = new Map<number, number>();
  let malformed = 0;
  let last = -1;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^(\d{10}) x{20}$/.exec(line);
    if (!match) {
      malformed++;
      continue;
    }
    const n = Number(match[1]);
    seen.set(n, (seen.get(n) ?? 0) + 1);
    last = Math.max(last, n);
  }
  let missing = 0;
  let duplicated = 0;
  for (let n = 0; n <= last; n++) {
    const times = seen.get(n) ?? 0;
    if (times === 0) missing++;
    if (times > 1) duplicated += times - 1;
  }
  return { last, lines: [...seen.values()].reduce((a, b) => a + b, 0), missing, duplicated, malformed, files };
}

export function removeContainers(...names: string[]): void {
  for (const name of names) {
    try {
      docker('rm', '-f', '-v', name);
    } catch {
      // already gone
    }
  }
}

export function removeVolumes(...names: string[]): void {
  for (const name of names) {
    try {
      docker('volume', 'rm', '-f', name);
    } catch {
      // already gone
    }
  }
}
