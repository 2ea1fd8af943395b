import type { Command } from 'commander';
import { EngineUnavailableError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { renderDoctorReport, renderJson } from '../render.js';

export function registerDoctor(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description('check the engine, its privileged support, and the images dtool needs')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { doctor } = await import('../../run/doctor.js');
      const report = await doctor(await context.deps(command));
      context.io.stdout(options.json ? renderJson(report) : renderDoctorReport(report));
      if (!report.engine.reachable) throw new EngineUnavailableError(report.engine.error);
    });
}
