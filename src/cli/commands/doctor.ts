import type { Command } from 'commander';
import { EngineUnavailableError } from '../../errors.js';
import type { EndpointReport } from '../../run/doctor.js';
import type { CommandContext } from '../context.js';
import { renderDoctorReport, renderJson } from '../render.js';

/** `endpoint:          tcp://10.0.0.5:2376 via DOCKER_HOST, TLS, certificate verified`. */
export function renderEndpoint(endpoint: EndpointReport): string {
  const how = endpoint.ssh
    ? 'ssh'
    : endpoint.kind === 'unix'
      ? 'local socket'
      : endpoint.tls?.enabled
        ? `TLS, ${endpoint.tls.verify ? 'certificate verified' : 'certificate NOT verified'}`
        : 'plain tcp, NO TLS (--insecure)';
  return `endpoint:          ${endpoint.address} via ${endpoint.via}, ${how}\n`;
}

export function registerDoctor(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description('check the engine (which one, and how it is reached), its privileged support, and the images dtool needs')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { doctor } = await import('../../run/doctor.js');
      const report = await doctor(await context.deps(command));
      context.io.stdout(options.json ? renderJson(report) : `${report.endpoint ? renderEndpoint(report.endpoint) : ''}${renderDoctorReport(report)}`);
      if (!report.engine.reachable) {
        throw new EngineUnavailableError(report.engine.error, report.engine.hint ? { hint: report.engine.hint } : {});
      }
    });
}
