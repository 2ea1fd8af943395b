/**
 * `swap`: replace a running service container with one from a new image, without ever
 * leaving the service down on a bad image.
 *
 *  1. A candidate starts beside the old one under a temporary name: same networks, no
 *     published ports (the old one holds them) and no aliases (it must not take the
 *     service's names before it is judged). It is probed at its own address, and removed
 *     once the cutover is over.
 *  2. Cutover: the old container is renamed aside, the new one created with the real name,
 *     ports, aliases, mounts, restart policy and labels; then the old one stops and the new
 *     one starts. Ctrl-C does not interrupt this part: half a cutover is worse than either.
 *  3. The new one is probed where clients reach it. If it fails within the window it is
 *     removed and the old one comes back under its name, with its ports.
 *  4. The old one is kept, stopped, as NAME-previous, until the next successful swap.
 *
 * A query loop against the service's endpoint runs through the cutover: the longest time
 * it went unanswered is the reported gap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { recreateOptions, toServiceCreateOptions, type ServiceCreate } from '../../core/service.js';
import type { Deps } from '../../deps.js';
import { helperLabels } from '../../docker/labels.js';
import { DTOOL_VERSION } from '../../version.js';
import type { ContainerDefinition, ImageDetails } from '../../docker/port.js';
import { AbortedError, DtoolError, NotFoundError, UsageError, VerifyFailedError } from '../../errors.js';
import type { SwapStep } from '../recipe.js';
import { makeProbe, type ProbeTarget, type ServiceProbe } from '../probes.js';
import type { StepContext, StepOutcome } from '../step-context.js';
import { requireImage } from './require-image.js';

/** How long the old container gets to stop: the gap grows with it, so keep it short. */
const STOP_TIMEOUT_SECONDS = 5;
const RETRY_MS = 25;
/** 200 queries a second, as the load loop. */
const GAP_PING_INTERVAL_MS = 5;

export const previousName = (name: string): string => `${name}-previous`;

async function createFrom(deps: Deps, create: ServiceCreate): Promise<string> {
  const id = await deps.docker.createContainer(create.options);
  try {
    for (const network of create.extraNetworks) await deps.docker.connectNetwork(network.name, id, network.aliases);
  } catch (error) {
    await deps.docker.removeContainer(id);
    throw error;
  }
  return id;
}

/** Where the probe reaches a container directly: its address on its main network. */
async function containerTarget(deps: Deps, id: string, probe: ServiceProbe): Promise<ProbeTarget> {
  const details = await deps.docker.inspectContainer(id);
  if (!details?.running) throw new VerifyFailedError(`container ${details?.name ?? id.slice(0, 12)} is not running (${details?.status ?? 'gone'})`);
  const network = details.networks.find((n) => n.name === details.networkMode) ?? details.networks.find((n) => n.ipAddress);
  if (probe.port !== undefined && !network?.ipAddress) {
    throw new UsageError(`container ${details.name} has no address to probe (network ${details.networkMode})`);
  }
  return { containerId: id, host: network?.ipAddress ?? '', port: probe.port ?? 0 };
}

/** Where clients reach the service: a published port of the probe's port, else the container's address. */
function publishedEndpoint(definition: ContainerDefinition, probe: ServiceProbe): { host: string; port: number } | undefined {
  if (probe.port === undefined) return undefined;
  const bindings = definition.hostConfig.PortBindings ?? {};
  const binding = bindings[`${probe.port}/udp`]?.[0] ?? bindings[`${probe.port}/tcp`]?.[0];
  if (!binding) return undefined;
  const host = !binding.HostIp || binding.HostIp === '0.0.0.0' ? '127.0.0.1' : binding.HostIp === '::' ? '::1' : binding.HostIp;
  return { host, port: Number(binding.HostPort) };
}

/** Checks until healthy or the window closes; the last complaint when it never was. */
async function probeUntil(
  probe: ServiceProbe,
  target: () => Promise<ProbeTarget>,
  windowSeconds: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const deadline = Date.now() + windowSeconds * 1000;
  let complaint: string | undefined;
  do {
    if (signal?.aborted) throw new AbortedError('interrupted while probing');
    try {
      complaint = await probe.check(await target());
    } catch (error) {
      complaint = (error as Error).message;
    }
    if (complaint === undefined) return undefined;
    await sleep(RETRY_MS);
  } while (Date.now() < deadline);
  return complaint;
}

/** Pings the service back to back until stopped; the gap is the longest stretch without an answer. */
function gapMonitor(probe: ServiceProbe, endpoint: () => ProbeTarget | undefined) {
  let running = true;
  let lastAnswer = Date.now();
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const target = endpoint();
      const answered = target ? await probe.ping(target).catch(() => false) : false;
      if (answered) {
        longest = Math.max(longest, Date.now() - lastAnswer - (Date.now() - started));
        lastAnswer = Date.now();
      }
      const wait = GAP_PING_INTERVAL_MS - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await loop;
      return Math.max(longest, 0);
    },
  };
}

async function firstDeployment(context: StepContext, step: SwapStep, probe: ServiceProbe): Promise<StepOutcome> {
  const { deps } = context;
  if (!step.create) {
    throw new NotFoundError(`no container named ${step.container} to swap`, {
      hint: 'give the swap step a "create" section to create it the first time',
    });
  }
  const id = await createFrom(deps, toServiceCreateOptions({ name: step.container, image: step.image, ...step.create }));
  try {
    await deps.docker.startContainer(id);
    const complaint = await probeUntil(probe, () => containerTarget(deps, id, probe), step.windowSeconds, deps.signal);
    if (complaint !== undefined) throw new VerifyFailedError(`the new ${step.container} failed its probe (${probe.description}): ${complaint}`);
  } catch (error) {
    await deps.docker.removeContainer(id);
    throw error;
  }
  return { status: 'done', detail: `created ${step.container} from ${step.image}` };
}

export async function runSwap(context: StepContext, step: SwapStep): Promise<StepOutcome> {
  const { deps } = context;
  const { docker } = deps;
  const image = await requireImage(deps, step.image, context.step.id);
  const probe = await makeProbe(docker, step.probe, context.file);
  const current = await docker.inspectDefinition(step.container);
  if (!current) return firstDeployment(context, step, probe);
  if (current.imageId === image.id && current.running) return { status: 'unchanged', detail: `${step.container} already runs ${step.image}` };
  const oldImage = await docker.inspectImage(current.imageId);

  // 1. The candidate, judged at its own address. It is removed only after the cutover: while
  //    it runs, the network keeps a port on the bridge, and the host's neighbour entry for
  //    the address the replacement takes over stays fresh (alone on a bridge whose last port
  //    went down, the first answer waits ~0.7 s for the kernel's next ARP try).
  const candidate = await createFrom(
    deps,
    recreateOptions(current, oldImage, step.image, {
      name: `${step.container}-candidate-${context.runId}`,
      withPorts: false,
      withAliases: false,
      // Owner labels: if dtool dies while judging it, the next start's orphan sweep removes it.
      extraLabels: helperLabels('swap-candidate', context.runId, DTOOL_VERSION, deps.owner),
    }),
  );
  try {
    await docker.startContainer(candidate);
    const complaint = await probeUntil(probe, () => containerTarget(deps, candidate, probe), step.windowSeconds, deps.signal);
    if (complaint !== undefined) {
      throw new VerifyFailedError(`candidate from ${step.image} failed its probe (${probe.description}): ${complaint}`, {
        hint: `${step.container} was not touched and still serves the old image`,
      });
    }
    if (deps.signal?.aborted) throw new AbortedError(`interrupted before cutover; ${step.container} was not touched`);
    // A service whose storage the candidate shares (binds, named volumes) must not have two
    // instances on it once the old one lets go: the candidate stops before the cutover then.
    if (sharesStorage(current)) await docker.stopContainer(candidate, STOP_TIMEOUT_SECONDS);
    return await cutOver(deps, step, probe, current, oldImage, context.runId);
  } finally {
    await docker.removeContainer(candidate);
  }
}

function sharesStorage(container: ContainerDefinition): boolean {
  const { Binds, Mounts, VolumesFrom } = container.hostConfig as {
    Binds?: unknown[] | null;
    Mounts?: unknown[] | null;
    VolumesFrom?: unknown[] | null;
  };
  return Boolean(Binds?.length || Mounts?.length || VolumesFrom?.length);
}

/** Steps 2 to 4: the old one aside and stopped, the new one started and judged; rollback, or the old one kept. */
async function cutOver(
  deps: Deps,
  step: SwapStep,
  probe: ServiceProbe,
  current: ContainerDefinition,
  oldImage: ImageDetails | undefined,
  runId: string,
): Promise<StepOutcome> {
  const { docker } = deps;
  const asideName = `${step.container}-rollback-${runId}`;
  await docker.renameContainer(current.id, asideName);
  let replacement: string;
  try {
    replacement = await createFrom(
      deps,
      recreateOptions(current, oldImage, step.image, { name: step.container, withPorts: true, withAliases: true }),
    );
  } catch (error) {
    await docker.renameContainer(current.id, step.container);
    throw error;
  }
  const published = publishedEndpoint(current, probe);
  const oldTarget = current.running && probe.port !== undefined ? await containerTarget(deps, current.id, probe).catch(() => undefined) : undefined;
  let newTarget: ProbeTarget | undefined;
  const endpoint = (): ProbeTarget | undefined => (published ? { containerId: replacement, ...published } : (newTarget ?? oldTarget));
  const monitor = probe.port !== undefined && current.running ? gapMonitor(probe, endpoint) : undefined;
  let complaint: string | undefined;
  try {
    await docker.stopContainer(current.id, STOP_TIMEOUT_SECONDS);
    await docker.startContainer(replacement);
    newTarget = await containerTarget(deps, replacement, probe).catch(() => undefined);
    // 3. Judged where clients reach it; Ctrl-C waits for the verdict (no signal here).
    complaint = await probeUntil(
      probe,
      async () => (published ? { containerId: replacement, ...published } : containerTarget(deps, replacement, probe)),
      step.windowSeconds,
    );
  } catch (error) {
    complaint = (error as Error).message;
  }
  const gapMs = await monitor?.stop();

  if (complaint !== undefined) {
    await rollBack(deps, current, replacement, step.container, asideName);
    throw new VerifyFailedError(`the new ${step.container} failed its probe after cutover (${probe.description}): ${complaint}`, {
      hint: `rolled back: ${step.container} runs its old image again`,
    });
  }

  // 4. Keep the old one, stopped and never restarted by the engine, for a manual rollback.
  const stale = await docker.inspectDefinition(previousName(step.container));
  if (stale) await docker.removeContainer(stale.id);
  await docker.updateRestartPolicy(current.id, { Name: 'no' });
  await docker.renameContainer(current.id, previousName(step.container));
  return {
    status: 'done',
    detail: `${step.container} now runs ${step.image}; the old one is kept as ${previousName(step.container)}`,
    ...(gapMs !== undefined ? { cutoverGapMs: gapMs } : {}),
  };
}

async function rollBack(deps: Deps, old: ContainerDefinition, replacement: string, name: string, asideName: string): Promise<void> {
  const { docker } = deps;
  try {
    await docker.removeContainer(replacement);
    await docker.renameContainer(old.id, name);
    if (old.running) await docker.startContainer(old.id);
  } catch (error) {
    throw new DtoolError('INTERNAL', `rollback of ${name} failed: ${(error as Error).message}`, {
      hint: `the old container is ${asideName} (or ${name}); start it by hand: docker rename ${asideName} ${name} && docker start ${name}`,
      cause: error,
    });
  }
}
