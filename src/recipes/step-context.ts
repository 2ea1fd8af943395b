/**
 * What a step runs with: the effects, where it stands in its recipe, the run's staging
 * folder, and `file()`, which turns a file source (a host path, an earlier step's output,
 * a container-metadata snapshot, literal text) into a path on this machine.
 */
import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import type { FileSource, Recipe, RecipeStep } from './recipe.js';
import { resolveRecipePath } from './parse.js';
import type { ValidatedKeys } from './validated-keys.js';

export interface StepContext {
  readonly deps: Deps;
  readonly recipe: Recipe;
  readonly step: RecipeStep;
  readonly runId: string;
  /** The run's scratch folder; removed when the run ends. */
  readonly staging: string;
  readonly validated: ValidatedKeys;
  /** `recipe run --replace`: detached containers out of date are re-created. */
  readonly replace: boolean;
  /** The host path holding a source's content. */
  file(source: FileSource): Promise<string>;
}

export interface StepOutcome {
  /** `done`: it changed something; `cached`: its result existed; `unchanged`: nothing to do. */
  readonly status: 'done' | 'cached' | 'unchanged';
  readonly image?: string;
  /** Output name → host path (in the staging folder). */
  readonly outputs?: Readonly<Record<string, string>>;
  readonly detail?: string;
  readonly cutoverGapMs?: number;
  /** False for steps that only compute (a run whose container is gone, a validation): they change nothing that stays. */
  readonly changesState?: boolean;
}

/** The snapshot handed to a step instead of the Docker socket; sorted, so unchanged metadata hashes the same. */
export interface ContainersSnapshot {
  readonly label: string;
  readonly network: string | null;
  readonly containers: readonly {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly addresses: Readonly<Record<string, string>>;
    /** The address on `network` (or the only one), '' when it has none there. */
    readonly address: string;
  }[];
}

export async function containersSnapshot(deps: Deps, label: string, network: string | undefined): Promise<ContainersSnapshot> {
  const running = await deps.docker.listContainers({ labels: [label] });
  const containers = running
    .map((c) => {
      const addresses = Object.fromEntries(Object.entries(c.addresses).sort(([a], [b]) => a.localeCompare(b)));
      const only = Object.values(addresses).length === 1 ? Object.values(addresses)[0]! : '';
      return {
        name: c.name,
        labels: Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b))),
        addresses,
        address: network ? (addresses[network] ?? '') : only,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { label, network: network ?? null, containers };
}

export function materializer(deps: Deps, recipe: Recipe, step: RecipeStep, staging: string, outputs: Readonly<Record<string, string>>) {
  return async (source: FileSource): Promise<string> => {
    switch (source.kind) {
      case 'file': {
        const path = resolveRecipePath(recipe.file, source.path);
        if (!(await stat(path).catch(() => undefined))) throw new NotFoundError(`step ${step.id}: ${path} does not exist`);
        return path;
      }
      case 'output': {
        const dir = outputs[`${source.step}.${source.output}`];
        if (dir === undefined) throw new NotFoundError(`step ${step.id}: step ${source.step} made no output ${source.output}`);
        const path = source.file ? join(dir, source.file) : dir;
        if (!(await stat(path).catch(() => undefined))) {
          throw new NotFoundError(`step ${step.id}: output ${source.step}.${source.output} has no ${source.file ?? 'content'}`);
        }
        return path;
      }
      case 'containers':
        return writeStaged(staging, `${JSON.stringify(await containersSnapshot(deps, source.label, source.network), null, 2)}\n`);
      case 'text':
        return writeStaged(staging, source.content);
    }
  };
}

async function writeStaged(staging: string, content: string): Promise<string> {
  const path = join(staging, `input-${createHash('sha256').update(content).digest('hex').slice(0, 16)}`);
  await writeFile(path, content);
  return path;
}
