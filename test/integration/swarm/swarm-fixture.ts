/**
 * The local 3-node swarm of scripts/swarm.sh, for integration tests: `ensureSwarm()` brings it
 * up (a few seconds when it already is) and describes its nodes as the manager sees them.
 * Every node's engine is reachable from this machine through the socket named by its
 * `dtool.engine` node label. The swarm outlives the run unless the global teardown removes
 * it (`swarmTeardownWanted`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SWARM_SCRIPT = fileURLToPath(new URL('../../../scripts/swarm.sh', import.meta.url));
export const SWARM_DIR = process.env.DTOOL_SWARM_DIR ?? '/run/dtool-swarm';
export const SWARM_MANAGER = 'dtool-swarm-manager';
export const SWARM_WORKERS = ['dtool-swarm-worker1', 'dtool-swarm-worker2'] as const;
/** The node label through which dtool reaches a node's engine. */
export const ENGINE_LABEL = 'dtool.engine';

export interface SwarmNode {
  readonly hostname: string;
  readonly id: string;
  /** `unix:///run/dtool-swarm/<hostname>/docker.sock`: a DOCKER_HOST for this node's engine. */
  readonly engineAddress: string;
  readonly role: 'manager' | 'worker';
}

export interface Swarm {
  /** DOCKER_HOST of the manager's engine. */
  readonly managerAddress: string;
  readonly nodes: readonly SwarmNode[];
}

export function engineAddress(hostname: string): string {
  return `unix://${SWARM_DIR}/${hostname}/docker.sock`;
}

/** `docker ARGS…` against the engine at `address`; resolves with its trimmed stdout. */
export async function dockerOn(address: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await run('docker', [...args], {
    env: { ...process.env, DOCKER_HOST: address },
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 120_000,
  });
  return stdout.trim();
}

async function swarmScript(...args: string[]): Promise<string> {
  // The script's own `docker` calls are this machine's engine, whatever DOCKER_HOST the test set.
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  try {
    const { stdout } = await run('bash', [SWARM_SCRIPT, ...args], { env, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/swarm.sh ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

interface NodeInspect {
  ID: string;
  Description: { Hostname: string };
  Spec: { Role: 'manager' | 'worker'; Labels?: Record<string, string> };
}

/** The nodes as the manager lists them, the manager first. */
export async function swarmNodes(managerAddress = engineAddress(SWARM_MANAGER)): Promise<SwarmNode[]> {
  const ids = (await dockerOn(managerAddress, ['node', 'ls', '-q'])).split('\n').filter(Boolean);
  const nodes = JSON.parse(await dockerOn(managerAddress, ['node', 'inspect', ...ids])) as NodeInspect[];
  return nodes
    .map((node) => ({
      hostname: node.Description.Hostname,
      id: node.ID,
      engineAddress: node.Spec.Labels?.[ENGINE_LABEL] ?? '',
      role: node.Spec.Role,
    }))
    .sort((a, b) => (a.role === b.role ? a.hostname.localeCompare(b.hostname) : a.role === 'manager' ? -1 : 1));
}

/** A node's state as the manager sees it: `ready`, `down`, `unknown`… */
export async function nodeState(hostname: string): Promise<string> {
  return dockerOn(engineAddress(SWARM_MANAGER), ['node', 'inspect', '-f', '{{.Status.State}}', hostname]);
}

let pending: Promise<Swarm> | undefined;

/** Brings the swarm up (idempotent: done in a few seconds when it is already up), once per test file. */
export function ensureSwarm(): Promise<Swarm> {
  pending ??= (async () => {
    // Its closing line says how long `up` took.
    process.stdout.write(await swarmScript('up'));
    const managerAddress = engineAddress(SWARM_MANAGER);
    return { managerAddress, nodes: await swarmNodes(managerAddress) };
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}

/** Stops a worker's container; resolves once the manager reports the node down. */
export async function stopNode(name: string): Promise<void> {
  await swarmScript('stop-node', name);
}

/** Starts a worker's container again; resolves once its engine answers and the node is Ready. */
export async function startNode(name: string): Promise<void> {
  await swarmScript('start-node', name);
}

/** Whether the integration run's global teardown removes the swarm: DTOOL_SWARM_TEARDOWN=1|0, by default in CI only. */
export function swarmTeardownWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.DTOOL_SWARM_TEARDOWN === '1' || env.DTOOL_SWARM_TEARDOWN === '0') return env.DTOOL_SWARM_TEARDOWN === '1';
  return env.CI === 'true';
}

/** `scripts/swarm.sh down`: the containers, volumes, network and socket dirs; nothing to do when there is no swarm. */
export async function swarmDown(): Promise<void> {
  await swarmScript('down');
}
