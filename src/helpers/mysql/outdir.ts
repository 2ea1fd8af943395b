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
  /** The folder as the outdir session sees it (under its mount). */
  readonly inside: string;
  /** Its plain names when the lock was taken. */
  readonly files: readonly string[];
  /** Plain file names in the folder. */
  list(): Promise<string[]>;
  /** Removes files and folders by name (rm -rf), then fsyncs the folder. */
  remove(names: readonly string[]): Promise<void>;
  /** Renames the fsynced dump `temp` (exactly `bytes` long) to `final`, never over a file, and fsyncs the folder. */
  commit(temp: string, final: string, bytes: number): Promise<void>;
  /** Writes `name` atomically (temp file, fsync, rename, fsync the folder); resolves with the folder's names afterwards. */
  writeAtomic(name: string, content: string): Promise<string[]>;
  /** A tar stream (archive API) of one file of the folder. */
  archive(name: string): Promise<Readable>;
}

/** One file step of a batch: `dtool-outdir VERB ARGS…` with `stdin`. */
export interface BatchStep {
  readonly args: readonly string[];
  readonly stdin?: string;
}

export interface OutDirSession extends AsyncDisposable {
  readonly outDir: string;
  /** Locks `target`'s folder (creating it), waiting up to `waitMs`; LockedError naming the holder otherwise. */
  lockTarget(target: string, options: { readonly waitMs: number; readonly what: string }): Promise<TargetFolder>;
  /**
   * `lockTarget` for many targets in one exec, without waiting: each target's folder, or the
   * error it alone gets. The locks go when every folder is disposed.
   */
  lockTargets(targets: readonly { readonly name: string; readonly what: string }[]): Promise<Map<string, TargetFolder | DtoolError>>;
  /**
   * Commits many dumps, each with its manifest, in one exec: per item, the folder's names
   * afterwards, or its own error (as `TargetFolder.commit` would throw it).
   */
  commitMany(
    items: readonly {
      readonly folder: TargetFolder;
      readonly temp: string;
      readonly final: string;
      readonly bytes: number;
      readonly manifest: { readonly name: string; readonly content: string };
    }[],
  ): Promise<(string[] | DtoolError)[]>;
  /** Removes names from many folders in one exec (rm -rf, fsync); per item, its own error if any. */
  removeMany(items: readonly { readonly folder: TargetFolder; readonly names: readonly string[] }[]): Promise<(DtoolError | undefined)[]>;
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
        throw heldElsewhere(options.what, parsed.holder, options.waitMs ? waitSeconds : 0);
      }
      const errorText = await stderr;
      if (exitCode === TOOL_EXIT.usage) throw outDirError(posix.join(this.outDir, target), errorText);
      throw mysqlHelperError(
        { helper: 'mysql-outdir', runId: this.#service.runId, exitCode, stdout: line, stderr: errorText, outputTruncated: false, durationMs: 0 },
        target,
      );
    }
    return this.#folder(target, parsed.files ?? [], async () => {
      release();
      await session.exitCode.catch(() => {});
    });
  }

  /** A locked target folder; `release` drops its lock. */
  #folder(target: string, files: readonly string[], release: () => Promise<void>): TargetFolder {
    const inside = posix.join(OUTDIR_MOUNT, target);
    const path = posix.join(this.outDir, target);
    return {
      path,
      inside,
      files,
      list: async () => (await this.run<{ files: string[] }>(['list', inside], target)).files,
      remove: async (names) => {
        if (names.length > 0) await this.run(['remove', inside, ...names], target);
      },
      commit: async (temp, final, bytes) => {
        const outcome = await this.exec(['commit', inside, temp, final, String(bytes)]);
        if (outcome.exitCode === TOOL_EXIT.verificationFailed) throw new VerifyFailedError(`dump of ${target} ${lastLine(outcome.stderr)}`);
        if (outcome.exitCode !== 0) throw this.failure(outcome, target);
      },
      writeAtomic: async (name, content) => (await this.run<{ files: string[] }>(['manifest', inside, name], target, content)).files,
      archive: (name) => this.#deps.docker.getArchive(this.#id, posix.join(inside, name)),
      [Symbol.asyncDispose]: release,
    };
  }

  async lockTargets(targets: readonly { readonly name: string; readonly what: string }[]): Promise<Map<string, TargetFolder | DtoolError>> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const stdin = new PassThrough();
    const dirs = targets.map((t) => posix.join(OUTDIR_MOUNT, t.name));
    const session = await this.#deps.docker.execStream(this.#id, ['dtool-outdir', 'hold-many', '0', JSON.stringify(owner), ...dirs], { stdin });
    const lines = await new Promise<string[]>((resolve, reject) => {
      let seen = '';
      session.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (/^\{"done":true\}$/m.test(seen)) resolve(seen.split('\n'));
      });
      session.stdout.on('end', () => resolve(seen.split('\n')));
      session.stdout.on('error', reject);
    });
    const stderr = collectText(session.stderr);
    type HoldAnswer = { dir?: string; locked?: boolean; holder?: string; files?: string[]; error?: string };
    const answers = new Map<string, HoldAnswer>();
    for (const line of lines) {
      try {
        const answer = JSON.parse(line) as HoldAnswer;
        if (answer.dir) answers.set(answer.dir, answer);
      } catch {
        // Not an answer line: judged below by what is missing.
      }
    }
    // The locks stay until the last folder holding one is disposed.
    let holders = [...answers.values()].filter((a) => a.locked === true).length;
    const releaseAll = async () => {
      stdin.end();
      await session.exitCode.catch(() => {});
    };
    if (holders === 0) await releaseAll();
    const results = new Map<string, TargetFolder | DtoolError>();
    for (const [i, target] of targets.entries()) {
      const answer = answers.get(dirs[i]!);
      if (answer?.locked === true) {
        results.set(
          target.name,
          this.#folder(target.name, answer.files ?? [], async () => {
            if (--holders === 0) await releaseAll();
          }),
        );
      } else if (answer?.locked === false) {
        results.set(target.name, heldElsewhere(target.what, answer.holder, 0));
      } else if (answer?.error) {
        results.set(target.name, outDirError(posix.join(this.outDir, target.name), answer.error));
      } else {
        results.set(
          target.name,
          mysqlHelperError(
            {
              helper: 'mysql-outdir',
              runId: this.#service.runId,
              exitCode: -1,
              stdout: lines.join('\n'),
              stderr: await stderr,
              outputTruncated: false,
              durationMs: 0,
            },
            target.name,
          ),
        );
      }
    }
    return results;
  }

  /** Many steps in one exec (`dtool-outdir batch`); each step's outcome as if it ran alone. */
  async runBatch(steps: readonly BatchStep[]): Promise<ExecOutcome[]> {
    if (steps.length === 0) return [];
    const input = steps
      .map((step) => [...step.args, step.stdin === undefined ? '-' : Buffer.from(step.stdin).toString('base64')].join('\t'))
      .join('\n');
    const outcome = await this.exec(['batch'], `${input}\n`);
    if (outcome.exitCode !== 0) throw this.failure(outcome, 'batch');
    const answers = new Map<number, ExecOutcome>();
    for (const line of outcome.stdout.split('\n')) {
      if (!line.trim()) continue;
      const answer = JSON.parse(line) as { step: number; exit: number; out: unknown; err: string };
      answers.set(answer.step, {
        exitCode: answer.exit,
        stdout: answer.out === null ? '' : `${JSON.stringify(answer.out)}\n`,
        stderr: Buffer.from(answer.err, 'base64').toString('utf8'),
      });
    }
    return steps.map((_, i) => answers.get(i) ?? { exitCode: -1, stdout: '', stderr: `dtool-outdir batch: no answer for step ${i}` });
  }

  async commitMany(
    items: readonly { folder: TargetFolder; temp: string; final: string; bytes: number; manifest: { name: string; content: string } }[],
  ): Promise<(string[] | DtoolError)[]> {
    const outcomes = await this.runBatch(
      items.map((item) => ({
        args: ['commit', item.folder.inside, item.temp, item.final, String(item.bytes), item.manifest.name],
        stdin: item.manifest.content,
      })),
    );
    return outcomes.map((outcome, i) => {
      const target = posix.basename(items[i]!.folder.inside);
      if (outcome.exitCode === TOOL_EXIT.verificationFailed) return new VerifyFailedError(`dump of ${target} ${lastLine(outcome.stderr)}`);
      if (outcome.exitCode !== 0) return this.failure(outcome, target);
      try {
        return jsonLine<{ files: string[] }>(outcome, 'commit').files;
      } catch (error) {
        return error as DtoolError;
      }
    });
  }

  async removeMany(items: readonly { folder: TargetFolder; names: readonly string[] }[]): Promise<(DtoolError | undefined)[]> {
    const todo = items.filter((item) => item.names.length > 0);
    const outcomes = await this.runBatch(todo.map((item) => ({ args: ['remove', item.folder.inside, ...item.names] })));
    return items.map((item) => {
      const at = todo.indexOf(item);
      const outcome = at < 0 ? undefined : outcomes[at];
      return outcome && outcome.exitCode !== 0 ? this.failure(outcome, posix.basename(item.folder.inside)) : undefined;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#service[Symbol.asyncDispose]();
  }
}

/** `what` is locked by another run: the error names that run (`holder`: the lock file, base64) and how long this one waited. */
function heldElsewhere(what: string, holder: string | undefined, waitedSeconds: number): LockedError {
  const named = describeLockHolder(Buffer.from(holder ?? '', 'base64').toString('utf8'));
  return new LockedError(`${what} is locked by another dtool run${named}${waitedSeconds ? ` (waited ${waitedSeconds}s)` : ''}`, {
    hint: waitedSeconds ? 'that run is still going; wait longer, or let it finish' : 'wait for that run to finish, or give --lock-wait SECONDS',
  });
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
