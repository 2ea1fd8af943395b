/**
 * One-off work on a swarm (a backup, a db-init) runs on the node that runs its target.
 *
 * dtool asks the manager which node runs the target service's task, then does the work
 * through that node's engine (its `dtool.engine` label, the address images are loaded
 * through), exactly as on a single engine. A Swarm job cannot serve this work: the backup's
 * output-folder session, secrets delivered by exec, the verification server and `--fetch`
 * all need the container API (exec, attach, archive) on the node, which a service's task
 * only offers through that node's engine anyway. Images come from this engine (built here
 * when missing) and are loaded into the node's when it lacks them.
 */
import type { Deps } from '../deps.js';
import type { DockerPort, SwarmNode } from '../docker/port.js';
import { NotFoundError, UsageError } from '../errors.js';
import { type BuiltImage, ImageCatalog } from '../run/build-image.js';
import { type Constraint, matchesConstraint } from './constraints.js';
import { ENGINE_LABEL, distributeImage } from './images.js';
import { managerNodeId } from './manager.js';

/** A service's running task, and the node (and engine) it runs on. */
export interface PlacedTarget {
  readonly service: string;
  readonly node: SwarmNode;
  /** The task's container, by its name on the node's engine. */
  readonly container: string;
  /** dtool's effects, with the node's engine in place of this one. */
  readonly deps: Deps;
}

/**
 * The image catalog of a node's engine: an image is ensured here first (built if missing),
 * then loaded into the node unless it has the same image already.
 */
class NodeImageCatalog extends ImageCatalog {
  readonly #source: ImageCatalog;
  readonly #load: (reference: string) => Promise<void>;

  constructor(node: DockerPort, source: Deps, load: (reference: string) => Promise<void>) {
    super(node, source.config, source.reporter);
    this.#source = source.images;
    this.#load = load;
  }

  override async build(name: string, options: { readonly force?: boolean; readonly signal?: AbortSignal } = {}): Promise<BuiltImage> {
    const built = await this.#source.ensure(name);
    await this.#load(built.reference);
    return super.build(name, options);
  }
}

/** Where a service's task runs, with the effects to work there. */
export async function placeOnTargetNode(deps: Deps, service: string, constraints: readonly Constraint[] = []): Promise<PlacedTarget> {
  const selfNodeId = await managerNodeId(deps.docker);
  const tasks = (await deps.docker.listTasks({ serviceId: service })).filter((t) => t.state === 'running' && t.desiredState === 'running');
  const nodes = new Map((await deps.docker.listNodes()).map((n) => [n.id, n]));
  const candidates = tasks.filter((t) => {
    const node = nodes.get(t.nodeId);
    return node !== undefined && constraints.every((c) => matchesConstraint(node, c));
  });
  if (candidates.length === 0) {
    throw new NotFoundError(
      tasks.length === 0
        ? `service ${service} has no running task on the swarm`
        : `no running task of service ${service} is on a node matching the constraints`,
      { hint: `docker service ps ${service}` },
    );
  }
  if (candidates.length > 1) {
    const where = candidates.map((t) => nodes.get(t.nodeId)?.hostname ?? t.nodeId).join(', ');
    throw new UsageError(`service ${service} runs ${candidates.length} tasks (on ${where}): choose one with --constraint node.hostname==NODE`);
  }
  const task = candidates[0]!;
  const node = nodes.get(task.nodeId)!;
  const engine = task.nodeId === selfNodeId ? deps.docker : await connectNode(deps, node);
  const container = await engine.inspectContainer(task.containerId);
  if (!container) throw new NotFoundError(`the task of service ${service} on ${node.hostname} has no container on that node's engine`);

  const load = async (reference: string): Promise<void> => {
    const status = (await distributeImage(deps, reference, [node], selfNodeId)).get(node.id);
    if (status?.status === 'failed') throw new UsageError(status.error);
  };
  const nodeDeps: Deps = engine === deps.docker ? deps : { ...deps, docker: engine, images: new NodeImageCatalog(engine, deps, load) };
  return { service, node, container: container.name, deps: nodeDeps };
}

async function connectNode(deps: Deps, node: SwarmNode): Promise<DockerPort> {
  const address = node.labels[ENGINE_LABEL];
  if (!address) {
    throw new UsageError(`node ${node.hostname} has no ${ENGINE_LABEL} label: dtool cannot reach its engine`, {
      hint: `docker node update --label-add ${ENGINE_LABEL}=tcp://HOST:2376 ${node.hostname} (its engine's address, as DOCKER_HOST spells it)`,
    });
  }
  return deps.connectEngine(address);
}
