/**
 * Webhooks and pings with a fake fetch (bodies, retry, timeout), and once against a real
 * loopback port where nothing listens.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHooks, type WebhookBody } from '../../../src/schedule/hooks.js';
import { checkJob, type JobKindCatalog, type JobSpec, type RawJob } from '../../../src/schedule/job.js';
import type { RunRecord, SchedulerEvent } from '../../../src/schedule/scheduler.js';

const kinds: JobKindCatalog = { names: ['probe'], check: () => {} };
const WEBHOOK = 'https://hooks.example.com/T0/secret-token';
const PING = 'https://hc-ping.com/0f7c6b2a-secret';

function job(name: string, raw: Partial<RawJob> = {}): JobSpec {
  const checked = checkJob(name, { schedule: '* * * * *', helper: 'probe', ...raw }, 'test', kinds);
  if (Array.isArray(checked)) throw new Error(JSON.stringify(checked));
  return checked;
}

const started: RunRecord = {
  id: 'run-1',
  job: 'backup',
  instant: '2026-11-24T10:00:00.000Z',
  trigger: 'schedule',
  startedAt: '2026-11-24T10:00:00.004Z',
  status: 'running',
  delayMs: 4,
};
const ended = (status: RunRecord['status'], fields: Partial<RunRecord> = {}): RunRecord => ({
  ...started,
  status,
  endedAt: '2026-11-24T10:00:09.000Z',
  exitCode: status === 'ok' ? 0 : 1,
  summary: status === 'ok' ? 'dumped 3 databases' : 'mysqldump: access denied',
  ...fields,
});

interface Call {
  readonly url: string;
  readonly method: string;
  readonly contentType: string | null;
  readonly body: string;
  readonly signal: AbortSignal | undefined;
}

/** A fetch that records each call and answers with the next status (200 when the list runs out). */
function fakeFetch(statuses: (number | Error)[] = []) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      contentType: new Headers(init?.headers).get('content-type'),
      body: typeof init?.body === 'string' ? init.body : '',
      signal: init?.signal ?? undefined,
    });
    const next = statuses.shift() ?? 200;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function setup(statuses: (number | Error)[] = [], timeoutMs = 50) {
  const { fetch, calls } = fakeFetch(statuses);
  const logged: string[] = [];
  const hooks = createHooks({ fetch, timeoutMs, retryDelayMs: 0, log: (message) => logged.push(message) });
  const bodies = () => calls.filter((c) => c.url === WEBHOOK).map((c) => JSON.parse(c.body) as WebhookBody);
  return { hooks, calls, logged, bodies };
}

describe('createHooks: webhook', () => {
  const spec = job('backup', { webhook: WEBHOOK });

  it('POSTs JSON on start, success and failure', async () => {
    const { hooks, calls, bodies } = setup();
    await hooks.observe({ type: 'run.start', job: spec, record: started });
    await hooks.observe({ type: 'run.end', job: spec, record: ended('ok'), recovered: false });
    await hooks.observe({ type: 'run.end', job: spec, record: ended('timeout'), recovered: false });

    expect(calls.every((c) => c.method === 'POST' && c.contentType === 'application/json')).toBe(true);
    expect(bodies()).toEqual([
      { event: 'start', job: 'backup', instant: '2026-11-24T10:00:00.000Z', record: started },
      { event: 'success', job: 'backup', instant: '2026-11-24T10:00:00.000Z', record: ended('ok') },
      { event: 'failure', job: 'backup', instant: '2026-11-24T10:00:00.000Z', record: ended('timeout') },
    ]);
  });

  it('sends success then a separate recovery when the run recovered', async () => {
    const { hooks, bodies } = setup();
    await hooks.observe({ type: 'run.end', job: spec, record: ended('ok'), recovered: true });
    expect(bodies().map((b) => b.event)).toEqual(['success', 'recovery']);
    expect(bodies()[1]!.record).toEqual(ended('ok'));
  });

  it('sends skips with their reason and detail, and stuck runs', async () => {
    const { hooks, bodies } = setup();
    await hooks.observe({ type: 'run.skip', job: spec, instant: '2026-11-24T10:01:00.000Z', reason: 'overlap', detail: 'run-1 still running' });
    await hooks.observe({ type: 'run.stuck', job: spec, record: ended('stuck') });
    expect(bodies()).toEqual([
      { event: 'skip', job: 'backup', instant: '2026-11-24T10:01:00.000Z', reason: 'overlap', detail: 'run-1 still running' },
      { event: 'stuck', job: 'backup', instant: '2026-11-24T10:00:00.000Z', record: ended('stuck') },
    ]);
  });

  it('sends nothing for a job without hooks, nor for jobs.loaded', async () => {
    const { hooks, calls } = setup();
    const plain = job('plain');
    await hooks.observe({ type: 'run.start', job: plain, record: started });
    await hooks.observe({ type: 'run.end', job: plain, record: ended('failed'), recovered: false });
    await hooks.observe({ type: 'jobs.loaded', jobs: [spec, plain] });
    expect(calls).toEqual([]);
  });

  it('retries once after a non-2xx answer, and is quiet when the retry works', async () => {
    const { hooks, calls, logged } = setup([503]);
    await hooks.observe({ type: 'run.start', job: spec, record: started });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body).toBe(calls[0]!.body);
    expect(logged).toEqual([]);
  });

  it('retries once after a network error, then logs (without the secret path) and resolves', async () => {
    const { hooks, calls, logged } = setup([new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }), 500, 500]);
    await expect(hooks.observe({ type: 'run.start', job: spec, record: started })).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/webhook start for job backup to https:\/\/hooks\.example\.com\/… failed twice: HTTP 500/);
    expect(logged[0]).not.toContain('secret');
  });

  it('gives up on an endpoint that never answers after the timeout, twice', async () => {
    const calls: (AbortSignal | undefined)[] = [];
    const hanging = ((_input: string | URL | Request, init?: RequestInit) => {
      calls.push(init?.signal ?? undefined);
      return new Promise<Response>(() => {});
    }) as typeof fetch;
    const logged: string[] = [];
    const hooks = createHooks({ fetch: hanging, timeoutMs: 50, retryDelayMs: 0, log: (m) => logged.push(m) });

    const begun = performance.now();
    await hooks.observe({ type: 'run.start', job: spec, record: started });
    const elapsed = performance.now() - begun;
    expect(calls).toHaveLength(2);
    expect(calls.every((signal) => signal?.aborted)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    expect(logged).toEqual([expect.stringMatching(/failed twice: no answer within 50ms/)]);
  });

  it('never throws, even when the logger does', async () => {
    const { fetch } = fakeFetch([500, 500]);
    const hooks = createHooks({
      fetch,
      retryDelayMs: 0,
      log: () => {
        throw new Error('log closed');
      },
    });
    await expect(hooks.observe({ type: 'run.start', job: spec, record: started })).resolves.toBeUndefined();
  });
});

describe('createHooks: ping', () => {
  const spec = job('backup', { ping: PING });

  it('pings /start, the URL itself on success, and /fail on failure, timeout and stuck', async () => {
    const { hooks, calls } = setup();
    const events: SchedulerEvent[] = [
      { type: 'run.start', job: spec, record: started },
      { type: 'run.end', job: spec, record: ended('ok'), recovered: false },
      { type: 'run.end', job: spec, record: ended('failed', { outputTail: ['line 1', 'access denied'] }), recovered: false },
      { type: 'run.end', job: spec, record: ended('timeout'), recovered: false },
      { type: 'run.stuck', job: spec, record: ended('stuck') },
      { type: 'run.skip', job: spec, instant: started.instant, reason: 'overlap', detail: 'x' },
    ];
    for (const event of events) await hooks.observe(event);

    expect(calls.map((c) => c.url)).toEqual([`${PING}/start`, PING, `${PING}/fail`, `${PING}/fail`, `${PING}/fail`]);
    expect(calls[2]!.body).toBe('failed (exit 1): mysqldump: access denied\nline 1\naccess denied');
  });

  it('does not double a trailing slash', async () => {
    const { hooks, calls } = setup();
    await hooks.observe({ type: 'run.start', job: job('backup', { ping: `${PING}/` }), record: started });
    expect(calls.map((c) => c.url)).toEqual([`${PING}/start`]);
  });

  it('sends the webhook and the ping of a job that has both', async () => {
    const { hooks, calls } = setup();
    await hooks.observe({ type: 'run.start', job: job('backup', { ping: PING, webhook: WEBHOOK }), record: started });
    expect(calls.map((c) => c.url).sort()).toEqual([`${PING}/start`, WEBHOOK].sort());
  });

  it('retries once, then logs', async () => {
    const { hooks, calls, logged } = setup([500, 502]);
    await hooks.observe({ type: 'run.end', job: spec, record: ended('failed'), recovered: false });
    expect(calls).toHaveLength(2);
    expect(logged).toEqual([expect.stringMatching(/^ping \/fail for job backup to https:\/\/hc-ping\.com\/… failed twice: HTTP 502$/)]);
  });
});

describe('createHooks: a real endpoint that is down', () => {
  it('logs the refused connection and resolves', async () => {
    const port = await freePort();
    const logged: string[] = [];
    const hooks = createHooks({ timeoutMs: 1_000, retryDelayMs: 10, log: (m) => logged.push(m) });
    const spec = job('backup', { webhook: `http://127.0.0.1:${port}/hook`, ping: `http://127.0.0.1:${port}/ping` });

    await expect(hooks.observe({ type: 'run.end', job: spec, record: ended('failed'), recovered: false })).resolves.toBeUndefined();
    expect(logged).toHaveLength(2);
    for (const line of logged) expect(line).toMatch(/failed twice: .*ECONNREFUSED/);
  });
});

/** A loopback port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}
