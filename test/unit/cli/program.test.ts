import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/render.js';
import { NotFoundError, UsageError, exitCodeFor } from '../../../src/errors.js';
import { DTOOL_VERSION } from '../../../src/version.js';
import { FakeDocker } from '../../support/fake-docker.js';

function fakeCli() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    interactive: false,
    env: {},
    cwd: '/home/ops',
  };
  const docker = new FakeDocker();
  const context = createContext(io, new AbortController().signal, docker);
  return { docker, context, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function usageErrorOf(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('runCli', () => {
  it('turns an unknown global option into a UsageError (exit 2), after commander printed it', async () => {
    const cli = fakeCli();
    const error = await usageErrorOf(runCli(['--bogus'], cli.context));
    expect(error.message).toBe("unknown option '--bogus'");
    expect(exitCodeFor(error)).toBe(2);
    expect(cli.stderr()).toContain("unknown option '--bogus'");
    expect(cli.docker.calls).toEqual([]);
  });

  it('turns an unknown command option and an unknown command into UsageErrors', async () => {
    const cli = fakeCli();
    expect((await usageErrorOf(runCli(['backup', '--nope'], cli.context))).message).toBe("unknown option '--nope'");
    expect((await usageErrorOf(runCli(['frobnicate'], cli.context))).message).toMatch(/unknown command 'frobnicate'/);
    expect(cli.docker.calls).toEqual([]);
  });

  it('turns a missing option argument into a UsageError', async () => {
    const cli = fakeCli();
    expect((await usageErrorOf(runCli(['backup', '--out'], cli.context))).message).toMatch(/argument missing/);
  });

  it('prints help for --help without an error', async () => {
    const cli = fakeCli();
    await expect(runCli(['--help'], cli.context)).resolves.toBeUndefined();
    expect(cli.stdout()).toMatch(/^Usage: dtool/);
    for (const command of ['backup', 'restore', 'db-init', 'doctor', 'images', 'prune']) expect(cli.stdout()).toContain(command);
    expect(cli.docker.calls).toEqual([]);
  });

  it("prints a command's help for `backup --help` without an error", async () => {
    const cli = fakeCli();
    await expect(runCli(['backup', '--help'], cli.context)).resolves.toBeUndefined();
    expect(cli.stdout()).toContain('--keep-days');
  });

  it('prints the version for --version without an error', async () => {
    const cli = fakeCli();
    await expect(runCli(['--version'], cli.context)).resolves.toBeUndefined();
    expect(cli.stdout()).toBe(`${DTOOL_VERSION}\n`);
  });

  it('rejects `backup` without a target before any Docker call', async () => {
    const cli = fakeCli();
    const error = await usageErrorOf(runCli(['backup', '--out', '/srv/b', '--credentials', '/etc/my.cnf'], cli.context));
    expect(error.message).toBe('name at least one target: --link CONTAINER or --label KEY=VALUE');
    expect(cli.docker.calls).toEqual([]);
  });

  it('rejects `backup` with bad numbers before any Docker call', async () => {
    const cli = fakeCli();
    const error = await usageErrorOf(runCli(['backup', '--link', 'db', '--out', '/b', '--credentials', '/c', '--keep', '0'], cli.context));
    expect(error.message).toMatch(/^--keep expects a whole number/);
    expect(cli.docker.calls).toEqual([]);
  });

  it('rejects an unknown --allow privilege and a bad --privileged-mode before any Docker call', async () => {
    const cli = fakeCli();
    expect(
      (await usageErrorOf(runCli(['--allow', 'root', 'backup', '--link', 'db', '--out', '/b', '--credentials', '/c'], cli.context))).message,
    ).toMatch(/--allow: unknown privilege "root"/);
    expect(
      (await usageErrorOf(runCli(['--privileged-mode', 'maybe', 'backup', '--link', 'db', '--out', '/b', '--credentials', '/c'], cli.context)))
        .message,
    ).toBe('--privileged-mode must be flag or capabilities, not "maybe"');
    expect(cli.docker.calls).toEqual([]);
  });

  it('rejects `db-init` with an injection attempt in the database name before any Docker call', async () => {
    const cli = fakeCli();
    const error = await usageErrorOf(runCli(['db-init', '--link', 'db', '--root-password-file', 'r', '--database', 'x`; DROP'], cli.context));
    expect(error.message).toMatch(/^invalid database name/);
    expect(cli.docker.calls).toEqual([]);
  });

  it("lets a command's own error through with its code, not as a usage error", async () => {
    const cli = fakeCli();
    const error = await runCli(['restore', '--link', 'db', '--from', '/nonexistent/db.sql', '--credentials', '/c'], cli.context).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'link target db: no such container' });
    expect(exitCodeFor(error)).toBe(4);
  });
});
