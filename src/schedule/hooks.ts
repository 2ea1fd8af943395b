/**
 * Per-job notifications from SchedulerEvents: a JSON webhook and a healthchecks.io-style
 * ping. A hook is best effort: each request has a timeout and one retry, and a failure is
 * logged, never thrown, so a dead endpoint cannot disturb the schedule.
 */
import type { RunRecord, SchedulerEvent, SkipReason } from './scheduler.js';

export type WebhookEventName = 'start' | 'success' | 'failure' | 'recovery' | 'skip' | 'stuck';

/** The JSON body POSTed to a job's webhook. */
export interface WebhookBody {
  readonly event: WebhookEventName;
  readonly job: string;
  readonly instant: string;
  readonly record?: RunRecord;
  readonly reason?: SkipReason;
  readonly detail?: string;
}

export interface HookOptions {
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Per attempt. Default 5000. */
  readonly timeoutMs?: number;
  /** Wait before the single retry. Default 1000. */
  readonly retryDelayMs?: number;
  /** Where a request that failed twice is reported. */
  readonly log: (message: string) => void;
}

export interface Hooks {
  /** Sends what the event calls for; resolves when every request has succeeded or given up. Never rejects. */
  observe(event: SchedulerEvent): Promise<void>;
}

interface Request {
  readonly what: string;
  readonly url: string;
  readonly init: RequestInit;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;
const USER_AGENT = 'dtool-scheduler';

export function createHooks(options: HookOptions): Hooks {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const log = (message: string) => {
    try {
      options.log(message);
    } catch {
      // A broken logger must not turn a hook failure into a scheduler failure either.
    }
  };

  const attempt = async (request: Request): Promise<void> => {
    const signal = AbortSignal.timeout(timeoutMs);
    // Raced as well as passed: a fetch that ignores its signal still cannot hang the hook.
    const timedOut = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    timedOut.catch(() => {});
    const response = await Promise.race([fetchImpl(request.url, { ...request.init, signal }), timedOut]).catch((error: unknown) => {
      throw signal.aborted ? new Error(`no answer within ${timeoutMs}ms`) : error;
    });
    // Drain the body so the connection can be reused; its content does not matter.
    void response.body?.cancel().catch(() => {});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  };

  const send = async (request: Request): Promise<void> => {
    try {
      await attempt(request);
      return;
    } catch {
      // One retry: a restarting receiver or a dropped connection is the common case.
    }
    if (retryDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    try {
      await attempt(request);
    } catch (error) {
      log(`${request.what} to ${redact(request.url)} failed twice: ${reasonOf(error)}`);
    }
  };

  return {
    async observe(event) {
      try {
        const { webhooks, pings } = requestsFor(event);
        await Promise.all([
          // In order: a receiver should see `failure`… `success`, `recovery`, not the reverse.
          (async () => {
            for (const request of webhooks) await send(request);
          })(),
          ...pings.map(send),
        ]);
      } catch (error) {
        log(`hook for ${event.type} failed: ${reasonOf(error)}`);
      }
    },
  };
}

function requestsFor(event: SchedulerEvent): { webhooks: Request[]; pings: Request[] } {
  if (event.type === 'jobs.loaded') return { webhooks: [], pings: [] };
  const { job } = event;
  const bodies: WebhookBody[] = [];
  let ping: { suffix: string; body: string } | undefined;
  switch (event.type) {
    case 'run.start':
      bodies.push({ event: 'start', job: job.name, instant: event.record.instant, record: event.record });
      ping = { suffix: '/start', body: '' };
      break;
    case 'run.end': {
      const ok = event.record.status === 'ok';
      // Interrupted and timed-out runs are failures too: the scheduler's next success after them is a recovery.
      bodies.push({ event: ok ? 'success' : 'failure', job: job.name, instant: event.record.instant, record: event.record });
      if (event.recovered) bodies.push({ event: 'recovery', job: job.name, instant: event.record.instant, record: event.record });
      ping = { suffix: ok ? '' : '/fail', body: pingBody(event.record) };
      break;
    }
    case 'run.stuck':
      bodies.push({ event: 'stuck', job: job.name, instant: event.record.instant, record: event.record });
      ping = { suffix: '/fail', body: pingBody(event.record) };
      break;
    case 'run.skip':
      bodies.push({ event: 'skip', job: job.name, instant: event.instant, reason: event.reason, detail: event.detail });
      break;
  }
  const webhook = job.webhook;
  const webhooks: Request[] = webhook
    ? bodies.map((body) => ({
        what: `webhook ${body.event} for job ${job.name}`,
        url: webhook,
        init: { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT }, body: JSON.stringify(body) },
      }))
    : [];
  const pings: Request[] =
    job.ping && ping
      ? [
          {
            what: `ping ${ping.suffix || '(success)'} for job ${job.name}`,
            url: `${job.ping.replace(/\/+$/, '')}${ping.suffix}`,
            // healthchecks.io keeps a POST body with the ping: the summary and the output tail show up in its log.
            init: { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': USER_AGENT }, body: ping.body },
          },
        ]
      : [];
  return { webhooks, pings };
}

function pingBody(record: RunRecord): string {
  return [
    `${record.status}${record.exitCode !== undefined ? ` (exit ${record.exitCode})` : ''}: ${record.summary ?? ''}`,
    ...(record.outputTail ?? []),
  ].join('\n');
}

/** Webhook and ping URLs often carry a secret token in their path or query: logs get the origin only. */
function redact(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(invalid URL)';
  }
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici's network errors are a bare "fetch failed" with the useful code in the cause.
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ? `${error.message} (${cause.code})` : cause?.message ? `${error.message}: ${cause.message}` : error.message;
}
