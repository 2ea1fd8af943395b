import type { Command } from 'commander';
import type { RawLogrotateOptions } from '../../helpers/logrotate/index.js';
import { collect, type CommandContext } from '../context.js';
import { renderJson, renderLogrotateReport } from '../render.js';
import { parseSwarmOptions, type RawSwarmOptions, withSwarmOptions } from '../swarm-options.js';

export function registerLogrotate(program: Command, context: CommandContext): void {
  const logrotateCommand = program
    .command('logrotate')
    .description("rotate the logs in running containers' volumes, as their owner; signal the app or copytruncate (measured)")
    .option('--volumes-from <container>', 'a target container: its volumes hold the logs (repeatable)', collect)
    .option('--label <key=value>', 'select running containers by label (repeatable)', collect)
    .option('--path <glob>', 'absolute glob inside the target (repeatable; default /var/log/*/*log, or label dtool.logrotate.path)', collect)
    .option('--rotate <n>', 'rotated files kept per log (default 7)')
    .option('--daily', 'rotate files once a day (the default)')
    .option('--weekly', 'rotate files once a week')
    .option('--size <size>', 'rotate files larger than SIZE (100k, 50M, 1G), whatever their age')
    .option('--compress', 'gzip rotated files, one rotation late (the default)')
    .option('--no-compress', 'keep rotated files uncompressed')
    .option('--mode <mode>', 'signal (rename, then dtool signals the app) or copytruncate; default: signal if the target declares one')
    .option('--signal <sig>', 'what makes the app reopen its logs: HUP (default), USR1 (nginx) or USR2')
    .option('--force', 'rotate whether or not the files are due')
    .option('--concurrency <n>', 'targets rotated at once (one helper each; default 4)')
    .option('--json', 'print the report as JSON');
  withSwarmOptions(logrotateCommand).action(async (options: RawLogrotateOptions & RawSwarmOptions & { json?: boolean }, command: Command) => {
    const { swarm: _swarm, constraint: _constraint, registry: _registry, json: _json, ...raw } = options;
    const swarm = parseSwarmOptions(options);
    if (swarm) {
      // Host folders on every node (--path), copytruncate: see helpers/logrotate/swarm.ts.
      const [family, { swarmReportError }, { renderSwarmLogrotate }] = await Promise.all([
        import('../../helpers/logrotate/swarm.js'),
        import('../../swarm/report.js'),
        import('../render-swarm.js'),
      ]);
      const params = family.parseSwarmLogrotateParams(raw, context.io.cwd);
      const report = await family.logrotateOnSwarm(await context.deps(command), params, swarm);
      context.io.stdout(options.json ? renderJson(report) : renderSwarmLogrotate(report));
      const failure = swarmReportError(report);
      if (failure) throw failure;
      return;
    }
    // Loaded only when the command runs: `dtool --help` pays for none of it.
    const { logrotate, logrotateReportError, parseLogrotateParams } = await import('../../helpers/logrotate/index.js');
    const params = parseLogrotateParams(options, context.io.cwd);
    const report = await logrotate(await context.deps(command), params);
    context.io.stdout(options.json ? renderJson(report) : renderLogrotateReport(report));
    const failure = logrotateReportError(report);
    if (failure) throw failure;
  });
}
