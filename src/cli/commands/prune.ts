import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { renderJson, renderPruneReport } from '../render.js';

export function registerPrune(program: Command, context: CommandContext): void {
  program
    .command('prune')
    .description('remove leftover dtool containers and volumes (selected by the dtool.managed label only)')
    .option('--dry-run', 'list what would be removed')
    .option(
      '--swarm',
      'instead: remove every dtool swarm job (service), secret, and job container left on the nodes, on the swarm this engine manages',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; swarm?: boolean; json?: boolean }, command: Command) => {
      if (options.swarm) {
        const { pruneSwarm } = await import('../../run/prune.js');
        const report = await pruneSwarm(await context.deps(command), { dryRun: options.dryRun ?? false });
        const verb = options.dryRun ? 'would remove' : 'removed';
        const list = (items: readonly string[]) => (items.length ? `: ${items.join(', ')}` : '');
        context.io.stdout(
          options.json
            ? renderJson(report)
            : `${verb} ${report.services.length} swarm job(s)${list(report.services)}\n${verb} ${report.secrets.length} swarm secret(s)${list(report.secrets)}\n` +
                `${verb} ${report.containers.length} job container(s) left on the nodes${list(report.containers)}\n` +
                (report.unreachable.length ? `could not look on ${report.unreachable.join(', ')}\n` : ''),
        );
        return;
      }
      const { prune } = await import('../../run/prune.js');
      const report = await prune(await context.deps(command), { dryRun: options.dryRun ?? false });
      context.io.stdout(options.json ? renderJson(report) : renderPruneReport(report, options.dryRun ?? false));
    });
}
