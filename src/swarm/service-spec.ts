/**
 * A helper run as a Swarm job: the same data (HelperRunSpec) written as a service spec,
 * with the same least privilege as a helper container — all capabilities dropped (plus
 * what the helper declares), a read-only root with a /tmp tmpfs, init as PID 1, and the
 * same dtool labels on the service and on its containers. Pure: a test pins the output.
 *
 * What a service cannot express is refused before anything runs (assertSwarmCompatible).
 *
 * No-new-privileges: API 1.41 has no way to set it on a service (ContainerSpec.Privileges
 * gains NoNewPrivileges only in API 1.46, Docker 27), so swarm helpers run without it. With
 * every capability dropped and no setuid binary dtool relies on, it would change little;
 * the helpers that keep SETUID/SETGID (logrotate) drop them themselves on the switch to
 * the files' owner.
 */
import { GUARD, toMount } from '../core/to-create-options.js';
import type { HelperRunSpec, Privilege } from '../core/helper-spec.js';
import { helperLabels } from '../docker/labels.js';
import type { ServiceCreateOptions, ServiceMount } from '../docker/port.js';
import type { OwnerIdentity } from '../host/owner.js';
import { SwarmUnsupportedError } from './errors.js';

/** On every service, container and secret of a swarm job: the job's run ID. */
export const LABEL_SWARM_JOB = 'dtool.swarm-job';

/** global: one task on every selected node (per-node maintenance); one-off: a single task on one of them. */
export type SwarmMode = 'global' | 'one-off';

const TMPFS_BYTES = 256 * 1024 * 1024;
/** 24 h, in nanoseconds: longer than any job dtool waits for. */
const RETRY_PARKED_NS = 24 * 60 * 60 * 1e9;

/** Why each privilege cannot be granted to a service (API 1.41). */
const UNSUPPORTED_PRIVILEGES: Readonly<Record<Privilege, string>> = {
  privileged: 'a swarm service cannot be privileged (ContainerSpec has no Privileged flag)',
  'host-sysctl': 'a swarm service cannot unmask /proc/sys (ContainerSpec has no ReadonlyPaths/MaskedPaths), so it cannot write host sysctls',
  'docker-socket': "dtool does not hand every node's engine to a swarm helper: the socket is root on each node, and a job would fan that out",
};

/** Refuses, before any Docker call, a helper whose needs a service cannot meet. */
export function assertSwarmCompatible(spec: HelperRunSpec): void {
  const privileges = spec.privileges ?? [];
  if (privileges.length > 0) {
    throw new SwarmUnsupportedError(
      `--swarm cannot run helper ${spec.helper}: it needs the ${privileges.join(', ')} privilege${privileges.length > 1 ? 's' : ''}, and ${privileges.map((p) => UNSUPPORTED_PRIVILEGES[p]).join('; ')}`,
      { hint: 'run it on each host without --swarm (DOCKER_HOST=… dtool …)' },
    );
  }
  if (spec.volumesFrom?.length) {
    throw new SwarmUnsupportedError(
      `--swarm cannot run helper ${spec.helper}: it mounts the volumes of container ${spec.volumesFrom.join(', ')}, which lives on one node only`,
    );
  }
  if (spec.network?.mode === 'network' && spec.network.links?.length) {
    throw new SwarmUnsupportedError(
      `--swarm cannot run helper ${spec.helper}: it links to containers (${spec.network.links.join(', ')}), which a service cannot`,
    );
  }
  if (spec.keepUntilCollected) {
    throw new SwarmUnsupportedError(
      `--swarm cannot run helper ${spec.helper}: its outputs are copied out of its container, which a swarm task does not allow`,
    );
  }
}

export interface ServiceContext {
  readonly runId: string;
  readonly version: string;
  readonly owner: OwnerIdentity;
  readonly mode: SwarmMode;
  /** The image reference the nodes run (a registry reference with --registry). */
  readonly image: string;
  /** Placement constraints, as Swarm spells them: the user's, then the nodes left out (`node.id!=…`). */
  readonly constraints: readonly string[];
  /** The swarm secret created for each of the spec's secrets, by secret name. */
  readonly secrets: Readonly<Record<string, { readonly id: string; readonly name: string }>>;
}

export function serviceName(helper: string, runId: string): string {
  return `dtool-${helper}-${runId}`;
}

export function secretName(runId: string, secret: string): string {
  return `dtool-${runId}-${secret}`;
}

/** The labels of the service, its containers and its secrets. */
export function swarmLabels(helper: string, context: Pick<ServiceContext, 'runId' | 'version' | 'owner'>): Record<string, string> {
  return { ...helperLabels(helper, context.runId, context.version, context.owner), [LABEL_SWARM_JOB]: context.runId };
}

function networks(spec: HelperRunSpec): { Target: string }[] | undefined {
  const network = spec.network ?? { mode: 'default' };
  switch (network.mode) {
    // Swarm's predefined networks are host and bridge: `none` is no swarm network ("could not
    // find the corresponding predefined swarm network"), so a helper that asks for none gets
    // the node's default bridge. It holds no capability (no NET_RAW, no NET_ADMIN) there.
    case 'default':
    case 'none':
      return undefined;
    case 'host':
      return [{ Target: network.mode }];
    case 'network':
      return [{ Target: network.name }];
  }
}

/** The secret files' owner: the helper's user when it is numeric, else root (mode 0400 either way). */
function secretOwner(user: string | undefined): { UID: string; GID: string } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return match ? { UID: match[1]!, GID: match[2] ?? match[1]! } : { UID: '0', GID: '0' };
}

export function toServiceSpec(spec: HelperRunSpec, context: ServiceContext): ServiceCreateOptions {
  assertSwarmCompatible(spec);
  const labels = swarmLabels(spec.helper, context);
  const readOnlyRoot = !spec.writableRoot;
  const mounts: ServiceMount[] = (spec.mounts ?? []).map(toMount);
  if (readOnlyRoot) {
    for (const path of ['/tmp', ...(spec.tmpfs ?? [])]) {
      mounts.push({ Type: 'tmpfs', Target: path, TmpfsOptions: { SizeBytes: TMPFS_BYTES, Mode: 0o1777 } });
    }
  }
  const owner = secretOwner(spec.user);
  const secrets = (spec.secrets ?? []).map((secret) => {
    const created = context.secrets[secret.name];
    if (!created) throw new Error(`secret ${secret.name} was not created in the swarm`);
    // Swarm mounts it at /run/secrets/<File.Name>: where a helper container finds it too.
    return { SecretID: created.id, SecretName: created.name, File: { Name: secret.name, ...owner, Mode: 0o400 } };
  });
  const guarded = spec.guarded ?? true;
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const serviceNetworks = networks(spec);
  return {
    Name: serviceName(spec.helper, context.runId),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: context.image,
        // No DTOOL_GUARD=stdin: nothing holds a task's stdin. The service's removal (in a
        // finally, and by the owner sweep) is what stops a task whose caller is gone.
        ...(spec.entrypoint ? { Command: guarded ? [GUARD, ...spec.entrypoint] : [...spec.entrypoint] } : {}),
        Args: [...spec.command],
        // Each task is named after its node (a Swarm template), not a container ID: a helper's
        // output, and `hostname` in a recipe's command, say which node they come from.
        Hostname: '{{.Node.Hostname}}',
        ...(spec.user ? { User: spec.user } : {}),
        ...(env.length ? { Env: env } : {}),
        Labels: labels,
        ...(mounts.length ? { Mounts: mounts } : {}),
        ReadOnly: readOnlyRoot,
        CapabilityDrop: ['ALL'],
        ...(spec.capabilities?.length ? { CapabilityAdd: [...spec.capabilities] } : {}),
        Init: true,
        ...(secrets.length ? { Secrets: secrets } : {}),
      },
      // A job runs once per node: a failure is reported, never retried behind the user's back.
      // Swarm 20.10 re-runs a job's failed task at once even with Condition none (measured:
      // five runs in five seconds); on-failure honours Delay, so the one retry it schedules
      // waits a day, never starts, and goes with the service when dtool removes it.
      RestartPolicy: { Condition: 'on-failure', MaxAttempts: 1, Delay: RETRY_PARKED_NS },
      ...(context.constraints.length ? { Placement: { Constraints: [...context.constraints] } } : {}),
      ...(serviceNetworks ? { Networks: serviceNetworks } : {}),
    },
    Mode: context.mode === 'global' ? { GlobalJob: {} } : { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}
