import { describe, expect, it } from 'vitest';
import type { DockerPort, ImageDetails, SwarmTask } from '../../../src/docker/port.js';
import { NotFoundError, UsageError } from '../../../src/errors.js';
import { parseConstraints } from '../../../src/swarm/constraints.js';
import { NotSwarmManagerError } from '../../../src/swarm/errors.js';
import { placeOnTargetNode } from '../../../src/swarm/placement.js';
import { ImageCatalog } from '../../../src/run/build-image.js';
import { FakeDocker, fakeDeps, runningContainer, swarmNode, swarmTask } from '../../support/fake-docker.js';

const image = (id: string, tag: string): ImageDetails => ({
  id,
  tags: [tag],
  sizeBytes: 1,
  labels: {},
  env: [],
  cmd: undefined,
  entrypoint: undefined,
  created: '',
});

/** A manager and two workers; `db` runs one task per node listed. */
function swarm(taskNodes: readonly string[]) {
  const docker = new FakeDocker();
  docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
  docker.nodes = [swarmNode('manager', { role: 'manager' }), swarmNode('worker1'), swarmNode('worker2')];
  const tasks: SwarmTask[] = taskNodes.map((node) =>
    swarmTask(`id-${node}`, { id: `t-${node}`, state: 'running', desiredState: 'running', containerId: `c-${node}` }),
  );
  docker.listTasks = async (filter) => (filter.serviceId === 'db' ? tasks : []);
  const worker1 = new FakeDocker();
  worker1.containers.set('c-worker1', runningContainer('db.1.abc', { id: 'c-worker1' }));
  const connected: string[] = [];
  const base = fakeDeps({ docker });
  const deps = {
    ...base,
    images: new ImageCatalog(docker, base.config, base.reporter),
    connectEngine: async (address: string): Promise<DockerPort> => {
      connected.push(address);
      return worker1;
    },
  };
  return { docker, worker1, deps, connected };
}

describe('placeOnTargetNode', () => {
  it("finds the node that runs the service's task and works through that node's engine", async () => {
    const { deps, worker1, connected } = swarm(['worker1']);
    const placed = await placeOnTargetNode(deps, 'db');
    expect(placed.node.hostname).toBe('worker1');
    expect(placed.container).toBe('db.1.abc');
    expect(placed.deps.docker).toBe(worker1);
    expect(connected).toEqual(['unix:///run/worker1.sock']);
  });

  it("loads an image into the node from this engine before the node's catalog uses it", async () => {
    const { deps, docker, worker1 } = swarm(['worker1']);
    const placed = await placeOnTargetNode(deps, 'db');
    const reference = deps.images.reference('mysql-tools', await deps.images.contentHash('mysql-tools'));
    docker.images.set(reference, image('sha256:tools', reference));
    worker1.loads = new Map([[reference, image('sha256:tools', reference)]]);
    const built = await placed.deps.images.ensure('mysql-tools');
    expect(built).toMatchObject({ reference, cached: true });
    expect(worker1.images.get(reference)?.id).toBe('sha256:tools');
  });

  it('refuses an engine that is no manager', async () => {
    const { deps, docker } = swarm(['worker1']);
    docker.swarm = { nodeId: 'id-worker1', localState: 'active', isManager: false };
    await expect(placeOnTargetNode(deps, 'db')).rejects.toBeInstanceOf(NotSwarmManagerError);
  });

  it('names a service with no running task', async () => {
    const { deps } = swarm([]);
    await expect(placeOnTargetNode(deps, 'db')).rejects.toThrow(NotFoundError);
    await expect(placeOnTargetNode(deps, 'db')).rejects.toThrow(/service db has no running task/);
  });

  it('asks for a constraint when several nodes run the service, and honours it', async () => {
    const { deps } = swarm(['worker1', 'worker2']);
    await expect(placeOnTargetNode(deps, 'db')).rejects.toThrow(UsageError);
    await expect(placeOnTargetNode(deps, 'db')).rejects.toThrow(/worker1, worker2.*--constraint/);
    const placed = await placeOnTargetNode(deps, 'db', parseConstraints(['node.hostname==worker1']));
    expect(placed.node.hostname).toBe('worker1');
  });

  it('refuses a node without an engine address', async () => {
    const { deps, docker } = swarm(['worker1']);
    docker.nodes = docker.nodes.map((n) => (n.hostname === 'worker1' ? { ...n, labels: {} } : n));
    await expect(placeOnTargetNode(deps, 'db')).rejects.toThrow(/worker1 has no dtool.engine label/);
  });
});
