/**
 * A helper that serves rather than runs to completion (e.g. a throwaway database server).
 * Started, awaited until its log says it is ready, and removed when disposed: use it with
 * `await using`. The attach connection stays open for the service's whole life: it is what
 * stops the service (through dtool-guard) if this process dies while it runs.
 */
import type { Deps } from '../deps.js';
import type { ContainerDetails } from '../docker/port.js';
import { FrameDemuxer, TailBuffer, lastLines } from '../docker/streams.js';
import { AbortedError, HelperFailedError, TimeoutError } from '../errors.js';
import type { HelperRunSpec } from '../core/helper-spec.js';
import { launchHelper } from './helper-container.js';

export interface StartedService extends AsyncDisposable {
  readonly runId: string;
  readonly details: ContainerDetails;
}

export interface ReadyWhen {
  /** Tested against the service's combined output as it arrives. */
  readonly logMatches: RegExp;
  readonly timeoutMs: number;
}

export async function startService(deps: Deps, spec: HelperRunSpec, readyWhen: ReadyWhen): Promise<StartedService> {
  const { docker } = deps;
  const container = await launchHelper(deps, spec);
  try {
    const id = container.id;
    const output = new TailBuffer(64 * 1024);
    const stream = container.output;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      let seen = '';
      const demuxer = new FrameDemuxer((_, payload) => {
        output.append(payload);
        // Keep a window large enough for a ready line split across frames.
        seen = (seen + payload.toString('utf8')).slice(-8192);
        if (readyWhen.logMatches.test(seen)) resolve();
      });
      timer = setTimeout(
        () =>
          reject(new TimeoutError(`${spec.helper} was not ready after ${readyWhen.timeoutMs / 1000}s`, { details: lastLines(output.text(), 20) })),
        readyWhen.timeoutMs,
      );
      onAbort = () => reject(new AbortedError());
      deps.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
      // Output ending before the ready line means the service died while starting.
      stream.on('end', () => {
        container.exited.then((exitCode) => reject(new HelperFailedError(spec.helper, exitCode, lastLines(output.text(), 20))), reject);
      });
    });
    try {
      await ready;
    } finally {
      clearTimeout(timer);
      if (onAbort) deps.signal?.removeEventListener('abort', onAbort);
    }
    // Output after the ready line is not read; drain it so the engine never blocks on it.
    stream.removeAllListeners('data');
    stream.removeAllListeners('end');
    stream.resume();
    const details = await docker.inspectContainer(id);
    if (!details) throw new HelperFailedError(spec.helper, -1, ['service container vanished after start']);
    return { runId: container.runId, details, [Symbol.asyncDispose]: () => container[Symbol.asyncDispose]() };
  } catch (error) {
    await container[Symbol.asyncDispose]();
    throw error;
  }
}
