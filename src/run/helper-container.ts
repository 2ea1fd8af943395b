/**
 * A launched helper container: created with its secret files on disk, attached (output,
 * and the stdin that ties it to this process), and started. Shared by runHelper (runs to
 * completion) and startService (serves until disposed).
 *
 * Disposing it removes the container (a failure to do so is a warning, not an error),
 * drops the attach connection and then removes the secret files. If this process dies
 * before that, the helper still goes: see the three layers in core/to-create-options.ts.
 */
import { randomBytes } from 'node:crypto';
import { toCreateOptions } from '../core/to-create-options.js';
import type { HelperRunSpec } from '../core/helper-spec.js';
import type { Deps } from '../deps.js';
import type { MultiplexedStream } from '../docker/port.js';
import { writeSecretFiles } from '../host/secret-files.js';
import { DTOOL_VERSION } from '../version.js';

export interface LaunchedHelper extends AsyncDisposable {
  readonly id: string;
  readonly runId: string;
  /** The multiplexed output, from the container's first byte on (attached before start). */
  readonly output: MultiplexedStream;
  /** The exit code, once the engine has removed the container (AutoRemove), or once it exits (keepUntilCollected). */
  readonly exited: Promise<number>;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface LaunchOptions {
  /** Runs between create and start, e.g. to copy input files in through the archive API. */
  readonly beforeStart?: (containerId: string) => Promise<void>;
}

export async function launchHelper(deps: Deps, spec: HelperRunSpec, options: LaunchOptions = {}): Promise<LaunchedHelper> {
  const { docker } = deps;
  const runId = newRunId();
  const secretFiles = await writeSecretFiles(spec.secrets ?? [], deps.owner);
  const cleanups: (() => PromiseLike<void> | void)[] = [() => secretFiles[Symbol.asyncDispose]()];
  const dispose = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    // Checks the privilege grants before any Docker call.
    const createOptions = toCreateOptions(spec, {
      runId,
      version: DTOOL_VERSION,
      grants: new Set(deps.config.grants),
      privilegedMode: deps.config.privilegedMode,
      secretFiles: secretFiles.paths,
      owner: deps.owner,
    });
    const id = await docker.createContainer({ ...createOptions, name: `dtool-${spec.helper}-${runId}` });
    cleanups.push(async () => {
      try {
        await docker.removeContainer(id);
      } catch (error) {
        deps.reporter({ type: 'warning', message: `could not remove helper container ${id.slice(0, 12)}: ${(error as Error).message}` });
      }
    });
    // The wait is registered before start: an AutoRemove container may be gone the moment
    // it exits, and only a "removed" wait placed earlier still learns its exit code.
    const exited = docker.waitContainer(id, spec.keepUntilCollected ? 'next-exit' : 'removed');
    exited.catch(() => {});
    await options.beforeStart?.(id);
    const attachment = await docker.attachContainer(id, { stdin: createOptions.OpenStdin });
    // Dropped last: while it is open the guard keeps the helper alive.
    cleanups.splice(1, 0, () => attachment.close());
    await docker.startContainer(id);
    return { id, runId, output: attachment.output, exited, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
