/**
 * Service containers: long-running containers dtool creates and swaps, but does not run to
 * completion (a DNS server, a recipe's clones). Unlike helpers they outlive dtool, so they
 * carry no guard and no owner labels; like helpers they start from least privilege (all
 * capabilities dropped, no-new-privileges, read-only root) unless they declare otherwise.
 * Pure: the swap's decisions about what a re-created container keeps are pinned by tests.
 */
import type { ContainerCreateOptions, ContainerDefinition, ImageDetails, PortBindings } from '../docker/port.js';
import { UsageError } from '../errors.js';

export interface ServiceSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly user?: string;
  readonly hostname?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** The first is joined at create, the others before start. Empty: the default bridge. */
  readonly networks: readonly string[];
  /** `docker run -p` syntax: `[IP:]HOST_PORT:CONTAINER_PORT[/udp|/tcp]` (see portBindings). */
  readonly publish: readonly string[];
  /** `no`, `always`, `unless-stopped` or `on-failure[:N]`. */
  readonly restart: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Writable scratch paths on the read-only root. */
  readonly tmpfs: readonly string[];
  readonly capabilities: readonly string[];
  readonly writableRoot: boolean;
}

const TMPFS_OPTIONS = 'rw,nosuid,nodev,size=64m';

/** One `-p` entry as the Engine API wants it; throws a UsageError naming the entry. */
export function parsePublish(entry: string): { readonly port: string; readonly binding: { HostIp: string; HostPort: string } } {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(entry.trim());
  const hostPort = Number(match?.[2]);
  const containerPort = Number(match?.[3]);
  if (!match || hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
    throw new UsageError(`cannot publish "${entry}": expected [IP:]HOST_PORT:CONTAINER_PORT[/udp|/tcp], ports 1-65535`);
  }
  return { port: `${containerPort}/${match[4] ?? 'tcp'}`, binding: { HostIp: (match[1] ?? '').replace(/^\[|\]$/g, ''), HostPort: String(hostPort) } };
}

/** Entries may hold several comma-separated mappings; empty ones publish nothing (so a variable can turn publishing off). */
export function portBindings(publish: readonly string[]): PortBindings {
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const entry of publish
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter(Boolean)) {
    const { port, binding } = parsePublish(entry);
    bindings[port] = [...(bindings[port] ?? []), binding];
  }
  return bindings;
}

export function parseRestartPolicy(restart: string): { Name: string; MaximumRetryCount?: number } {
  const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(restart);
  if (!match || (match[2] !== undefined && match[1] !== 'on-failure')) {
    throw new UsageError(`restart policy "${restart}" is not one of no, always, unless-stopped, on-failure[:N]`);
  }
  return { Name: match[1]!, ...(match[2] !== undefined ? { MaximumRetryCount: Number(match[2]) } : {}) };
}

/** What to join after create: networks beyond the first, with their aliases. */
export interface ExtraNetwork {
  readonly name: string;
  readonly aliases: readonly string[];
}

export interface ServiceCreate {
  readonly options: ContainerCreateOptions;
  readonly extraNetworks: readonly ExtraNetwork[];
}

export function toServiceCreateOptions(spec: ServiceSpec): ServiceCreate {
  const bindings = portBindings(spec.publish);
  const [network, ...others] = spec.networks;
  const tmpfs = Object.fromEntries((spec.writableRoot ? [] : ['/tmp', ...spec.tmpfs]).map((path) => [path, TMPFS_OPTIONS]));
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  return {
    options: {
      name: spec.name,
      Image: spec.image,
      ...(spec.command?.length ? { Cmd: [...spec.command] } : {}),
      ...(spec.user ? { User: spec.user } : {}),
      ...(spec.hostname ? hostnameOptions(spec.hostname) : {}),
      ...(env.length ? { Env: env } : {}),
      ...(Object.keys(bindings).length ? { ExposedPorts: Object.fromEntries(Object.keys(bindings).map((p) => [p, {}])) } : {}),
      Labels: { ...spec.labels },
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      HostConfig: {
        ...(network ? { NetworkMode: network } : {}),
        ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
        RestartPolicy: parseRestartPolicy(spec.restart),
        CapDrop: ['ALL'],
        ...(spec.capabilities.length ? { CapAdd: [...spec.capabilities] } : {}),
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: !spec.writableRoot,
        ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
        Init: true,
      },
    },
    extraNetworks: others.map((name) => ({ name, aliases: [] })),
  };
}

/** `--hostname web1.example.test` sets the short name and the domain, as `docker run` does. */
function hostnameOptions(hostname: string): { Hostname: string; Domainname?: string } {
  const dot = hostname.indexOf('.');
  return dot < 0 ? { Hostname: hostname } : { Hostname: hostname.slice(0, dot), Domainname: hostname.slice(dot + 1) };
}

export interface RecreateVariant {
  readonly name: string;
  /** The final container keeps the published ports; a candidate probed beside the old one cannot. */
  readonly withPorts: boolean;
  /** Network aliases: a candidate must not answer for the service's names before it is judged. */
  readonly withAliases: boolean;
  readonly extraLabels?: Readonly<Record<string, string>>;
}

/**
 * The create options that re-create `current` from `image`: its own settings (name,
 * networks and aliases, ports, mounts, restart policy, labels, env, command), minus what it
 * only inherited from its old image, which the new image's defaults replace.
 */
export function recreateOptions(
  current: ContainerDefinition,
  oldImage: ImageDetails | undefined,
  image: string,
  variant: RecreateVariant,
): ServiceCreate {
  const inherited = (value: readonly string[] | undefined, fromImage: readonly string[] | undefined) =>
    oldImage !== undefined && JSON.stringify(value ?? null) === JSON.stringify(fromImage ?? null);
  const env = current.env.filter((entry) => !oldImage?.env.includes(entry));
  const labels = Object.fromEntries(Object.entries(current.labels).filter(([k, v]) => oldImage?.labels[k] !== v));
  const { PortBindings: ports, ...hostConfig } = current.hostConfig;
  const networkMode = hostConfig.NetworkMode ?? 'default';
  const primary = current.networks.find((n) => n.name === networkMode);
  const userNetwork = !['default', 'bridge', 'host', 'none'].includes(networkMode) && !networkMode.startsWith('container:');
  // The engine's default hostname is the first 12 characters of the ID; anything else was chosen.
  const defaultHostname = current.hostname === current.id.slice(0, 12);
  return {
    options: {
      name: variant.name,
      Image: image,
      ...(!defaultHostname && current.hostname ? { Hostname: current.hostname } : {}),
      ...(current.domainname ? { Domainname: current.domainname } : {}),
      ...(current.user ? { User: current.user } : {}),
      ...(current.workingDir ? { WorkingDir: current.workingDir } : {}),
      ...(env.length ? { Env: env } : {}),
      ...(current.cmd && !inherited(current.cmd, oldImage?.cmd) ? { Cmd: [...current.cmd] } : {}),
      ...(current.entrypoint && !inherited(current.entrypoint, oldImage?.entrypoint) ? { Entrypoint: [...current.entrypoint] } : {}),
      ...(variant.withPorts && current.exposedPorts.length ? { ExposedPorts: Object.fromEntries(current.exposedPorts.map((p) => [p, {}])) } : {}),
      ...(userNetwork && variant.withAliases && primary?.aliases.length
        ? { NetworkingConfig: { EndpointsConfig: { [networkMode]: { Aliases: [...primary.aliases] } } } }
        : {}),
      Labels: { ...labels, ...variant.extraLabels },
      AttachStdin: current.attachStdin,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: current.openStdin,
      HostConfig: {
        ...(hostConfig as ContainerCreateOptions['HostConfig']),
        ...(variant.withPorts && ports ? { PortBindings: ports } : {}),
        // A candidate is judged and removed by dtool; nothing may restart it meanwhile.
        ...(variant.withPorts ? {} : { RestartPolicy: { Name: 'no' } }),
      },
    },
    extraNetworks: current.networks
      // `default` is the bridge by another name: joined at create already.
      .filter((n) => n.name !== networkMode && !(networkMode === 'default' && n.name === 'bridge'))
      .map((n) => ({ name: n.name, aliases: variant.withAliases ? n.aliases : [] })),
  };
}
