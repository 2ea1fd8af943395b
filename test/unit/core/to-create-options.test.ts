import { describe, expect, it } from 'vitest';
import { GUARDED_ATTACH } from '../../support/pins.js';
import { PrivilegeNotGrantedError } from '../../../src/errors.js';
import { toCreateOptions, type CreateContext } from '../../../src/core/to-create-options.js';
import type { HelperRunSpec, Privilege, PrivilegedMode } from '../../../src/core/helper-spec.js';

const OWNER = { host: 'host-a', bootId: 'boot-a', pid: 77, startTicks: '123' };
const OWNER_LABELS = { 'dtool.owner.host': 'host-a', 'dtool.owner.boot-id': 'boot-a', 'dtool.owner.pid': '77', 'dtool.owner.start-ticks': '123' };
const LABELS = { 'dtool.managed': '9.9.9', 'dtool.helper': 'probe', 'dtool.run-id': 'run-1', ...OWNER_LABELS };
const GUARDED = GUARDED_ATTACH;
const TMPFS = 'rw,nosuid,nodev,size=256m';

function context(options: { grants?: Privilege[]; mode?: PrivilegedMode } = {}): CreateContext {
  return {
    runId: 'run-1',
    version: '9.9.9',
    grants: new Set(options.grants ?? []),
    privilegedMode: options.mode ?? 'flag',
    owner: OWNER,
  };
}

const probe: HelperRunSpec = { helper: 'probe', image: 'dtool/probe:abc', command: ['probe', '--once'] };

describe('toCreateOptions: an unprivileged helper', () => {
  it('drops every capability, forbids new privileges, mounts the root read-only with a /tmp tmpfs, and runs tini', () => {
    expect(toCreateOptions(probe, context())).toEqual({
      Image: 'dtool/probe:abc',
      Cmd: ['probe', '--once'],
      Labels: LABELS,
      ...GUARDED,
      HostConfig: {
        Tmpfs: { '/tmp': TMPFS },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        AutoRemove: true,
        Init: true,
      },
    });
  });

  it('adds back exactly the declared capabilities', () => {
    const options = toCreateOptions({ ...probe, capabilities: ['CHOWN', 'SETUID'] }, context());
    expect(options.HostConfig.CapDrop).toEqual(['ALL']);
    expect(options.HostConfig.CapAdd).toEqual(['CHOWN', 'SETUID']);
    expect(options.HostConfig.Privileged).toBeUndefined();
  });

  it('adds declared tmpfs paths after /tmp, and none when the root is writable', () => {
    expect(toCreateOptions({ ...probe, tmpfs: ['/run/mysqld'] }, context()).HostConfig.Tmpfs).toEqual({ '/tmp': TMPFS, '/run/mysqld': TMPFS });
    const writable = toCreateOptions({ ...probe, writableRoot: true, tmpfs: ['/run/mysqld'] }, context());
    expect(writable.HostConfig.ReadonlyRootfs).toBe(false);
    expect(writable.HostConfig.Tmpfs).toBeUndefined();
    expect(writable.HostConfig.CapDrop).toEqual(['ALL']);
  });

  it('turns mounts into engine mounts, keeping read-only flags', () => {
    const options = toCreateOptions(
      {
        ...probe,
        mounts: [
          { type: 'bind', source: '/srv/backups', target: '/backups', readOnly: false },
          { type: 'bind', source: '/srv/seed.sql', target: '/seed.sql', readOnly: true },
          { type: 'volume', source: 'dbdata', target: '/var/lib/mysql', readOnly: false },
          { type: 'volume', target: '/scratch', readOnly: false },
          { type: 'volume', source: 'state', target: '/state', readOnly: false, labels: { 'dtool.state': 'x' } },
          { type: 'tmpfs', target: '/work', sizeBytes: 1024 },
          { type: 'tmpfs', target: '/work2' },
        ],
      },
      context(),
    );
    expect(options.HostConfig.Mounts).toEqual([
      { Type: 'bind', Source: '/srv/backups', Target: '/backups', ReadOnly: false },
      { Type: 'bind', Source: '/srv/seed.sql', Target: '/seed.sql', ReadOnly: true },
      { Type: 'volume', Source: 'dbdata', Target: '/var/lib/mysql', ReadOnly: false },
      { Type: 'volume', Target: '/scratch', ReadOnly: false },
      { Type: 'volume', Source: 'state', Target: '/state', ReadOnly: false, VolumeOptions: { Labels: { 'dtool.state': 'x' } } },
      { Type: 'tmpfs', Target: '/work', TmpfsOptions: { SizeBytes: 1024 } },
      { Type: 'tmpfs', Target: '/work2' },
    ]);
  });

  it('passes --volumes-from containers through, and none when there are none', () => {
    expect(toCreateOptions({ ...probe, volumesFrom: ['web:ro', 'api'] }, context()).HostConfig.VolumesFrom).toEqual(['web:ro', 'api']);
    expect('VolumesFrom' in toCreateOptions(probe, context()).HostConfig).toBe(false);
  });

  it('passes entrypoint, user and env through, keeping the guard in front of a replaced entrypoint', () => {
    const options = toCreateOptions({ ...probe, entrypoint: ['/bin/sh', '-c'], user: '1000:1000', env: { TZ: 'UTC', LANG: 'C.UTF-8' } }, context());
    expect(options.Entrypoint).toEqual(['dtool-guard', '/bin/sh', '-c']);
    expect(options.User).toBe('1000:1000');
    expect(options.Env).toEqual(['TZ=UTC', 'LANG=C.UTF-8', 'DTOOL_GUARD=stdin']);
  });

  it('is removed by the engine once stopped (AutoRemove), guarded or not', () => {
    expect(toCreateOptions(probe, context()).HostConfig.AutoRemove).toBe(true);
    expect(toCreateOptions({ ...probe, guarded: false }, context()).HostConfig.AutoRemove).toBe(true);
  });

  it('is kept after it exits only when its outputs are still to be copied out (keepUntilCollected)', () => {
    expect(toCreateOptions({ ...probe, keepUntilCollected: true }, context()).HostConfig.AutoRemove).toBe(false);
  });

  it('leaves a foreign image (guarded: false) its own entrypoint and a closed stdin', () => {
    const options = toCreateOptions({ ...probe, guarded: false, entrypoint: ['/bin/sh', '-c'] }, context());
    expect(options).toMatchObject({ Entrypoint: ['/bin/sh', '-c'], AttachStdin: false, OpenStdin: false, StdinOnce: false });
    expect(options.Env).toBeUndefined();
  });

  it.each([
    [{ mode: 'default' } as const, {}],
    [{ mode: 'none' } as const, { NetworkMode: 'none' }],
    [{ mode: 'host' } as const, { NetworkMode: 'host' }],
    [{ mode: 'network', name: 'appnet' } as const, { NetworkMode: 'appnet' }],
    [{ mode: 'network', name: 'bridge', links: ['db:database'] } as const, { NetworkMode: 'bridge', Links: ['db:database'] }],
    [{ mode: 'network', name: 'bridge', links: [] } as const, { NetworkMode: 'bridge' }],
  ])('network %j becomes %j', (network, expected) => {
    const { HostConfig } = toCreateOptions({ ...probe, network }, context());
    expect({ NetworkMode: HostConfig.NetworkMode, Links: HostConfig.Links }).toEqual({ NetworkMode: undefined, Links: undefined, ...expected });
  });
});

describe('toCreateOptions: secrets', () => {
  const secretValue = 'pa$$w0rd-"quoted"-\\-#';
  const spec: HelperRunSpec = { ...probe, secrets: [{ name: 'client.cnf', content: `[client]\npassword="${secretValue}"\n` }] };

  it('gives them an empty private tmpfs at /run/secrets, owned by the helper user, and binds no file', () => {
    const options = toCreateOptions({ ...spec, user: '1000:1001' }, context());
    expect(options.HostConfig.Mounts).toBeUndefined();
    expect(options.HostConfig.Tmpfs).toEqual({
      '/tmp': TMPFS,
      '/run/secrets': 'rw,noexec,nosuid,nodev,size=1048576,mode=0700,uid=1000,gid=1001',
    });
    expect(toCreateOptions(spec, context()).HostConfig.Tmpfs!['/run/secrets']).toBe('rw,noexec,nosuid,nodev,size=1048576,mode=0700');
  });

  it('has the tmpfs on a writable root too (it is not scratch space)', () => {
    const options = toCreateOptions({ ...spec, writableRoot: true }, context());
    expect(options.HostConfig.Tmpfs).toEqual({ '/run/secrets': 'rw,noexec,nosuid,nodev,size=1048576,mode=0700' });
  });

  it('sizes the tmpfs for large secrets', () => {
    const big = { ...probe, secrets: [{ name: 'seeds.sql', content: 'x'.repeat(3 * 1024 * 1024) }] };
    expect(toCreateOptions(big, context()).HostConfig.Tmpfs!['/run/secrets']).toContain(',size=4194304,');
  });

  it('never puts the secret content into the options: dtool-guard only learns their names', () => {
    const options = toCreateOptions(spec, context());
    expect(JSON.stringify(options)).not.toContain(secretValue);
    expect(JSON.stringify(options)).not.toContain('pa$$w0rd');
    expect(options.Env).toEqual(['DTOOL_GUARD=stdin', 'DTOOL_SECRETS=client.cnf']);
  });

  it('adds nothing for a helper without secrets', () => {
    const options = toCreateOptions(probe, context());
    expect(options.Env).toEqual(['DTOOL_GUARD=stdin']);
    expect(options.HostConfig.Tmpfs).toEqual({ '/tmp': TMPFS });
  });

  it.each(['../escape', '.hidden', 'a/b', ''])('refuses the secret name %j', (name) => {
    expect(() => toCreateOptions({ ...probe, secrets: [{ name, content: 'x' }] }, context())).toThrow(`invalid secret name: ${name}`);
  });

  it('refuses two secrets with one name, a foreign image, and a user named otherwise than by uid', () => {
    const twice = {
      ...probe,
      secrets: [
        { name: 's', content: 'a' },
        { name: 's', content: 'b' },
      ],
    };
    expect(() => toCreateOptions(twice, context())).toThrow('two secrets named s');
    expect(() => toCreateOptions({ ...spec, guarded: false }, context())).toThrow(/secrets need a dtool image/);
    expect(() => toCreateOptions({ ...spec, user: 'mysql' }, context())).toThrow(/names its user as uid\[:gid\], not "mysql"/);
  });
});

describe('toCreateOptions: privileges', () => {
  const dind: HelperRunSpec = { helper: 'dind', image: 'dtool/dind:abc', command: ['dockerd'], privileges: ['privileged'] };

  it('refuses a privileged helper that was not granted, naming --allow privileged', () => {
    expect(() => toCreateOptions(dind, context())).toThrow(PrivilegeNotGrantedError);
    expect(() => toCreateOptions(dind, context({ grants: ['host-sysctl', 'docker-socket'] }))).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('--allow privileged') }),
    );
  });

  it('refuses host-sysctl and docker-socket unless granted', () => {
    expect(() => toCreateOptions({ ...probe, privileges: ['host-sysctl'] }, context({ grants: ['privileged'] }))).toThrow(
      expect.objectContaining({ hint: 'allow it explicitly with --allow host-sysctl' }),
    );
    expect(() => toCreateOptions({ ...probe, privileges: ['docker-socket'] }, context())).toThrow(
      expect.objectContaining({ hint: 'allow it explicitly with --allow docker-socket' }),
    );
  });

  it('uses the Privileged flag in mode "flag", with a writable root and no capability lists', () => {
    expect(toCreateOptions(dind, context({ grants: ['privileged'], mode: 'flag' }))).toEqual({
      Image: 'dtool/dind:abc',
      Cmd: ['dockerd'],
      Labels: { 'dtool.managed': '9.9.9', 'dtool.helper': 'dind', 'dtool.run-id': 'run-1', ...OWNER_LABELS },
      ...GUARDED,
      HostConfig: {
        Privileged: true,
        ReadonlyRootfs: false,
        AutoRemove: true,
        Init: true,
      },
    });
  });

  it('uses the explicit profile in mode "capabilities", never the Privileged flag', () => {
    const options = toCreateOptions(dind, context({ grants: ['privileged'], mode: 'capabilities' }));
    expect(options.HostConfig).toEqual({
      Mounts: [{ Type: 'bind', Source: '/sys/fs/cgroup', Target: '/sys/fs/cgroup', ReadOnly: false }],
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      ReadonlyRootfs: false,
      AutoRemove: true,
      Init: true,
    });
    expect('Privileged' in options.HostConfig).toBe(false);
  });

  it('gives a privileged helper the profile even when it also declares capabilities', () => {
    const options = toCreateOptions({ ...dind, capabilities: ['NET_ADMIN'] }, context({ grants: ['privileged'], mode: 'capabilities' }));
    expect(options.HostConfig.CapAdd).toEqual(['ALL']);
    expect(options.HostConfig.CapDrop).toEqual(['SYS_RESOURCE']);
  });

  it('host-sysctl lifts only /proc/sys from the read-only paths and keeps everything else locked', () => {
    const options = toCreateOptions({ ...probe, privileges: ['host-sysctl'] }, context({ grants: ['host-sysctl'] }));
    expect(options.HostConfig).toEqual({
      Tmpfs: { '/tmp': TMPFS },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'],
      ReadonlyRootfs: true,
      AutoRemove: true,
      Init: true,
    });
  });

  it('docker-socket binds the engine socket and nothing more', () => {
    const options = toCreateOptions({ ...probe, privileges: ['docker-socket'] }, context({ grants: ['docker-socket'] }));
    expect(options.HostConfig).toEqual({
      Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock', ReadOnly: false }],
      Tmpfs: { '/tmp': TMPFS },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      AutoRemove: true,
      Init: true,
    });
  });

  it('grants alone change nothing for a helper that declares no privilege', () => {
    const plain = toCreateOptions(probe, context());
    const granted = toCreateOptions(probe, context({ grants: ['privileged', 'host-sysctl', 'docker-socket'], mode: 'capabilities' }));
    expect(granted).toEqual(plain);
  });
});
