/**
 * A backup target is a running container, named by `--link CONTAINER[:ALIAS]` or selected by
 * label. How a helper reaches it depends on the target's network: a legacy link on the
 * default bridge (as `docker run --link` did), the same user-defined network otherwise, or
 * the host's network stack.
 */
import type { ContainerDetails, DockerPort } from '../../docker/port.js';
import { NotFoundError, UsageError } from '../../errors.js';
import type { HelperNetwork } from '../../core/helper-spec.js';

export interface LinkSpec {
  readonly container: string;
  readonly alias?: string;
}

export interface ResolvedTarget {
  /** Names the target's folder and files: the alias, else the container's name. */
  readonly name: string;
  readonly container: ContainerDetails;
  readonly host: string;
  readonly network: HelperNetwork;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function parseLink(value: string): LinkSpec {
  const [container, alias, extra] = value.split(':');
  if (!container || extra !== undefined || alias === '') {
    throw new UsageError(`--link expects CONTAINER or CONTAINER:ALIAS, not "${value}"`);
  }
  if (alias !== undefined && !SAFE_NAME.test(alias)) {
    throw new UsageError(`link alias "${alias}" may hold only letters, digits, "_", "." and "-"`);
  }
  return alias === undefined ? { container } : { container, alias };
}

export function parseLabelSelector(value: string): string {
  if (!/^[^=\s]+(=[^\s]*)?$/.test(value)) throw new UsageError(`--label expects KEY or KEY=VALUE, not "${value}"`);
  return value;
}

/** Pure: how a helper reaches this container. */
export function connectionFor(container: ContainerDetails, alias: string): Pick<ResolvedTarget, 'host' | 'network'> {
  if (container.networkMode === 'host') return { host: '127.0.0.1', network: { mode: 'host' } };
  const bridge = container.networks.find((n) => n.name === 'bridge');
  if (bridge) {
    return { host: alias, network: { mode: 'network', name: 'bridge', links: [`${container.name}:${alias}`] } };
  }
  const userNetwork = container.networks.find((n) => n.ipAddress !== '');
  if (!userNetwork) {
    throw new UsageError(`container ${container.name} has no network a helper could join (network mode ${container.networkMode})`);
  }
  return { host: userNetwork.ipAddress, network: { mode: 'network', name: userNetwork.name } };
}

export async function resolveTarget(docker: DockerPort, link: LinkSpec): Promise<ResolvedTarget> {
  const container = await docker.inspectContainer(link.container);
  if (!container) {
    throw new NotFoundError(`link target ${link.container}: no such container`, { hint: 'see docker ps for running containers' });
  }
  if (!container.running) {
    throw new NotFoundError(`link target ${link.container} is not running (${container.status})`, {
      hint: `start it first: docker start ${container.name}`,
    });
  }
  const name = link.alias ?? container.name;
  if (!SAFE_NAME.test(name)) throw new UsageError(`cannot use "${name}" as a file name; give the link an alias: --link ${link.container}:NAME`);
  return { name, container, ...connectionFor(container, name) };
}

/** Running containers carrying all the given labels, as links. */
export async function linksByLabel(docker: DockerPort, labels: readonly string[]): Promise<LinkSpec[]> {
  const containers = await docker.listContainers({ labels });
  return containers.map((c) => ({ container: c.name })).sort((a, b) => a.container.localeCompare(b.container));
}
