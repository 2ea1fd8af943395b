/**
 * The local swarm itself (scripts/swarm.sh): three Ready nodes, each labelled with and
 * reachable through its engine socket, each holding this engine's base image; overlay
 * networking between nodes; and a worker stopped and started again comes back Ready with
 * its identity and data.
 *
 * This kernel has no IPVS (CONFIG_IP_VS unset), so a service's virtual IP does not route
 * (connect: "No route to host"); containers by name and services with
 * `--endpoint-mode dnsrr` (or `tasks.<service>`) do, and that is what is checked here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support.js';
import {
  dockerOn,
  ENGINE_LABEL,
  engineAddress,
  ensureSwarm,
  nodeState,
  SWARM_MANAGER,
  SWARM_WORKERS,
  type Swarm,
  startNode,
  stopNode,
  swarmNodes,
} from './swarm-fixture.js';

const BASE_IMAGE = 'debian:bookworm-slim';
const suffix = randomBytes(3).toString('hex');
let swarm: Swarm;

const hostImageId = (ref: string) => execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref], { encoding: 'utf8' }).trim();

// A TCP server answering "pong from <hostname>" on port 7000: perl-base is in the slim image,
// ping and nc are not.
const PONG_SERVER = `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 7000, Listen => 5, ReuseAddr => 1) or die "$!";
while ($c = $s->accept) { print $c "pong from " . \`hostname\`; close $c }'`;
const pong = (name: string) => `exec 3<>/dev/tcp/${name}/7000 && cat <&3`;

beforeAll(async () => {
  swarm = await ensureSwarm();
});

describe('the local swarm', () => {
  it('has three Ready nodes: one manager, two workers', async () => {
    expect(swarm.managerAddress).toBe(engineAddress(SWARM_MANAGER));
    expect(swarm.nodes.map((n) => [n.hostname, n.role])).toEqual([
      [SWARM_MANAGER, 'manager'],
      [SWARM_WORKERS[0], 'worker'],
      [SWARM_WORKERS[1], 'worker'],
    ]);
    for (const node of swarm.nodes) expect(await nodeState(node.hostname)).toBe('ready');
  });

  it(`labels every node with ${ENGINE_LABEL}, whose engine answers and has ${BASE_IMAGE}`, async () => {
    const baseId = hostImageId(BASE_IMAGE);
    for (const node of swarm.nodes) {
      expect(node.engineAddress).toBe(engineAddress(node.hostname));
      const [name, nodeId] = (await dockerOn(node.engineAddress, ['info', '-f', '{{.Name}} {{.Swarm.NodeID}}'])).split(' ');
      expect({ name, nodeId }).toEqual({ name: node.hostname, nodeId: node.id });
      expect(await dockerOn(node.engineAddress, ['image', 'inspect', '-f', '{{.Id}}', BASE_IMAGE])).toBe(baseId);
    }
  });

  it("has dtool's images on the manager, under this engine's tags", async () => {
    const latest = execFileSync('docker', ['images', '--filter', 'reference=dtool/*:latest', '--format', '{{.Repository}}:{{.Tag}}'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    expect(latest.length).toBeGreaterThan(0);
    for (const ref of latest) {
      expect(await dockerOn(swarm.managerAddress, ['image', 'inspect', '-f', '{{.Id}}', ref])).toBe(hostImageId(ref));
    }
  });

  it('connects containers and dnsrr service tasks on different nodes over an attachable overlay network', async () => {
    const [worker1, worker2] = swarm.nodes.filter((n) => n.role === 'worker');
    const network = `dtool-it-overlay-${suffix}`;
    const [a, b, service] = [`dtool-it-a-${suffix}`, `dtool-it-b-${suffix}`, `dtool-it-svc-${suffix}`];
    await dockerOn(swarm.managerAddress, ['network', 'create', '--driver', 'overlay', '--attachable', network]);
    try {
      const server = (node: typeof worker1, name: string) =>
        dockerOn(node!.engineAddress, ['run', '-d', '--name', name, '--hostname', name, '--network', network, BASE_IMAGE, 'sh', '-c', PONG_SERVER]);
      await server(worker1, a);
      await server(worker2, b);
      // The way a backup helper reaches a MariaDB task on another node: by service name, DNS round-robin.
      await dockerOn(swarm.managerAddress, [
        'service',
        'create',
        '--detach',
        '--name',
        service,
        '--endpoint-mode',
        'dnsrr',
        '--network',
        network,
        '--constraint',
        `node.hostname==${worker1!.hostname}`,
        BASE_IMAGE,
        'sh',
        '-c',
        PONG_SERVER,
      ]);
      const ask = (node: typeof worker1, from: string, to: string) =>
        pollUntil(
          () => dockerOn(node!.engineAddress, ['exec', from, 'bash', '-c', pong(to)]).catch((error: Error) => error.message),
          (answer) => answer.startsWith('pong from'),
          60_000,
        );
      expect(await ask(worker2, b, a)).toBe(`pong from ${a}`);
      expect(await ask(worker1, a, b)).toBe(`pong from ${b}`);
      expect(await ask(worker2, b, service)).toMatch(/^pong from [0-9a-f]{12}$/);
    } finally {
      await dockerOn(swarm.managerAddress, ['service', 'rm', service]).catch(() => {});
      for (const [node, name] of [
        [worker1!, a],
        [worker2!, b],
      ] as const) {
        await dockerOn(node.engineAddress, ['rm', '-f', name]).catch(() => {});
      }
      // The network goes once the service's task is gone.
      await pollUntil(
        () =>
          dockerOn(swarm.managerAddress, ['network', 'rm', network]).then(
            () => true,
            () => false,
          ),
        (removed) => removed,
        30_000,
      );
    }
  });

  it('takes a stopped worker as Down, and back as Ready with its identity and data when started', async () => {
    const worker = swarm.nodes.find((n) => n.hostname === SWARM_WORKERS[1])!;
    await stopNode(worker.hostname);
    expect(await nodeState(worker.hostname)).toBe('down');
    await startNode(worker.hostname);
    expect(await nodeState(worker.hostname)).toBe('ready');
    // The same node (not a new one joined), its socket where it was, its images kept.
    expect((await swarmNodes()).find((n) => n.hostname === worker.hostname)).toEqual(worker);
    expect(await dockerOn(worker.engineAddress, ['info', '-f', '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}'])).toBe(`active ${worker.id}`);
    expect(await dockerOn(worker.engineAddress, ['image', 'inspect', '-f', '{{.Id}}', BASE_IMAGE])).toBe(hostImageId(BASE_IMAGE));
  });
});
