/**
 * The sysctl tuner on this host's own /proc/sys (vm.swappiness, harmless to flip, restored
 * in afterAll whatever happens), a namespaced key on one container, the faults, and host
 * info from a helper with no privilege.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultDeps, type Deps } from '../../../../src/deps.js';
import { hostInfo } from '../../../../src/helpers/host/info.js';
import { sysctlRevert, sysctlSet, sysctlSetOnContainer, sysctlStatus, type SysctlSetParams } from '../../../../src/helpers/sysctl/tuner.js';
import { TEST_LABEL, tempDir } from '../../support.js';

const SWAPPINESS = '/proc/sys/vm/swappiness';
const suffix = randomBytes(3).toString('hex');
const container = `dtool-it-sysctl-${suffix}`;
let original: string;
let stateDir: string;
let dropIns: string;

const read = async (path: string) => (await readFile(path, 'utf8')).trim();
const other = (value: string) => String((Number(value) + 7) % 100);

async function deps(grant = true): Promise<Deps> {
  return createDefaultDeps({ config: { grants: grant ? ['host-sysctl'] : [] } });
}

function params(settings: Record<string, string>, options: Partial<SysctlSetParams> = {}): SysctlSetParams {
  return {
    settings: Object.entries(settings).map(([key, value]) => ({ key, value })),
    dryRun: false,
    raiseOnly: false,
    persist: false,
    profile: 'test',
    sysctlDir: dropIns,
    ...options,
  };
}

beforeAll(async () => {
  original = await read(SWAPPINESS);
  const dir = await tempDir('dtool-it-sysctl-');
  stateDir = join(dir, 'state');
  dropIns = join(dir, 'sysctl.d');
  execFileSync('mkdir', ['-p', dropIns]);
});

afterAll(async () => {
  await writeFile(SWAPPINESS, `${original}\n`);
  execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
});

describe('dtool sysctl on the host', () => {
  it('sets a value, reads it back, and revert puts the original back', async () => {
    const target = other(original);
    const report = await sysctlSet(await deps(), params({ 'vm.swappiness': target }), stateDir);
    expect(report.changes).toEqual([{ key: 'vm.swappiness', class: 'node', previous: original, value: target, status: 'changed' }]);
    expect(await read(SWAPPINESS)).toBe(target);
    expect((await sysctlStatus(await deps(), stateDir)).map((r) => [r.key, r.inSync])).toEqual([['vm.swappiness', true]]);
    const reverted = await sysctlRevert(await deps(), stateDir);
    expect(reverted.restored).toEqual([{ key: 'vm.swappiness', value: original }]);
    expect(await read(SWAPPINESS)).toBe(original);
    expect((await sysctlRevert(await deps(), stateDir)).runId).toBeUndefined();
  });

  it('--dry-run changes nothing; --raise-only never lowers', async () => {
    const dry = await sysctlSet(await deps(), params({ 'vm.swappiness': other(original) }, { dryRun: true }), stateDir);
    expect(dry.changes[0]?.status).toBe('would-change');
    expect(await read(SWAPPINESS)).toBe(original);
    const lower = String(Math.max(0, Number(original) - 1));
    const raised = await sysctlSet(await deps(), params({ 'vm.swappiness': lower }, { raiseOnly: true }), stateDir);
    expect(raised.changes[0]?.status).toBe(lower === original ? 'unchanged' : 'kept-higher');
    expect(await read(SWAPPINESS)).toBe(original);
  });

  it('--persist writes the drop-in atomically; revert removes it', async () => {
    const target = other(original);
    const report = await sysctlSet(await deps(), params({ 'vm.swappiness': target }, { persist: true }), stateDir);
    expect(report.persisted).toBe(join(dropIns, '60-dtool-test.conf'));
    expect(await readFile(report.persisted!, 'utf8')).toMatch(new RegExp(`^vm\\.swappiness = ${target}$`, 'm'));
    expect(await readdir(dropIns)).toEqual(['60-dtool-test.conf']);
    await sysctlRevert(await deps(), stateDir);
    expect(await readdir(dropIns)).toEqual([]);
    expect(await read(SWAPPINESS)).toBe(original);
  });

  it('a failure partway through a multi-key set rolls back what was changed, and fails', async () => {
    // The kernel refuses an unknown congestion control algorithm (ENOENT) and changes
    // nothing; swappiness was written before it.
    const congestion = await read('/proc/sys/net/ipv4/tcp_congestion_control');
    const error = await sysctlSet(
      await deps(),
      params({ 'vm.swappiness': other(original), 'net.ipv4.tcp_congestion_control': 'dtool-no-such-algorithm' }),
      stateDir,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HELPER_FAILED' });
    expect((error as Error).message).toMatch(/net\.ipv4\.tcp_congestion_control.*rolled back vm\.swappiness/);
    expect(await read(SWAPPINESS)).toBe(original);
    expect(await read('/proc/sys/net/ipv4/tcp_congestion_control')).toBe(congestion);
  });

  it('refuses escape keys, keys off the allowlist and bad values before any container; a missing grant names the flag', async () => {
    for (const settings of [
      { 'kernel.core_pattern': '|/bin/sh' },
      { 'kernel.sysrq': '1' },
      { 'vm.swappiness': 'lots' },
      { 'vm.swappiness': '201' },
    ]) {
      await expect(sysctlSet(await deps(), params(settings), stateDir)).rejects.toMatchObject({ code: 'USAGE' });
    }
    await expect(sysctlSet(await deps(false), params({ 'vm.swappiness': other(original) }), stateDir)).rejects.toMatchObject({
      code: 'PRIVILEGE_NOT_GRANTED',
      hint: expect.stringMatching(/--allow host-sysctl/),
    });
    await expect(sysctlSet(await deps(), params({ 'vm.no_such_key_here': '1' }), stateDir)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await read(SWAPPINESS)).toBe(original);
  });
});

describe('dtool sysctl --container', () => {
  it('sets a namespaced key on one container (re-created with it), leaving the host as it was', async () => {
    execFileSync('docker', [
      'run',
      '-d',
      '--init',
      '--name',
      container,
      '--label',
      `${TEST_LABEL}=true`,
      'debian:bookworm-slim',
      'sleep',
      'infinity',
    ]);
    const hostValue = await read('/proc/sys/net/core/somaxconn');
    const report = await sysctlSetOnContainer(await deps(false), container, [{ key: 'net.core.somaxconn', value: '1234' }], false);
    expect(report.recreated).toBe(true);
    expect(execFileSync('docker', ['exec', container, 'cat', '/proc/sys/net/core/somaxconn'], { encoding: 'utf8' }).trim()).toBe('1234');
    expect(await read('/proc/sys/net/core/somaxconn')).toBe(hostValue);
    await expect(sysctlSetOnContainer(await deps(false), container, [{ key: 'vm.swappiness', value: '1' }], false)).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});

describe('dtool host info', () => {
  it('reports memory, load, mounts and the disk usage of a path, with no privilege', async () => {
    const info = await hostInfo(await deps(false), ['/tmp'], '/');
    expect(info.kernel).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    expect(info.memory.totalBytes).toBeGreaterThan(1024 * 1024 * 1024);
    expect(info.load).toHaveLength(3);
    expect(info.mounts.some((m) => m.mountpoint === '/')).toBe(true);
    expect(info.disks).toEqual([expect.objectContaining({ path: '/tmp' })]);
    expect(info.disks[0]!.totalBytes).toBeGreaterThan(0);
  });
});
