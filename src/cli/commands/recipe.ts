import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { RecipeReport } from '../../recipes/execute.js';
import { collect, type CommandContext } from '../context.js';
import { renderJson, renderRecipeReport } from '../render.js';
import { defaultStateDir } from '../../host/state-dir.js';

interface RunOptions {
  readonly var?: string[];
  readonly json?: boolean;
  readonly stateDir?: string;
  readonly lockWait?: string;
  readonly replace?: boolean;
}

export function lockWaitMs(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new UsageError(`--lock-wait expects whole seconds, not "${value}"`);
  return Number(value) * 1000;
}

/** A `--var` value written `./…` or `../…` is a path from where the user stands, not from the recipe's folder. */
export function varsFromCwd(vars: Readonly<Record<string, string>>, cwd: string): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, /^\.\.?\//.test(v) ? resolve(cwd, v) : v]));
}

export function registerRecipe(program: Command, context: CommandContext): void {
  const recipe = program.command('recipe').description('declared multi-step flows: build, run, validate, rebuild, swap (see recipes/)');
  recipe
    .command('plan')
    .description('print the steps, images, mounts and privileges of a recipe; runs nothing')
    .argument('<file>', 'recipe file (YAML)')
    .option('--var <name=value>', 'set a recipe variable (repeatable)', collect)
    .option('--json', 'print the plan as JSON')
    .action(async (file: string, options: RunOptions) => {
      const [{ loadRecipe }, { parseVarFlags }, { planRecipe, renderPlan }] = await Promise.all([
        import('../../recipes/load.js'),
        import('../../recipes/parse.js'),
        import('../../recipes/plan.js'),
      ]);
      const loaded = await loadRecipe(file, context.io.cwd);
      const plan = planRecipe(loaded, varsFromCwd(parseVarFlags(options.var ?? []), context.io.cwd));
      context.io.stdout(options.json ? renderJson(plan) : renderPlan(plan));
    });
  recipe
    .command('run')
    .description('run a recipe: each step reports done, cached or unchanged; the first failure stops it')
    .argument('<file>', 'recipe file (YAML)')
    .option('--var <name=value>', 'set a recipe variable (repeatable)', collect)
    .option('--state-dir <dir>', 'recipe locks and validation memory (default /var/lib/dtool/recipes as root, else ~/.local/state/dtool/recipes)')
    .option('--lock-wait <seconds>', "wait this long for another run holding the recipe's lock (default: fail at once)")
    .option('--replace', 're-create detached containers (clones) made from another image or other settings')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options: RunOptions, command: Command) => {
      const [{ loadRecipe }, { parseVarFlags }, { runRecipe }] = await Promise.all([
        import('../../recipes/load.js'),
        import('../../recipes/parse.js'),
        import('../../recipes/execute.js'),
      ]);
      const loaded = await loadRecipe(file, context.io.cwd);
      const vars = varsFromCwd(parseVarFlags(options.var ?? []), context.io.cwd);
      const report = await runRecipe(await context.deps(command), loaded, {
        vars,
        stateDir: options.stateDir ?? defaultStateDir(context.io.env, 'recipes'),
        lockWaitMs: lockWaitMs(options.lockWait),
        replace: options.replace ?? false,
      });
      await printRecipeReport(context, report, options.json ?? false);
    });
}

/** Prints a recipe's report; a failed step then ends the command with that step's error. */
export async function printRecipeReport(context: CommandContext, report: RecipeReport, json: boolean): Promise<void> {
  const { recipeReportError } = await import('../../recipes/execute.js');
  context.io.stdout(json ? renderJson(report) : renderRecipeReport(report));
  const failure = recipeReportError(report);
  if (failure) throw failure;
}
