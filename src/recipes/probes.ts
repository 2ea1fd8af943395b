/**
 * How a swap judges a container: a full check (every golden DNS query answers as the new
 * config says; a command exits 0; a TCP port accepts), and a quick ping for the query loop
 * that measures the cutover gap. Probes reach a container at its own address, or at a
 * published port on this machine.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { DockerPort } from '../docker/port.js';
import { UsageError } from '../errors.js';
import { QUERY_TYPES, checkGolden, dnsClient, type GoldenQuery, type QueryType } from '../host/dns-query.js';
import type { Probe } from './recipe.js';

export interface ProbeTarget {
  readonly containerId: string;
  readonly host: string;
  /** The probe's port at `host` (a published host port, or the container's own). */
  readonly port: number;
}

export interface ServiceProbe {
  readonly description: string;
  /** The container port the probe talks to (a published binding of it is the service's endpoint). */
  readonly port: number | undefined;
  /** Undefined when healthy, else what was wrong. */
  check(target: ProbeTarget): Promise<string | undefined>;
  /** One cheap request: did it answer? */
  ping(target: ProbeTarget): Promise<boolean>;
}

/** Containers on this engine answer in well under a millisecond; a lost query is retried rather than waited for. */
const QUERY_TIMEOUT_MS = 100;

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`${host}:${port} did not accept within ${timeoutMs} ms`);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`${host}:${port}: ${error.code ?? error.message}`));
  });
}

export function parseGoldenQueries(text: string, origin: string): GoldenQuery[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${origin}: not JSON (${(error as Error).message})`);
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (q: { name?: unknown; type?: unknown; answers?: unknown } | null) =>
        typeof q?.name === 'string' &&
        QUERY_TYPES.includes(q.type as QueryType) &&
        Array.isArray(q.answers) &&
        q.answers.every((answer: unknown) => typeof answer === 'string'),
    );
  if (!valid) throw new UsageError(`${origin}: expected a list of {name, type (${QUERY_TYPES.join(', ')}), answers: [strings]}`);
  if ((parsed as unknown[]).length === 0) throw new UsageError(`${origin}: no golden queries: a probe that asks nothing proves nothing`);
  return parsed as GoldenQuery[];
}

export async function makeProbe(
  docker: DockerPort,
  probe: Probe,
  file: (source: Extract<Probe, { kind: 'dns' }>['queries']) => Promise<string>,
): Promise<ServiceProbe> {
  switch (probe.kind) {
    case 'dns': {
      const path = await file(probe.queries);
      const queries = parseGoldenQueries(await readFile(path, 'utf8'), path);
      const clients = new Map<string, ReturnType<typeof dnsClient>>();
      const client = (target: ProbeTarget) => {
        const key = `${target.host}:${target.port}`;
        let found = clients.get(key);
        if (!found) {
          found = dnsClient(target.host, target.port, QUERY_TIMEOUT_MS);
          clients.set(key, found);
        }
        return found;
      };
      const first = queries[0]!;
      return {
        description: `${queries.length} golden DNS quer${queries.length === 1 ? 'y' : 'ies'} on port ${probe.port}`,
        port: probe.port,
        check: (target) => checkGolden(client(target), queries),
        ping: async (target) => (await checkGolden(client(target), [first])) === undefined,
      };
    }
    case 'tcp':
      return {
        description: `TCP connect to port ${probe.port}`,
        port: probe.port,
        check: (target) => tcpAccepts(target.host, target.port, 1000),
        ping: async (target) => (await tcpAccepts(target.host, target.port, QUERY_TIMEOUT_MS)) === undefined,
      };
    case 'command': {
      const run = async (target: ProbeTarget) => {
        const result = await docker.execInContainer(target.containerId, probe.command, { timeoutMs: 10_000 });
        return result.exitCode === 0
          ? undefined
          : `${probe.command.join(' ')} exited ${result.exitCode}: ${result.output.trim().split('\n').at(-1) ?? ''}`;
      };
      return {
        description: `command ${probe.command.join(' ')}`,
        port: undefined,
        check: run,
        ping: async (target) => (await run(target).catch((error: Error) => error.message)) === undefined,
      };
    }
  }
}
