/** `dtool sysctl`: refusals happen before the engine is touched; the flag a missing grant needs is named. */
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/render.js';
import { exitCodeFor } from '../../../src/errors.js';
import { FakeDocker } from '../../support/fake-docker.js';

function fakeCli() {
  const io: CliIo = { stdout: () => {}, stderr: () => {}, interactive: false, env: {}, cwd: '/' };
  const docker = new FakeDocker();
  return { docker, context: createContext(io, new AbortController().signal, docker) };
}

async function failure(args: string[]) {
  const cli = fakeCli();
  const error = (await runCli(args, cli.context).then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { code: string; message: string; hint?: string; details: readonly string[] };
  // Only the start-up orphan sweep may have listed containers: no helper was created.
  expect(cli.docker.methods().filter((m) => m !== 'listContainers')).toEqual([]);
  return error;
}

describe('dtool sysctl set', () => {
  it.each([
    [['kernel.core_pattern=|/tmp/x'], /kernel\.core_pattern.*root on the host/],
    [['kernel.modprobe=/tmp/x'], /kernel\.modprobe/],
    [['user.max_user_namespaces=0'], /user\.max_user_namespaces/],
    [['dev.tty.ldisc_autoload=0'], /not on the allowlist/],
    [['vm.swappiness=lots'], /vm\.swappiness/],
    [['vm.swappiness=201'], /vm\.swappiness/],
    [['net.ipv4.ip_local_port_range=60000 1024'], /ip_local_port_range/],
    [['kernel.shmmax=1000000'], /namespaced, not host-wide/],
  ])('refuses %s before any container starts (exit 2)', async (settings, message) => {
    const error = await failure(['--allow', 'host-sysctl', 'sysctl', 'set', ...settings]);
    expect(exitCodeFor(error)).toBe(2);
    expect([error.message, ...error.details].join('\n')).toMatch(message);
  });

  it('names --allow host-sysctl when it is missing (exit 11)', async () => {
    const error = await failure(['sysctl', 'set', 'vm.swappiness=10']);
    expect(exitCodeFor(error)).toBe(11);
    expect(error.hint).toMatch(/--allow host-sysctl/);
  });
});
