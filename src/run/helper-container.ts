/**
 * A launched helper container: created, attached (output, and the stdin that ties it to
 * this process), started, and handed its secrets. Shared by runHelper (runs to completion)
 * and startService (serves until disposed).
 *
 * Secrets travel through the engine's API, never through a shared filesystem (the engine
 * may be remote): the helper starts with an empty tmpfs at /run/secrets, and dtool pipes a
 * tar of the secrets into `dtool-guard --receive-secrets` run by exec as the helper's user.
 * The helper's own command starts only once they are all there (dtool-guard waits for them).
 *
 * Disposing it removes the container (a failure to do so is a warning, not an error) and
 * drops the attach connection. If this process dies before that, the helper still goes:
 * see the three layers in core/to-create-options.ts.
 */
import { randomBytes } from 'node:crypto';
import { toCreateOptions } from '../core/to-create-options.js';
import type { HelperRunSpec, HelperSecret } from '../core/helper-spec.js';
import type { Deps } from '../deps.js';
import type { DockerPort, MultiplexedStream } from '../docker/port.js';
import { HelperFailedError } from '../errors.js';
import { packEntries } from '../host/tar.js';
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

/** The command, run by exec in the started helper, that receives the secrets' tar on stdin. */
export const RECEIVE_SECRETS = ['dtool-guard', '--receive-secrets'] as const;

/** All of a stream, as text, once it ended. */
async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function deliverSecrets(docker: DockerPort, id: string, spec: HelperRunSpec, secrets: readonly HelperSecret[]): Promise<void> {
  const session = await docker.execStream(id, RECEIVE_SECRETS, {
    stdin: packEntries(secrets.map((s) => ({ name: s.name, content: s.content, mode: 0o400 }))),
  });
  session.stdout.resume();
  const [exitCode, stderr] = await Promise.all([session.exitCode, text(session.stderr)]);
  if (exitCode !== 0) {
    const lines = stderr.split('\n').filter(Boolean);
    throw new HelperFailedError(spec.helper, exitCode, [`could not hand the helper its secrets`, ...lines]);
  }
}

export async function launchHelper(deps: Deps, spec: HelperRunSpec, options: LaunchOptions = {}): Promise<LaunchedHelper> {
  const { docker } = deps;
  const runId = newRunId();
  const cleanups: (() => PromiseLike<void> | void)[] = [];
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
    // Dropped last (after the removal): while it is open the guard keeps the helper alive.
    cleanups.unshift(() => attachment.close());
    await docker.startContainer(id);
    if (spec.secrets?.length) await deliverSecrets(docker, id, spec, spec.secrets);
    return { id, runId, output: attachment.output, exited, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
