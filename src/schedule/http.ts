/**
 * The scheduler's health and metrics endpoint: /healthz (the process answers), /ready (it
 * is running jobs), /metrics (Prometheus) and /status (JSON). Loopback only by default:
 * /status names jobs, targets and recent problems, which is not for the whole network.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';
import type { SchedulerMetrics } from './metrics.js';

export interface HealthServerOptions {
  readonly host: string;
  /** 0 picks a free port; the returned url has the real one. */
  readonly port: number;
  readonly metrics: Pick<SchedulerMetrics, 'render' | 'contentType'>;
  /** /ready answers 200 while this is true, 503 otherwise. */
  readonly ready: () => boolean;
  /** Served as JSON on /status. */
  readonly status: () => unknown;
  /** Listen on a non-loopback address too. Default false. */
  readonly allowRemote?: boolean;
}

export interface HealthServer extends AsyncDisposable {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1, IPv4-mapped 127.x and `localhost`. */
export function isLoopback(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  // The WHATWG URL parser writes IPv6 in one canonical form: ::1, and ::ffff:7fxx:xxxx for mapped 127.x.
  const canonical = new URL(`http://[${address}]`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host.replace(/^\[|\]$/g, '');
  if (!options.allowRemote && !isLoopback(host)) {
    throw new UsageError(`refusing to serve health and metrics on ${host || '(all interfaces)'}: it is not a loopback address`, {
      hint: 'listen on 127.0.0.1 or ::1 and put a reverse proxy in front, or pass allowRemote: true',
    });
  }

  const server = createServer((request, response) => {
    void handle(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', `error: ${(error as Error)?.message ?? String(error)}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`cannot listen on ${host}:${options.port}: ${error.code ?? error.message}`, { cause: error }));
    server.once('error', failed);
    server.listen(options.port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections (fetch keeps them) would hold close() open until they time out.
      server.closeAllConnections();
    });
    return closing;
  };
  return { url, close, [Symbol.asyncDispose]: close };
}

const ROUTES = new Set(['/healthz', '/ready', '/metrics', '/status']);

async function handle(options: HealthServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (!ROUTES.has(path)) return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  switch (path) {
    case '/healthz':
      return send(response, 200, 'text/plain; charset=utf-8', 'ok');
    case '/ready':
      return options.ready()
        ? send(response, 200, 'text/plain; charset=utf-8', 'ready')
        : send(response, 503, 'text/plain; charset=utf-8', 'not ready');
    case '/metrics':
      return send(response, 200, options.metrics.contentType, await options.metrics.render());
    case '/status':
      return send(response, 200, 'application/json; charset=utf-8', `${JSON.stringify(options.status(), null, 2)}\n`);
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
