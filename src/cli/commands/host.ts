import type { Command } from 'commander';
import { collect, type CommandContext } from '../context.js';
import { renderHostInfo, renderJson } from '../render.js';
import { parseSwarmOptions, type RawSwarmOptions, withSwarmOptions } from '../swarm-options.js';

export function registerHost(program: Command, context: CommandContext): void {
  const host = program.command('host').description("the host's state, read from a container with no privilege");
  withSwarmOptions(
    host
      .command('info')
      .description('kernel, uptime, load, memory, mounts, and the disk usage of chosen paths')
      .option('--path <path>', 'report the disk usage of this host path (repeatable)', collect)
      .option('--json', 'print the report as JSON'),
  ).action(async (options: { path?: string[]; json?: boolean } & RawSwarmOptions, command: Command) => {
    const swarm = parseSwarmOptions(options);
    if (swarm) {
      const [{ hostInfoOnSwarm }, { swarmReportError }, { renderSwarmHostInfo }] = await Promise.all([
        import('../../helpers/host/swarm.js'),
        import('../../swarm/report.js'),
        import('../render-swarm.js'),
      ]);
      const report = await hostInfoOnSwarm(await context.deps(command), options.path ?? [], swarm);
      context.io.stdout(options.json ? renderJson(report) : renderSwarmHostInfo(report));
      const failure = swarmReportError(report);
      if (failure) throw failure;
      return;
    }
    const { hostInfo } = await import('../../helpers/host/info.js');
    const info = await hostInfo(await context.deps(command), options.path ?? [], context.io.cwd);
    context.io.stdout(options.json ? renderJson(info) : renderHostInfo(info));
  });
}
