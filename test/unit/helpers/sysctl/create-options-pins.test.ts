/**
 * The sysctl and host-info helpers' create options, pinned: no Privileged, every capability
 * dropped, a read-only root, no network (the host's only for net.* keys), and only /proc/sys
 * lifted from the read-only paths — a privilege change is always a visible diff.
 */
import { describe, expect, it } from 'vitest';
import { toCreateOptions } from '../../../../src/core/to-create-options.js';
import { hostInfoSpec } from '../../../../src/helpers/host/info.js';
import { sysctlSpec } from '../../../../src/helpers/sysctl/tuner.js';
import { GUARDED_ATTACH, pinContext, pinLabels } from '../../../support/pins.js';

const TMPFS = { '/tmp': 'rw,nosuid,nodev,size=256m' };

describe('sysctl helper', () => {
  it('writes with CapDrop ALL, no-new-privileges, a read-only root, no network, and /proc/sys alone writable', () => {
    const spec = sysctlSpec(['set', 'vm.swappiness=10'], ['vm.swappiness'], ['host-sysctl'], 'dtool/host:abc');
    expect(toCreateOptions(spec, pinContext(new Set(['host-sysctl'])))).toEqual({
      Image: 'dtool/host:abc',
      Cmd: ['dtool-sysctl', 'set', 'vm.swappiness=10'],
      Labels: pinLabels('sysctl'),
      ...GUARDED_ATTACH,
      HostConfig: {
        Tmpfs: TMPFS,
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'],
        ReadonlyRootfs: true,
        AutoRemove: true,
        Init: true,
      },
    });
  });

  it("joins the host's network only for net.* keys, which belong to a network namespace", () => {
    const spec = sysctlSpec(['get', 'net.core.somaxconn'], ['net.core.somaxconn'], [], 'dtool/host:abc');
    const options = toCreateOptions(spec, pinContext());
    expect(options.HostConfig.NetworkMode).toBe('host');
    expect(options.HostConfig.ReadonlyPaths).toBeUndefined();
    expect(options.HostConfig.Privileged).toBeUndefined();
  });

  it('is refused before any Docker call without --allow host-sysctl', () => {
    const spec = sysctlSpec(['set', 'vm.swappiness=10'], ['vm.swappiness'], ['host-sysctl'], 'dtool/host:abc');
    expect(() => toCreateOptions(spec, pinContext())).toThrow(/needs the host-sysctl privilege/);
  });
});

describe('host-info helper', () => {
  it('reads with no capability and no network, through read-only mounts of exactly what it reads', () => {
    const options = toCreateOptions(hostInfoSpec('dtool/host:abc', ['/srv']), pinContext());
    expect(options.HostConfig).toEqual({
      Mounts: [
        { Type: 'bind', Source: '/proc/1/mounts', Target: '/host/proc/mounts', ReadOnly: true },
        { Type: 'bind', Source: '/etc/hostname', Target: '/host/etc/hostname', ReadOnly: true },
        { Type: 'bind', Source: '/srv', Target: '/host/paths/0', ReadOnly: true },
      ],
      Tmpfs: TMPFS,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      AutoRemove: true,
      Init: true,
    });
    expect(options.Cmd).toEqual(['dtool-host-info', '/srv']);
  });
});
