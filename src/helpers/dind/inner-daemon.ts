/**
 * The Docker daemon inside a dtool/dind container, reached only through `docker exec` of
 * its own CLI on its unix socket: the context, base images and the built image travel as
 * streams through the engine API, so no port is opened and no host folder is mounted.
 */
import type { Readable } from 'node:stream';
import type { Deps } from '../../deps.js';
import { lineSplitter, TailBuffer } from '../../docker/streams.js';
import { HelperFailedError, ImageBuildError } from '../../errors.js';

/** The inner CLI's legacy builder: plain `Step N/M :` lines, which dtool reads. */
const LEGACY_BUILDER = ['DOCKER_BUILDKIT=0'];

export interface InnerBuild {
  readonly imageId: string;
  readonly steps: number;
  readonly cachedSteps: number;
}

export class InnerDaemon {
  constructor(
    private readonly deps: Deps,
    readonly containerId: string,
  ) {}

  /** Runs the inner CLI; stdout collected, stderr's tail kept for the error. */
  async #docker(args: readonly string[], options: { stdin?: Readable; onLine?: (line: string) => void } = {}): Promise<string> {
    const session = await this.deps.docker.execStream(this.containerId, ['docker', ...args], {
      env: LEGACY_BUILDER,
      ...(options.stdin ? { stdin: options.stdin } : {}),
    });
    const stdout = new TailBuffer(1024 * 1024);
    const stderr = new TailBuffer(64 * 1024);
    const split = lineSplitter((line) => options.onLine?.(line));
    session.stdout.on('data', (chunk: Buffer) => {
      stdout.append(chunk);
      split(chunk);
    });
    session.stderr.on('data', (chunk: Buffer) => {
      stderr.append(chunk);
      split(chunk);
    });
    const exitCode = await session.exitCode;
    split(undefined);
    if (exitCode !== 0) {
      throw new HelperFailedError(`dind (docker ${args[0]})`, exitCode, stderr.text().trim().split('\n').slice(-20));
    }
    return stdout.text();
  }

  async storageDriver(): Promise<string> {
    return (await this.#docker(['info', '--format', '{{.Driver}}'])).trim();
  }

  async imageId(reference: string): Promise<string | undefined> {
    try {
      return (await this.#docker(['image', 'inspect', '--format', '{{.Id}}', reference])).trim();
    } catch (error) {
      if (error instanceof HelperFailedError) return undefined;
      throw error;
    }
  }

  /** `docker load` from a `docker save` stream. */
  async load(tar: Readable): Promise<void> {
    await this.#docker(['load', '--quiet'], { stdin: tar });
  }

  /** `docker build -` from a context tar; each output line goes to `onLine`. */
  async build(
    context: Readable,
    options: { readonly tag: string; readonly dockerfile: string; readonly buildArgs: Readonly<Record<string, string>>; readonly noCache: boolean },
    onLine: (line: string) => void,
  ): Promise<InnerBuild> {
    const recent: string[] = [];
    let steps = 0;
    let cachedSteps = 0;
    const args = [
      'build',
      '--tag',
      options.tag,
      '--file',
      options.dockerfile,
      '--rm',
      '--force-rm',
      ...(options.noCache ? ['--no-cache'] : []),
      ...Object.entries(options.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '-',
    ];
    try {
      await this.#docker(args, {
        stdin: context,
        onLine: (line) => {
          if (/^Step \d+\/\d+ :/.test(line)) steps++;
          if (/^ ---> Using cache$/.test(line)) cachedSteps++;
          recent.push(line);
          if (recent.length > 30) recent.shift();
          onLine(line);
        },
      });
    } catch (error) {
      if (!(error instanceof HelperFailedError)) throw error;
      const failingStep = [...recent].reverse().find((l) => /^Step \d+\/\d+ :/.test(l));
      const reason = [...recent].reverse().find((l) => /returned a non-zero code|error|failed/i.test(l)) ?? error.message;
      throw new ImageBuildError(`build failed${failingStep ? ` at ${failingStep}` : ''}: ${reason.trim()}`, {
        details: recent.slice(-20),
        cause: error,
      });
    }
    const imageId = await this.imageId(options.tag);
    if (!imageId) throw new ImageBuildError(`build of ${options.tag} ended without an image`, { details: recent.slice(-20) });
    return { imageId, steps, cachedSteps };
  }

  /** A `docker save` stream of `reference`; `done` settles once the command exited. */
  async save(reference: string): Promise<{ readonly tar: Readable; readonly done: Promise<void> }> {
    const session = await this.deps.docker.execStream(this.containerId, ['docker', 'save', reference]);
    const stderr = new TailBuffer(16 * 1024);
    session.stderr.on('data', (chunk: Buffer) => stderr.append(chunk));
    const done = session.exitCode.then((exitCode) => {
      if (exitCode !== 0) throw new HelperFailedError('dind (docker save)', exitCode, stderr.text().trim().split('\n'));
    });
    done.catch(() => {});
    return { tar: session.stdout, done };
  }

  /** A tar of `path` in a container created (never started) from `reference`, and that container's removal. */
  async copyOut(reference: string, path: string): Promise<{ readonly tar: Readable; readonly done: Promise<void> }> {
    const container = (await this.#docker(['create', reference])).trim();
    const session = await this.deps.docker.execStream(this.containerId, ['docker', 'cp', `${container}:${path}`, '-']);
    const stderr = new TailBuffer(16 * 1024);
    session.stderr.on('data', (chunk: Buffer) => stderr.append(chunk));
    const done = session.exitCode.then(async (exitCode) => {
      await this.#docker(['rm', '-f', container]).catch(() => {});
      if (exitCode !== 0) throw new HelperFailedError('dind (docker cp)', exitCode, stderr.text().trim().split('\n'));
    });
    done.catch(() => {});
    return { tar: session.stdout, done };
  }
}
