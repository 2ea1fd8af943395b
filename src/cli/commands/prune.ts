import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { renderJson, renderPruneReport } from '../render.js';

export function registerPrune(program: Command, context: CommandContext): void {
  program
    .command('prune')
    .description('remove leftover dtool containers and volumes (selected by the dtool.managed label only)')
    .option('--dry-run', 'list what would be removed')
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const { prune } = await import('../../run/prune.js');
      const report = await prune(await context.deps(command), { dryRun: options.dryRun ?? false });
      context.io.stdout(options.json ? renderJson(report) : renderPruneReport(report, options.dryRun ?? false));
    });
}
