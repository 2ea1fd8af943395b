/** dtool's CLI, run in this process against a swarm engine, and the checks every swarm test ends with. */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import { renderError } from '../../../src/cli/render.js';
import { DockerodeAdapter } from '../../../src/docker/dockerode-adapter.js';
import { exitCodeFor, toDtoolError } from '../../../src/errors.js';
import { dockerOn } from './swarm-fixture.js';

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `DOCKER_HOST=address dtool ARGS…`, as main.ts runs it (the exit code from exitCodeFor). */
export async function dtoolOn(address: string, args: readonly string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (text: string) => {
      stdout += text;
    },
    stderr: (text: string) => {
      stderr += text;
    },
    interactive: false,
    env: { ...process.env, DOCKER_HOST: address },
    cwd: process.cwd(),
  };
  const docker = new DockerodeAdapter({ socketPath: new URL(address).pathname });
  try {
    await runCli(args, createContext(io, new AbortController().signal, docker));
    return { exitCode: 0, stdout, stderr };
  } catch (caught) {
    const error = toDtoolError(caught);
    return { exitCode: exitCodeFor(error), stdout, stderr: stderr + renderError(error) };
  }
}

/** A command in a node's container, on this machine's engine: the node's own filesystem. */
export function onNodeHost(node: string, script: string): string {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  return execFileSync('docker', ['exec', node, 'sh', '-c', script], { encoding: 'utf8', env }).trim();
}

/** No dtool service or secret is left on the swarm, nor (on the nodes given) a job's container. */
export async function expectNothingLeft(managerAddress: string, nodeAddresses: readonly string[] = []): Promise<void> {
  expect(await dockerOn(managerAddress, ['service', 'ls', '-q', '--filter', 'label=dtool.swarm-job'])).toBe('');
  expect(await dockerOn(managerAddress, ['secret', 'ls', '-q', '--filter', 'label=dtool.swarm-job'])).toBe('');
  for (const address of nodeAddresses) expect(await dockerOn(address, ['ps', '-aq', '--filter', 'label=dtool.swarm-job'])).toBe('');
}
