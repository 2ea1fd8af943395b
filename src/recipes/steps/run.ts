/**
 * `run` and `validate`: a container from any image, as a helper (least privilege unless
 * the step declares more, removed when done). Input files are copied in through the
 * archive API before start, into anonymous volumes at their folders (so a read-only root
 * still takes them); outputs are anonymous volumes copied out after a clean exit. Nothing
 * from this machine is bind-mounted unless the step asks for it.
 */
import { createHash } from 'node:crypto';
import { basename, join, posix } from 'node:path';
import type { HelperMount, HelperNetwork, HelperRunSpec } from '../../core/helper-spec.js';
import type { ImageDetails } from '../../docker/port.js';
import { UsageError, VerifyFailedError } from '../../errors.js';
import { hashPath } from '../../host/file-tree.js';
import { extractArchive, packEntries } from '../../host/tar.js';
import { lastLines } from '../../docker/streams.js';
import { runHelper } from '../../run/run-helper.js';
import type { SwarmSettings } from '../../swarm/options.js';
import { swarmReportError } from '../../swarm/report.js';
import { runSwarmJob } from '../../swarm/run-job.js';
import type { RunStep, StepInput, ValidateStep } from '../recipe.js';
import { resolveRecipePath } from '../parse.js';
import type { StepContext, StepOutcome } from '../step-context.js';
import { runDetached } from './detached.js';
import { isDtoolImage, requireImage } from './require-image.js';

function networkOf(networks: readonly string[], links: readonly string[]): HelperNetwork {
  const [first] = networks;
  if (first === 'none' || first === 'host') return { mode: first };
  if (first === undefined || first === 'bridge' || first === 'default') {
    return links.length ? { mode: 'network', name: 'bridge', links } : { mode: 'default' };
  }
  return { mode: 'network', name: first, ...(links.length ? { links } : {}) };
}

/** Folders that receive inputs: each input's parent, without folders inside another one. */
function inputFolders(inputs: readonly StepInput[], step: string): string[] {
  const atRoot = inputs.find((input) => posix.dirname(input.target) === '/');
  if (atRoot) throw new UsageError(`step ${step}: input ${atRoot.target} must go into a folder, not /`);
  const folders = [...new Set(inputs.map((input) => posix.dirname(input.target)))].sort();
  return folders.filter((folder) => !folders.some((other) => other !== folder && folder.startsWith(`${other}/`)));
}

interface Prepared {
  readonly spec: HelperRunSpec;
  readonly beforeStart: (containerId: string) => Promise<void>;
  /** Host path of each input, for cache keys. */
  readonly inputPaths: readonly { readonly target: string; readonly path: string }[];
  readonly image: ImageDetails;
}

async function prepare(
  context: StepContext,
  step: Pick<RunStep, 'image' | 'command' | 'inputs'> & Partial<Omit<RunStep, 'kind'>>,
  outputs: Readonly<Record<string, string>>,
): Promise<Prepared> {
  const { deps, step: declared } = context;
  const image = await requireImage(deps, step.image, declared.id);
  const inputPaths = await Promise.all(step.inputs.map(async (input) => ({ target: input.target, path: await context.file(input.source) })));
  const folders = inputFolders(step.inputs, declared.id);
  const scratch = [...new Set([...folders, ...Object.values(outputs)])];
  const mounts: HelperMount[] = [
    ...(step.mounts ?? []).map(
      (m): HelperMount => (m.type === 'bind' ? { ...m, source: resolveRecipePath(context.recipe.file, m.source) } : { ...m }),
    ),
    ...scratch.map((target): HelperMount => ({ type: 'volume', target, readOnly: false })),
  ];
  const [, ...laterNetworks] = step.networks ?? [];
  const spec: HelperRunSpec = {
    helper: `recipe-${declared.id}`,
    image: step.image,
    command: step.command,
    ...(step.entrypoint ? { entrypoint: step.entrypoint } : {}),
    ...(step.user ? { user: step.user } : {}),
    ...(step.env && Object.keys(step.env).length ? { env: step.env } : {}),
    mounts,
    network: networkOf(step.networks ?? [], step.links ?? []),
    privileges: step.privileges ?? [],
    writableRoot: step.writableRoot ?? false,
    ...(step.timeoutSeconds ? { timeoutMs: step.timeoutSeconds * 1000 } : {}),
    guarded: isDtoolImage(image),
    keepUntilCollected: Object.keys(outputs).length > 0,
  };
  const beforeStart = async (containerId: string) => {
    for (const network of laterNetworks) await deps.docker.connectNetwork(network, containerId);
    for (const folder of folders) {
      const entries = inputPaths
        .filter((input) => posix.dirname(input.target) === folder || input.target.startsWith(`${folder}/`))
        .map((input) => ({ name: posix.relative(folder, input.target), path: input.path }));
      await deps.docker.putArchive(containerId, folder, packEntries(entries));
    }
  };
  return { spec, beforeStart, inputPaths, image };
}

export async function runRunStep(context: StepContext, step: RunStep): Promise<StepOutcome> {
  if (step.detach) return runDetached(context, step);
  if (step.swarm) return runOnSwarm(context, step, step.swarm);
  const prepared = await prepare(context, step, step.outputs);
  const outputs: Record<string, string> = {};
  await runHelper(context.deps, prepared.spec, {
    beforeStart: prepared.beforeStart,
    afterExit: async (containerId, exitCode) => {
      if (exitCode !== 0) return;
      for (const [name, path] of Object.entries(step.outputs)) {
        const dest = join(context.staging, context.step.id, name);
        await extractArchive(await context.deps.docker.getArchive(containerId, path), dest);
        outputs[name] = dest;
      }
    },
  });
  for (const [name, folder] of Object.entries(step.hostOutputs)) outputs[name] = resolveRecipePath(context.recipe.file, folder);
  return { status: 'done', outputs, changesState: false };
}

/** A global Swarm job: once on every matching node; the step fails, naming them, if any node does. */
async function runOnSwarm(context: StepContext, step: RunStep, swarm: SwarmSettings): Promise<StepOutcome> {
  const { spec } = await prepare(context, step, {});
  const report = await runSwarmJob(context.deps, spec, {
    mode: 'global',
    constraints: swarm.constraints,
    ...(swarm.registry ? { registry: swarm.registry } : {}),
  });
  const failure = swarmReportError(report);
  if (failure) throw failure;
  return { status: 'done', detail: `ran on ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'}`, changesState: false };
}

/** What a verdict depends on: the image, the command and every input's content. */
async function validationKey(image: ImageDetails, step: ValidateStep, inputs: Prepared['inputPaths']): Promise<string> {
  const hash = createHash('sha256').update(`${image.id}\0${JSON.stringify(step.command)}\0`);
  for (const input of [...inputs].sort((a, b) => a.target.localeCompare(b.target))) {
    hash.update(`${input.target}\0${await hashPath(input.path)}\0`);
  }
  return hash.digest('hex');
}

export async function runValidate(context: StepContext, step: ValidateStep): Promise<StepOutcome> {
  const prepared = await prepare(context, { ...step, networks: ['none'] }, {});
  const key = await validationKey(prepared.image, step, prepared.inputPaths);
  if (await context.validated.has(key)) return { status: 'cached', detail: 'validated before (same image, command and inputs)' };
  const result = await runHelper(context.deps, prepared.spec, { beforeStart: prepared.beforeStart, allowFailure: true });
  if (result.exitCode !== 0) {
    // The checker's own words (they name the file and the line) are the message.
    const said = lastLines(`${result.stdout}\n${result.stderr}`, 20).filter((line) => line.trim() !== '');
    const culprit = said.find((line) => /:\d+:|error|failed|invalid|bad /i.test(line)) ?? said.at(-1) ?? `exit code ${result.exitCode}`;
    throw new VerifyFailedError(`${basename(step.command[0] ?? 'validation')} rejected the input: ${culprit}`, { details: said });
  }
  await context.validated.add(key);
  return { status: 'done', detail: 'valid', changesState: false };
}
