/**
 * The backup's output folder, handled where it is: on the engine's host. `--out` names a
 * folder there (as `docker run -v` does), so with a remote engine the dtool process cannot
 * touch it; every file step of a backup (lock, leftovers, naming, commit, manifest,
 * retention, fetch) runs in one "outdir session" helper per backup run, which mounts the
 * folder and idles while dtool runs `dtool-outdir` commands in it by exec. The same path
 * serves a local engine.
 *
 * Locks are flock(1) locks on TARGET/.dtool.lock, held by a `dtool-outdir hold` process in
 * the session for as long as dtool keeps its stdin open. When dtool dies, the session helper
 * stops (dtool-guard) and the kernel drops the locks with it.
 */
import { hostname } from 'node:os';
import { dirname, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { HelperRunSpec } from '../../core/helper-spec.js';
import type { Deps } from '../../deps.js';
import type { ExecSession } from '../../docker/port.js';
import { AbortedError, DtoolError, HelperFailedError, LockedError, UsageError, VerifyFailedError } from '../../errors.js';
import { runHelper } from '../../run/run-helper.js';
import { startService, type StartedService } from '../../run/service.js';
import { asHostUser } from './common.js';
import { TOOL_EXIT, mysqlHelperError } from './helper-errors.js';

/** Where the session mounts --out. */
export const OUTDIR_MOUNT = '/out';
const READY = /^dtool-outdir: ready$/m;
/** An exec's stdout or stderr kept (its JSON line, or its error message). */
const EXEC_OUTPUT_LIMIT = 64 * 1024;

export function outdirSessionSpec(image: string, outDir: string): HelperRunSpec {
  return {
    helper: 'mysql-outdir',
    image,
    command: ['dtool-outdir', 'serve', OUTDIR_MOUNT],
    ...asHostUser(),
    mounts: [{ type: 'bind', source: outDir, target: OUTDIR_MOUNT, readOnly: false }],
    network: { mode: 'none' },
  };
}

/** A one-shot `dtool-outdir mkdir` in the nearest existing ancestor of a missing --out. */
export function outdirMkdirSpec(image: string, ancestor: string, outDir: string): HelperRunSpec {
  const relative = posix.relative(ancestor, outDir);
  return {
    helper: 'mysql-outdir',
    image,
    command: ['dtool-outdir', 'mkdir', posix.join('/parent', relative)],
    ...asHostUser(),
    mounts: [{ type: 'bind', source: ancestor, target: '/parent', readOnly: false }],
    network: { mode: 'none' },
  };
}

/** The engine refuses a bind whose source folder does not exist (at create). */
function isMissingBindSource(error: unknown): boolean {
  // The engine answers 400 with no other code for this; its message is all there is.
  return error instanceof DtoolError && /bind source path does not exist/.test(error.message);
}

/** The lock file's content, as `hold` writes it: who holds it, for the error a second run gets. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** " (pid 12 on host-a since …)", from the lock file's content, or nothing when it names nobody. */
export function describeLockHolder(content: string): string {
  try {
    const holder = JSON.parse(content) as Partial<LockOwner> | null;
    if (typeof holder?.pid === 'number' && typeof holder.host === 'string') {
      return ` (pid ${holder.pid} on ${holder.host} since ${String(holder.since ?? '?')})`;
    }
  } catch {
    // Written a moment after the lock is taken: an empty or partial file names nobody.
  }
  return '';
}

export interface ExecOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function collect(session: ExecSession): Promise<ExecOutcome> {
  const read = async (stream: Readable): Promise<string> => {
    let text = '';
    for await (const chunk of stream) if (text.length < EXEC_OUTPUT_LIMIT) text += Buffer.from(chunk as Buffer).toString('utf8');
    return text;
  };
  const [exitCode, stdout, stderr] = await Promise.all([session.exitCode, read(session.stdout), read(session.stderr)]);
  return { exitCode, stdout, stderr };
}

function jsonLine<T>(outcome: ExecOutcome, what: string): T {
  const line = outcome.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch (error) {
    throw new DtoolError('INTERNAL', `dtool-outdir ${what}: unexpected output ${JSON.stringify(line.slice(0, 200))}`, { cause: error });
  }
}

/** A target's folder, locked for this run until disposed. Paths are the engine host's. */
export interface TargetFolder extends AsyncDisposable {
  /** The folder on the engine's host. */
  readonly path: string;
  /** Its plain names when the lock was taken. */
  readonly files: readonly string[];
  /** Plain file names in the folder. */
  list(): Promise<string[]>;
  /** Removes files and folders by name (rm -rf), then fsyncs the folder. */
  remove(names: readonly string[]): Promise<void>;
  /**
   * Renames the fsynced dump `temp` (exactly `bytes` long) to `final`, never over a file, and
   * fsyncs the folder. With `manifest`, then writes it as `writeAtomic` does, in the same call,
   * and resolves with the folder's names afterwards.
   */
  commit(temp: string, final: string, bytes: number, manifest?: { readonly name: string; readonly content: string }): Promise<string[] | undefined>;
  /** Writes `name` atomically (temp file, fsync, rename, fsync the folder); resolves with the folder's names afterwards. */
  writeAtomic(name: string, content: string): Promise<string[]>;
  /** A tar stream (archive API) of one file of the folder. */
  archive(name: string): Promise<Readable>;
}

export interface OutDirSession extends AsyncDisposable {
  readonly outDir: string;
  /** Locks `target`'s folder (creating it), waiting up to `waitMs`; LockedError naming the holder otherwise. */
  lockTarget(target: string, options: { readonly waitMs: number; readonly what: string }): Promise<TargetFolder>;
}

class HelperOutDir implements OutDirSession {
  readonly #deps: Deps;
  readonly #service: StartedService;
  readonly outDir: string;

  constructor(deps: Deps, service: StartedService, outDir: string) {
    this.#deps = deps;
    this.#service = service;
    this.outDir = outDir;
  }

  get #id(): string {
    return this.#service.details.id;
  }

  async exec(args: readonly string[], stdin?: string): Promise<ExecOutcome> {
    const input = stdin === undefined ? undefined : new PassThrough().end(stdin);
    return collect(await this.#deps.docker.execStream(this.#id, ['dtool-outdir', ...args], input ? { stdin: input } : {}));
  }

  failure(outcome: ExecOutcome, what: string): DtoolError {
    return mysqlHelperError({ helper: 'mysql-outdir', runId: this.#service.runId, ...outcome, outputTruncated: false, durationMs: 0 }, what);
  }

  async run<T>(args: readonly string[], what: string, stdin?: string): Promise<T> {
    const outcome = await this.exec(args, stdin);
    if (outcome.exitCode !== 0) throw this.failure(outcome, what);
    return jsonLine<T>(outcome, args[0]!);
  }

  async lockTarget(target: string, options: { readonly waitMs: number; readonly what: string }): Promise<TargetFolder> {
    const inside = posix.join(OUTDIR_MOUNT, target);
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const waitSeconds = Math.ceil(options.waitMs / 1000);
    // The lock lives as long as this stdin stays open.
    const stdin = new PassThrough();
    const session = await this.#deps.docker.execStream(this.#id, ['dtool-outdir', 'hold', inside, String(waitSeconds), JSON.stringify(owner)], {
      stdin,
    });
    const release = () => {
      stdin.end();
    };
    const answer = new Promise<string>((resolve, reject) => {
      let seen = '';
      session.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        const newline = seen.indexOf('\n');
        if (newline >= 0) resolve(seen.slice(0, newline));
      });
      session.stdout.on('end', () => resolve(seen));
      session.stdout.on('error', reject);
    });
    const stderr = collectText(session.stderr);
    const signal = this.#deps.signal;
    const aborted = new Promise<never>((_, reject) => {
      if (!signal) return;
      const onAbort = () => reject(new AbortedError(`interrupted while waiting for the lock on ${options.what}`));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void answer.finally(() => signal.removeEventListener('abort', onAbort));
    });
    aborted.catch(() => {});
    let line: string;
    try {
      line = await Promise.race([answer, aborted]);
    } catch (error) {
      release();
      throw error;
    }
    let parsed: { locked?: boolean; holder?: string; files?: string[] } = {};
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      // Judged by the exit code below.
    }
    if (parsed.locked !== true) {
      release();
      const exitCode = await session.exitCode.catch(() => -1);
      if (exitCode === TOOL_EXIT.locked || parsed.locked === false) {
        const holder = describeLockHolder(Buffer.from(parsed.holder ?? '', 'base64').toString('utf8'));
        const waited = options.waitMs ? ` (waited ${waitSeconds}s)` : '';
        throw new LockedError(`${options.what} is locked by another dtool run${holder}${waited}`, {
          hint: options.waitMs
            ? 'that run is still going; wait longer, or let it finish'
            : 'wait for that run to finish, or give --lock-wait SECONDS',
        });
      }
      const errorText = await stderr;
      if (exitCode === TOOL_EXIT.usage) throw outDirError(posix.join(this.outDir, target), errorText);
      throw mysqlHelperError(
        { helper: 'mysql-outdir', runId: this.#service.runId, exitCode, stdout: line, stderr: errorText, outputTruncated: false, durationMs: 0 },
        target,
      );
    }
    const path = posix.join(this.outDir, target);
    return {
      path,
      files: parsed.files ?? [],
      list: async () => (await this.run<{ files: string[] }>(['list', inside], target)).files,
      remove: async (names) => {
        if (names.length > 0) await this.run(['remove', inside, ...names], target);
      },
      commit: async (temp, final, bytes, manifest) => {
        const args = ['commit', inside, temp, final, String(bytes), ...(manifest ? [manifest.name] : [])];
        const outcome = await this.exec(args, manifest?.content);
        if (outcome.exitCode === TOOL_EXIT.verificationFailed) throw new VerifyFailedError(`dump of ${target} ${lastLine(outcome.stderr)}`);
        if (outcome.exitCode !== 0) throw this.failure(outcome, target);
        return manifest ? jsonLine<{ files: string[] }>(outcome, 'commit').files : undefined;
      },
      writeAtomic: async (name, content) => (await this.run<{ files: string[] }>(['manifest', inside, name], target, content)).files,
      archive: (name) => this.#deps.docker.getArchive(this.#id, posix.join(inside, name)),
      [Symbol.asyncDispose]: async () => {
        release();
        await session.exitCode.catch(() => {});
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#service[Symbol.asyncDispose]();
  }
}

/** The last line of a dtool-outdir stderr, without the program's name. */
function lastLine(stderr: string): string {
  return (
    stderr
      .trim()
      .split('\n')
      .at(-1)
      ?.replace(/^dtool-outdir: /, '') ?? ''
  );
}

/** `--out DIR is not writable (Read-only file system)`, from what dtool-outdir said. */
function outDirError(path: string, stderr: string, cause?: unknown): UsageError {
  return new UsageError(`--out ${path} ${lastLine(stderr) || 'is not usable'}`, {
    ...(cause ? { cause } : {}),
    hint: "choose a folder the helper's user can write to, on the Docker engine's host",
  });
}

function collectText(stream: Readable): Promise<string> {
  return (async () => {
    let text = '';
    for await (const chunk of stream) if (text.length < EXEC_OUTPUT_LIMIT) text += Buffer.from(chunk as Buffer).toString('utf8');
    return text;
  })();
}

/** `--out` on the engine's host: a missing folder is made, as the helper's user, from its nearest existing ancestor. */
async function createOutDir(deps: Deps, image: string, outDir: string): Promise<void> {
  for (let ancestor = dirname(outDir); ; ancestor = dirname(ancestor)) {
    try {
      const result = await runHelper(deps, outdirMkdirSpec(image, ancestor, outDir), { allowFailure: true });
      if (result.exitCode === 0) return;
      throw outDirError(outDir, result.stderr);
    } catch (error) {
      if (!isMissingBindSource(error) || ancestor === '/') throw error;
    }
  }
}

/**
 * Starts the outdir session for `outDir` (a folder on the engine's host, made if missing),
 * which first proves the folder writable: a UsageError naming --out otherwise.
 */
export async function openOutDir(deps: Deps, image: string, outDir: string): Promise<OutDirSession> {
  const start = () => startService(deps, outdirSessionSpec(image, outDir), { logMatches: READY, timeoutMs: 60_000 });
  let service: StartedService;
  try {
    try {
      service = await start();
    } catch (error) {
      if (!isMissingBindSource(error)) throw error;
      await createOutDir(deps, image, outDir);
      service = await start();
    }
  } catch (error) {
    if (error instanceof HelperFailedError && error.exitCode === TOOL_EXIT.usage) throw outDirError(outDir, error.details.join('\n'), error);
    throw error;
  }
  return new HelperOutDir(deps, service, outDir);
}
