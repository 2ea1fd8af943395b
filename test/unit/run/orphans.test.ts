import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helperLabels } from '../../../src/docker/labels.js';
import { sweepOrphans } from '../../../src/run/orphans.js';
import { TEST_OWNER, fakeDeps, fakeProcessTable } from '../../support/fake-docker.js';

let secretsDir: string;
beforeEach(async () => {
  secretsDir = await mkdtemp(join(tmpdir(), 'dtool-sweep-'));
});
afterEach(async () => {
  await rm(secretsDir, { recursive: true, force: true });
});

const owner = (pid: number, startTicks: string, more: Partial<typeof TEST_OWNER> = {}) => ({ ...TEST_OWNER, pid, startTicks, ...more });

describe('sweepOrphans', () => {
  it('removes the helpers whose owner is gone, and only those', async () => {
    const deps = { ...fakeDeps(), processes: fakeProcessTable({ [TEST_OWNER.pid]: TEST_OWNER.startTicks, 500: '77' }) };
    deps.docker.labelled = [
      { name: 'mine', labels: helperLabels('probe', 'r1', '1', TEST_OWNER) },
      { name: 'live-sibling', labels: helperLabels('probe', 'r2', '1', owner(500, '77')) },
      { name: 'dead-owner', labels: helperLabels('probe', 'r3', '1', owner(501, '88')) },
      { name: 'reused-pid', labels: helperLabels('probe', 'r4', '1', owner(500, '12')) },
      { name: 'old-boot', labels: helperLabels('probe', 'r5', '1', owner(500, '77', { bootId: 'boot-0' })) },
      { name: 'other-host', labels: helperLabels('probe', 'r6', '1', owner(501, '88', { host: 'elsewhere' })) },
      { name: 'not-dtool', labels: { 'dtool.owner.pid': 'x' } },
    ];
    const report = await sweepOrphans(deps, { secretsDir });
    expect(report.containers).toEqual(['dead-owner', 'reused-pid', 'old-boot']);
    expect(deps.docker.removed).toEqual(['dead-owner', 'reused-pid', 'old-boot']);
    expect(deps.events).toEqual([
      { type: 'warning', message: 'removed 3 helper containers (dead-owner, reused-pid, old-boot) left by dtool runs that are gone' },
    ]);
  });

  it("removes a dead owner's secret folders, never a live one's nor other files", async () => {
    const deps = { ...fakeDeps(), processes: fakeProcessTable({ [TEST_OWNER.pid]: TEST_OWNER.startTicks }) };
    for (const name of ['dtool-secrets-4242-1000-abcdef', 'dtool-secrets-999-5-abcdef', 'dtool-secrets-odd', 'unrelated']) {
      await mkdir(join(secretsDir, name));
    }
    const report = await sweepOrphans(deps, { secretsDir });
    expect(report.secretDirs).toEqual(['dtool-secrets-999-5-abcdef']);
    expect((await readdir(secretsDir)).sort()).toEqual(['dtool-secrets-4242-1000-abcdef', 'dtool-secrets-odd', 'unrelated']);
  });

  it('is silent when nothing is left behind', async () => {
    const deps = fakeDeps();
    expect(await sweepOrphans(deps, { secretsDir })).toEqual({ containers: [], secretDirs: [] });
    expect(deps.events).toEqual([]);
  });
});
