/**
 * The health endpoint against a real loopback server on an ephemeral port, asked with fetch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { type HealthServer, isLoopback, startHealthServer } from '../../../src/schedule/http.js';
import { createSchedulerMetrics } from '../../../src/schedule/metrics.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: { ready?: () => boolean; status?: () => unknown; host?: string } = {}): Promise<HealthServer> {
  const metrics = createSchedulerMetrics();
  metrics.recordLabelError('label on web-1');
  const server = await startHealthServer({
    host: overrides.host ?? '127.0.0.1',
    port: 0,
    metrics,
    ready: overrides.ready ?? (() => true),
    status: overrides.status ?? (() => ({ jobs: [{ name: 'a', next: new Date('2026-11-24T10:00:00Z') }] })),
  });
  servers.push(server);
  return server;
}

describe('startHealthServer', () => {
  it('listens on an ephemeral port and says which', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
  });

  it('answers /healthz with ok', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  it('answers /ready with 200 or 503, asking each time', async () => {
    let ready = false;
    const server = await start({ ready: () => ready });
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });

  it('serves the metrics as Prometheus text', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('dtool_schedule_label_errors_total{origin="label on web-1"} 1');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('serves the status as JSON', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/status?verbose=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ jobs: [{ name: 'a', next: '2026-11-24T10:00:00.000Z' }] });
  });

  it('answers 500, and keeps serving, when status() throws', async () => {
    const server = await start({
      status: () => {
        throw new Error('boom');
      },
    });
    expect((await fetch(`${server.url}/status`)).status).toBe(500);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const server = await start();
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${server.url}/healthz`, { method: 'DELETE' })).status).toBe(405);
  });

  it('listens on IPv6 loopback too', async () => {
    const server = await start({ host: '::1' }).catch((error: Error) => error);
    // Hosts without IPv6 cannot bind ::1; that is the host's limit, not this module's.
    if (server instanceof Error) return;
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('refuses a non-loopback address unless allowRemote, naming the address', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '']) {
      const attempt = startHealthServer({ host, port: 0, metrics: createSchedulerMetrics(), ready: () => true, status: () => ({}) });
      await expect(attempt).rejects.toThrow(UsageError);
      await expect(attempt).rejects.toThrow(host === '' ? /all interfaces/ : new RegExp(`on ${host.replace(/\./g, '\\.')}:`));
    }
    const remote = await startHealthServer({
      host: '0.0.0.0',
      port: 0,
      metrics: createSchedulerMetrics(),
      ready: () => true,
      status: () => ({}),
      allowRemote: true,
    });
    servers.push(remote);
    expect((await fetch(`${remote.url.replace('0.0.0.0', '127.0.0.1')}/healthz`)).status).toBe(200);
  });

  it('reports a port already in use', async () => {
    const first = await start();
    const port = Number(new URL(first.url).port);
    const metrics = createSchedulerMetrics();
    await expect(startHealthServer({ host: '127.0.0.1', port, metrics, ready: () => true, status: () => ({}) })).rejects.toThrow(/EADDRINUSE/);
  });

  it('closes even with a keep-alive connection open, and closing twice is fine', async () => {
    const server = await start();
    await (await fetch(`${server.url}/healthz`)).text();
    await server.close();
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'example.com', '', '128.0.0.1'])('%s is not', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
