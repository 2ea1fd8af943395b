import { describe, expect, it } from 'vitest';
import type { HelperRunSpec } from '../../../src/core/helper-spec.js';
import { SwarmUnsupportedError } from '../../../src/swarm/errors.js';
import { LABEL_SWARM_JOB, assertSwarmCompatible, toServiceSpec, type ServiceContext } from '../../../src/swarm/service-spec.js';
import { hostInfoSpec } from '../../../src/helpers/host/info.js';
import { TEST_OWNER } from '../../support/fake-docker.js';

const context: ServiceContext = {
  runId: 'run-1',
  version: '0.1.0',
  owner: TEST_OWNER,
  mode: 'global',
  image: 'dtool/host:abc',
  constraints: ['node.role==worker', 'node.id!=n3'],
  secrets: {},
};

describe('toServiceSpec', () => {
  it('pins host-info as a global job with the least privilege of a helper container', () => {
    expect(toServiceSpec(hostInfoSpec('dtool/host:abc', ['/srv']), context)).toEqual({
      Name: 'dtool-host-info-run-1',
      Labels: {
        'dtool.managed': '0.1.0',
        'dtool.helper': 'host-info',
        'dtool.run-id': 'run-1',
        'dtool.owner.host': 'test-host',
        'dtool.owner.boot-id': 'boot-1',
        'dtool.owner.pid': '4242',
        'dtool.owner.start-ticks': '1000',
        [LABEL_SWARM_JOB]: 'run-1',
      },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'dtool/host:abc',
          Args: ['dtool-host-info', '/srv'],
          Hostname: '{{.Node.Hostname}}',
          Labels: expect.objectContaining({ 'dtool.helper': 'host-info', [LABEL_SWARM_JOB]: 'run-1', 'dtool.owner.pid': '4242' }),
          Mounts: [
            { Type: 'bind', Source: '/proc/1/mounts', Target: '/host/proc/mounts', ReadOnly: true },
            { Type: 'bind', Source: '/etc/hostname', Target: '/host/etc/hostname', ReadOnly: true },
            { Type: 'bind', Source: '/srv', Target: '/host/paths/0', ReadOnly: true },
            { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 256 * 1024 * 1024, Mode: 0o1777 } },
          ],
          ReadOnly: true,
          CapabilityDrop: ['ALL'],
          Init: true,
        },
        RestartPolicy: { Condition: 'on-failure', MaxAttempts: 1, Delay: 86_400_000_000_000 },
        Placement: { Constraints: ['node.role==worker', 'node.id!=n3'] },
      },
      Mode: { GlobalJob: {} },
    });
  });

  it('a one-off job is a replicated job of one completion', () => {
    const spec = toServiceSpec(hostInfoSpec('img', []), { ...context, mode: 'one-off', constraints: [] });
    expect(spec.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(spec.TaskTemplate.Placement).toBeUndefined();
  });

  it('adds back declared capabilities, keeps the guard before an entrypoint, never sets DTOOL_GUARD', () => {
    const spec: HelperRunSpec = {
      helper: 'x',
      image: 'img',
      entrypoint: ['run'],
      command: ['a'],
      user: '1000:1000',
      env: { A: '1' },
      capabilities: ['SETUID', 'SETGID'],
      tmpfs: ['/work'],
    };
    const c = toServiceSpec(spec, context).TaskTemplate.ContainerSpec;
    expect(c.CapabilityDrop).toEqual(['ALL']);
    expect(c.CapabilityAdd).toEqual(['SETUID', 'SETGID']);
    expect(c.Command).toEqual(['dtool-guard', 'run']);
    expect(c.Env).toEqual(['A=1']);
    expect(c.User).toBe('1000:1000');
    expect(c.Mounts?.map((m) => m.Target)).toEqual(['/tmp', '/work']);
  });

  it('secrets become swarm secrets at /run/secrets/<name>, owned by the helper user, never env or argv', () => {
    const spec: HelperRunSpec = { helper: 'x', image: 'img', command: ['a'], user: '999', secrets: [{ name: 'db.cnf', content: 'pw' }] };
    const options = toServiceSpec(spec, { ...context, secrets: { 'db.cnf': { id: 'sec-1', name: 'dtool-run-1-db.cnf' } } });
    expect(options.TaskTemplate.ContainerSpec.Secrets).toEqual([
      { SecretID: 'sec-1', SecretName: 'dtool-run-1-db.cnf', File: { Name: 'db.cnf', UID: '999', GID: '999', Mode: 0o400 } },
    ]);
    expect(JSON.stringify(options)).not.toContain('"pw"');
  });
});

describe('assertSwarmCompatible', () => {
  const base: HelperRunSpec = { helper: 'h', image: 'img', command: ['a'] };

  it.each([
    ['privileged', /privileged privilege.*cannot be privileged/],
    ['host-sysctl', /host-sysctl privilege.*cannot unmask \/proc\/sys/],
    ['docker-socket', /docker-socket privilege.*engine/],
  ] as const)('refuses %s, saying why', (privilege, message) => {
    expect(() => assertSwarmCompatible({ ...base, privileges: [privilege] })).toThrow(SwarmUnsupportedError);
    expect(() => assertSwarmCompatible({ ...base, privileges: [privilege] })).toThrow(message);
  });

  it('refuses container volumes, links and copied-out outputs', () => {
    expect(() => assertSwarmCompatible({ ...base, volumesFrom: ['app'] })).toThrow(/volumes of container app/);
    expect(() => assertSwarmCompatible({ ...base, network: { mode: 'network', name: 'n', links: ['db:db'] } })).toThrow(/links/);
    expect(() => assertSwarmCompatible({ ...base, keepUntilCollected: true })).toThrow(/copied out/);
    expect(() => assertSwarmCompatible(base)).not.toThrow();
  });
});
