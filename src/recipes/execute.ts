/**
 * The recipe executor: one loop over the steps. Each step's strings are resolved
 * (`${{ vars }}`, `${{ steps.ID.image }}`), the step runs, and its outcome is recorded. The
 * first failure ends the run: later steps are reported as skipped, and the error names the
 * step. Every container a step starts is removed by the step itself (helpers' lifecycle),
 * and the staging folder with the steps' outputs is removed when the run ends.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../deps.js';
import { AbortedError, DtoolError, UsageError, toDtoolError, type ErrorCode } from '../errors.js';
import { acquireLock } from '../host/lock.js';
import { newRunId } from '../run/helper-container.js';
import type { Recipe, RecipeStep, StepAction, StepKind } from './recipe.js';
import { checkRecipeVars, variableValues } from './parse.js';
import { substituteDeep } from './resolve.js';
import { type StepContext, type StepOutcome, materializer } from './step-context.js';
import { ValidatedKeys } from './validated-keys.js';
import { runBuild } from './steps/build.js';
import { runRunStep, runValidate } from './steps/run.js';
import { runCommit, runLoad, runPrune, runSave, runTag } from './steps/images.js';
import { runSwap } from './steps/swap.js';

export type StepStatus = 'done' | 'cached' | 'unchanged' | 'failed' | 'skipped';

export interface StepReport {
  readonly id: string;
  readonly kind: StepKind;
  readonly status: StepStatus;
  readonly seconds: number;
  readonly detail?: string;
  readonly image?: string;
  /** Swaps: the longest time the service gave no answer during cutover, as the probe saw it. */
  readonly cutoverGapMs?: number;
  /** The step left something changed behind (an image, a container); computing steps do not. */
  readonly changed?: boolean;
  readonly error?: { readonly code: string; readonly message: string; readonly details: readonly string[]; readonly hint?: string };
}

export interface RecipeReport {
  readonly recipe: string;
  readonly file: string;
  /** `unchanged`: no step built, swapped or created anything (computing steps may have run). */
  readonly status: 'changed' | 'unchanged' | 'failed';
  readonly seconds: number;
  readonly steps: readonly StepReport[];
  readonly failedStep?: string;
}

export interface RecipeRunOptions {
  readonly vars: Readonly<Record<string, string>>;
  /** Holds the recipe locks and the keys of configurations already validated. */
  readonly stateDir: string;
  readonly lockWaitMs?: number;
  /** Re-create detached containers whose image or settings changed. */
  readonly replace?: boolean;
  /** Progress goes to the reporter as `info` events; this is for callers that want the steps themselves. */
  readonly onStep?: (event: { readonly step: RecipeStep; readonly report?: StepReport }) => void;
}

type StepRunner = (context: StepContext, action: never) => Promise<StepOutcome>;

const RUNNERS: Readonly<Record<StepKind, StepRunner>> = {
  build: runBuild,
  run: runRunStep,
  validate: runValidate,
  commit: runCommit,
  tag: runTag,
  save: runSave,
  load: runLoad,
  swap: runSwap,
  prune: runPrune,
};

/** The error a failed run ends with: the failing step's own (same code, so the same exit code), naming the step. */
export function recipeReportError(report: RecipeReport): DtoolError | undefined {
  const failed = report.steps.find((s) => s.status === 'failed');
  if (!failed?.error) return undefined;
  return new DtoolError(
    failed.error.code as ErrorCode,
    `recipe ${report.recipe}: step ${failed.id} (${failed.kind}) failed: ${failed.error.message}`,
    {
      details: failed.error.details,
      ...(failed.error.hint ? { hint: failed.error.hint } : {}),
    },
  );
}

const seconds = (ms: number) => Math.round(ms / 10) / 100;

export async function runRecipe(deps: Deps, recipe: Recipe, options: RecipeRunOptions): Promise<RecipeReport> {
  const problems = checkRecipeVars(recipe, options.vars);
  if (problems.length > 0) {
    throw new UsageError(`${recipe.name}: ${problems.map((p) => p.message).join('; ')}`, {
      details: problems.map((p) => `${p.origin}: ${p.message}`),
    });
  }
  const vars = variableValues(recipe, options.vars);
  const started = Date.now();
  await mkdir(options.stateDir, { recursive: true });
  const lockName = recipe.lock ? substituteDeep(recipe.lock, { vars, images: {} }) : undefined;
  await using _lock = lockName
    ? await acquireLock(join(options.stateDir, `${lockName.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`), `recipe lock ${lockName}`, {
        waitMs: options.lockWaitMs ?? 0,
        ...(deps.signal ? { signal: deps.signal } : {}),
      })
    : undefined;

  const runId = newRunId();
  const staging = await mkdtemp(join(options.stateDir, `run-${recipe.name}-`));
  const images: Record<string, string> = {};
  const outputs: Record<string, string> = {};
  const validated = new ValidatedKeys(join(options.stateDir, 'validated.json'), recipe.name);
  const reports: StepReport[] = [];
  let failed: RecipeStep | undefined;
  try {
    for (const step of recipe.steps) {
      if (failed) {
        reports.push({ id: step.id, kind: step.action.kind, status: 'skipped', seconds: 0 });
        continue;
      }
      deps.reporter({ type: 'info', message: `step ${step.id} (${step.action.kind})…` });
      options.onStep?.({ step });
      const stepStarted = Date.now();
      let report: StepReport;
      try {
        if (deps.signal?.aborted) throw new AbortedError(`interrupted before step ${step.id}`);
        const action = substituteDeep(step.action, { vars, images }) as StepAction;
        const context: StepContext = {
          deps,
          recipe,
          step,
          runId,
          staging,
          validated,
          replace: options.replace ?? false,
          file: materializer(deps, recipe, step, staging, outputs),
        };
        const outcome = await (RUNNERS[action.kind] as (c: StepContext, a: StepAction) => Promise<StepOutcome>)(context, action);
        if (outcome.image) images[step.id] = outcome.image;
        for (const [name, path] of Object.entries(outcome.outputs ?? {})) outputs[`${step.id}.${name}`] = path;
        report = {
          id: step.id,
          kind: action.kind,
          status: outcome.status,
          seconds: seconds(Date.now() - stepStarted),
          ...(outcome.detail ? { detail: outcome.detail } : {}),
          ...(outcome.image ? { image: outcome.image } : {}),
          ...(outcome.cutoverGapMs !== undefined ? { cutoverGapMs: outcome.cutoverGapMs } : {}),
          changed: outcome.status === 'done' && outcome.changesState !== false,
        };
      } catch (error) {
        failed = step;
        const failure = toDtoolError(error);
        report = {
          id: step.id,
          kind: step.action.kind,
          status: 'failed',
          seconds: seconds(Date.now() - stepStarted),
          error: { code: failure.code, message: failure.message, details: failure.details, ...(failure.hint ? { hint: failure.hint } : {}) },
        };
      }
      reports.push(report);
      deps.reporter({ type: 'info', message: `step ${step.id}: ${report.status} (${report.seconds}s)` });
      options.onStep?.({ step, report });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const changed = reports.some((r) => r.changed);
  const report: RecipeReport = {
    recipe: recipe.name,
    file: recipe.file,
    status: failed ? 'failed' : changed ? 'changed' : 'unchanged',
    seconds: seconds(Date.now() - started),
    steps: reports,
    ...(failed ? { failedStep: failed.id } : {}),
  };
  return report;
}
