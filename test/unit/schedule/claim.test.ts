import { describe, expect, it } from 'vitest';
import type { ContainerCreateOptions } from '../../../src/docker/port.js';
import { DtoolError } from '../../../src/errors.js';
import { claimInstant, claimName, sweepClaims } from '../../../src/schedule/claim.js';
import { FakeDocker } from '../../support/fake-docker.js';

/** An engine that, like the real one, lets one creator have a name and refuses the rest (409). */
class NamingDocker extends FakeDocker {
  readonly names = new Set<string>();
  override async createContainer(options: ContainerCreateOptions): Promise<string> {
    if (options.name && this.names.has(options.name))
      throw new DtoolError('CONFLICT', `Conflict. The container name "/${options.name}" is already in use`);
    if (options.name) this.names.add(options.name);
    return super.createContainer(options);
  }
}

const image = { image: 'debian:bookworm-slim', version: '1.0.0' };
const instant = new Date('2026-11-24T03:00:00Z');
const nightly = { name: 'nightly', startingDeadlineMs: 3_600_000 };

describe('claims', () => {
  it('names a claim after the job and the instant', () => {
    expect(claimName('nightly', instant)).toBe('dtool-job-nightly-1795489200');
  });

  it('lets exactly one of several schedulers claim an instant', async () => {
    const docker = new NamingDocker();
    const results = await Promise.all([1, 2, 3].map(() => claimInstant(docker, image, nightly, instant)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await claimInstant(docker, image, nightly, new Date(instant.getTime() + 1000))).toBe(true);
  });

  it('creates a claim that is never started, on no network, labelled for the sweep', async () => {
    const docker = new NamingDocker();
    await claimInstant(docker, image, nightly, instant);
    expect(docker.methods()).toEqual(['createContainer']);
    expect(docker.created[0]).toMatchObject({
      Image: 'debian:bookworm-slim',
      HostConfig: { NetworkMode: 'none' },
      // Kept until no scheduler would start the instant any more: its deadline plus a minute.
      Labels: {
        'dtool.managed': '1.0.0',
        'dtool.claim.job': 'nightly',
        'dtool.claim.instant': '2026-11-24T03:00:00.000Z',
        'dtool.claim.expires': '2026-11-24T04:01:00.000Z',
      },
    });
  });

  it('passes on other engine errors', async () => {
    const docker = new FakeDocker();
    docker.createContainer = async () => {
      throw new DtoolError('ENGINE_UNAVAILABLE', 'gone');
    };
    await expect(claimInstant(docker, image, nightly, instant)).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
  });

  it('sweeps expired claims, and only those', async () => {
    const docker = new FakeDocker();
    const now = new Date('2026-11-30T00:00:00Z');
    docker.labelled = [
      { name: 'old', labels: { 'dtool.claim.instant': '2026-11-29T00:00:00Z', 'dtool.claim.expires': '2026-11-29T23:59:59Z' } },
      { name: 'recent', labels: { 'dtool.claim.instant': '2026-11-29T23:59:00Z', 'dtool.claim.expires': '2026-11-30T00:01:00Z' } },
    ];
    expect(await sweepClaims(docker, now)).toBe(1);
    expect(docker.removed).toEqual(['old']);
  });
});
