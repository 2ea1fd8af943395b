import type { Command } from 'commander';
import { parseGrants, type DtoolConfig } from '../config.js';
import type { Deps } from '../deps.js';
import type { DockerPort } from '../docker/port.js';
import { EngineUnavailableError, UsageError } from '../errors.js';
import { terminalReporter, type CliIo } from './render.js';

export interface CommandContext {
  readonly io: CliIo;
  readonly signal: AbortSignal;
  /** Builds the effects for one command, from its global options. */
  deps(command: Command): Promise<Deps>;
}

interface GlobalOptions {
  readonly allow?: string[];
  readonly privilegedMode?: string;
  readonly verbose?: boolean;
  readonly quiet?: boolean;
  readonly insecure?: boolean;
}

export function createContext(io: CliIo, signal: AbortSignal, docker?: DockerPort): CommandContext {
  return {
    io,
    signal,
    deps: async (command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const flags: { -readonly [K in keyof DtoolConfig]?: DtoolConfig[K] } = {};
      if (globals.allow?.length) flags.grants = parseGrants(globals.allow, '--allow');
      if (globals.privilegedMode !== undefined) {
        if (globals.privilegedMode !== 'flag' && globals.privilegedMode !== 'capabilities') {
          throw new UsageError(`--privileged-mode must be flag or capabilities, not "${globals.privilegedMode}"`);
        }
        flags.privilegedMode = globals.privilegedMode;
      }
      // Loaded when a command needs the engine, not for `--help` or a usage error.
      const [{ createDefaultDeps }, { sweepOrphans }] = await Promise.all([import('../deps.js'), import('../run/orphans.js')]);
      const deps = await createDefaultDeps({
        env: io.env,
        config: flags,
        reporter: terminalReporter(io, { verbose: globals.verbose ?? false, quiet: globals.quiet ?? false }),
        signal,
        // Absent: DTOOL_INSECURE decides.
        ...(globals.insecure ? { insecure: true } : {}),
        ...(docker ? { docker } : {}),
      });
      // Every start sweeps what dead dtool runs left behind. An engine that does not answer
      // is not this sweep's to report: the command itself says so, in its own words.
      await sweepOrphans(deps).catch((error: unknown) => {
        if (!(error instanceof EngineUnavailableError)) throw error;
      });
      return deps;
    },
  };
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
