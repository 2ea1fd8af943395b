/**
 * The lifecycle of one helper container: create → attach → start → wait → collect →
 * remove. Attach happens before start so no output is lost; output is demultiplexed and
 * capped; the exit code is read only after both streams ended; the container is removed
 * in every case — success, failure, timeout, abort (Ctrl-C, SIGTERM) — and, through the
 * guard and AutoRemove, even when this process is killed outright.
 */
import { AbortedError, HelperFailedError, TimeoutError } from '../errors.js';
import type { Deps } from '../deps.js';
import { FrameDemuxer, TailBuffer, lastLines, lineSplitter, type OutputStream } from '../docker/streams.js';
import type { HelperResult, HelperRunSpec } from '../core/helper-spec.js';
import { launchHelper } from './helper-container.js';

const OUTPUT_LIMIT_BYTES = 1024 * 1024;
const STDERR_TAIL_LINES = 20;
const STOP_GRACE_MS = 5_000;

export interface RunHelperOptions {
  /** Do not throw on a non-zero exit; the caller maps exit codes itself. */
  readonly allowFailure?: boolean;
  /** Called for each complete line of output, as it arrives. */
  readonly onLine?: (stream: OutputStream, line: string) => void;
  /** Runs between create and start (see LaunchOptions). */
  readonly beforeStart?: (containerId: string) => Promise<void>;
  /** Runs once the helper exited, before it is removed: copy outputs out here (with `keepUntilCollected`). */
  readonly afterExit?: (containerId: string, exitCode: number) => Promise<void>;
}

export async function runHelper(deps: Deps, spec: HelperRunSpec, options: RunHelperOptions = {}): Promise<HelperResult> {
  const { docker, reporter, signal } = deps;
  if (signal?.aborted) throw new AbortedError();
  const startedAt = Date.now();
  await using container = await launchHelper(deps, spec, options.beforeStart ? { beforeStart: options.beforeStart } : {});
  const { id: containerId, runId, output } = container;
  let stopReason: 'timeout' | 'abort' | undefined;
  const stopContainer = (reason: 'timeout' | 'abort') => {
    stopReason ??= reason;
    void docker.killContainer(containerId, 'SIGTERM').catch(() => {});
    setTimeout(() => void docker.killContainer(containerId, 'SIGKILL').catch(() => {}), STOP_GRACE_MS).unref();
  };
  const onAbort = () => stopContainer('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = spec.timeoutMs ?? deps.config.helperTimeoutMs;
  const timer = setTimeout(() => stopContainer('timeout'), timeoutMs);
  timer.unref();

  try {
    const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
    const stderr = new TailBuffer(OUTPUT_LIMIT_BYTES);
    const splitters = {
      stdout: lineSplitter((line) => {
        options.onLine?.('stdout', line);
        reporter({ type: 'helper.output', helper: spec.helper, stream: 'stdout', line });
      }),
      stderr: lineSplitter((line) => {
        options.onLine?.('stderr', line);
        reporter({ type: 'helper.output', helper: spec.helper, stream: 'stderr', line });
      }),
    };
    const demuxer = new FrameDemuxer((stream, payload) => {
      (stream === 'stdout' ? stdout : stderr).append(payload);
      splitters[stream](payload);
    });

    const streamEnded = new Promise<void>((resolve, reject) => {
      output.on('data', (chunk: Buffer) => demuxer.push(chunk));
      output.on('end', resolve);
      output.on('close', resolve);
      output.on('error', reject);
    });

    reporter({ type: 'helper.start', helper: spec.helper, runId, containerId });
    const exitCode = await container.exited;
    await streamEnded;
    splitters.stdout(undefined);
    splitters.stderr(undefined);

    const durationMs = Date.now() - startedAt;
    reporter({ type: 'helper.exit', helper: spec.helper, runId, exitCode, durationMs });
    if (stopReason === 'abort') throw new AbortedError(`interrupted; helper ${spec.helper} stopped`);
    if (stopReason === 'timeout') {
      throw new TimeoutError(`helper ${spec.helper} timed out after ${Math.round(timeoutMs / 1000)}s`, {
        details: lastLines(stderr.text(), STDERR_TAIL_LINES),
      });
    }
    const result: HelperResult = {
      helper: spec.helper,
      runId,
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      outputTruncated: stdout.truncated || stderr.truncated,
      durationMs,
    };
    if (stopReason === undefined) await options.afterExit?.(containerId, exitCode);
    if (exitCode !== 0 && !options.allowFailure) {
      throw new HelperFailedError(spec.helper, exitCode, lastLines(result.stderr, STDERR_TAIL_LINES));
    }
    return result;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
