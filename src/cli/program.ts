import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { DTOOL_VERSION } from '../version.js';
import { registerBackup } from './commands/backup.js';
import { registerDbInit } from './commands/db-init.js';
import { registerDind } from './commands/dind.js';
import { registerDns } from './commands/dns.js';
import { registerDoctor } from './commands/doctor.js';
import { registerHost } from './commands/host.js';
import { registerImages } from './commands/images.js';
import { registerLogrotate } from './commands/logrotate.js';
import { registerPrune } from './commands/prune.js';
import { registerRecipe } from './commands/recipe.js';
import { registerRestore } from './commands/restore.js';
import { registerSchedule } from './commands/schedule.js';
import { registerSysctl } from './commands/sysctl.js';
import { collect, type CommandContext } from './context.js';

export function buildProgram(context: CommandContext): Command {
  const program = new Command('dtool')
    .description('containers as binaries: single-purpose Docker helpers for linked containers and host mounts')
    .version(DTOOL_VERSION)
    .option('--allow <privilege>', 'grant a privilege to helpers that declare it: privileged, host-sysctl, docker-socket (repeatable)', collect)
    .option('--privileged-mode <mode>', 'realise "privileged" with the engine flag or the explicit capability profile: flag | capabilities')
    .option('-v, --verbose', 'show helper output and build steps')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--insecure', 'allow a tcp:// engine without TLS (DOCKER_HOST=tcp://… with no DOCKER_TLS_VERIFY); also DTOOL_INSECURE=1')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.stdout(text),
      writeErr: (text) => context.io.stderr(text),
    });
  for (const register of [
    registerBackup,
    registerRestore,
    registerDbInit,
    registerLogrotate,
    registerDoctor,
    registerImages,
    registerPrune,
    registerSchedule,
    registerRecipe,
    registerDns,
    registerDind,
    registerSysctl,
    registerHost,
  ]) {
    register(program, context);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Parses argv and runs one command. Commander's own usage errors become UsageError; help and version are not errors. */
export async function runCli(argv: readonly string[], context: CommandContext): Promise<void> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) || error.exitCode === 0) return;
      // Commander already printed its message and the help text.
      throw new UsageError(error.message.replace(/^error: /, ''), { cause: error });
    }
    throw error;
  }
}
