#!/usr/bin/env node
/**
 * The only file that touches `process`: argv, signals, and the exit code. Ctrl-C or SIGTERM
 * aborts the run (helpers are stopped and removed); a second one exits at once.
 */
import { AbortedError, exitCodeFor, toDtoolError } from '../errors.js';
import { createContext } from './context.js';
import { runCli } from './program.js';
import { renderError, type CliIo } from './render.js';

const controller = new AbortController();
let signalsSeen = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalsSeen++;
    if (signalsSeen > 1) process.exit(130);
    process.stderr.write(`dtool: ${signal}: stopping helpers and cleaning up (again to exit at once)\n`);
    controller.abort(new AbortedError(`interrupted by ${signal}`));
  });
}

const io: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  env: process.env,
  cwd: process.cwd(),
};

try {
  await runCli(process.argv.slice(2), createContext(io, controller.signal));
} catch (caught) {
  const error = controller.signal.aborted ? new AbortedError('interrupted', { cause: caught }) : toDtoolError(caught);
  // Commander printed usage errors itself, with help.
  if (!(error.code === 'USAGE' && error.cause && (error.cause as { code?: string }).code?.startsWith('commander.'))) {
    io.stderr(renderError(error));
  }
  process.exitCode = exitCodeFor(error);
}
