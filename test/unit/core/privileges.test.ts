import { describe, expect, it } from 'vitest';
import { PrivilegeNotGrantedError } from '../../../src/errors.js';
import { DEFAULT_READONLY_PATHS, DOCKER_SOCKET, PRIVILEGED_PROFILE, assertGranted } from '../../../src/core/privileges.js';

describe('assertGranted', () => {
  it('passes a helper that needs no privilege, with or without grants', () => {
    expect(() => assertGranted({ helper: 'plain' }, new Set())).not.toThrow();
    expect(() => assertGranted({ helper: 'plain', privileges: [] }, new Set(['privileged']))).not.toThrow();
  });

  it('passes when every declared privilege is granted', () => {
    expect(() =>
      assertGranted({ helper: 'dind', privileges: ['privileged', 'docker-socket'] }, new Set(['docker-socket', 'privileged'])),
    ).not.toThrow();
  });

  it('fails with the flag that would allow each missing privilege', () => {
    const attempt = () => assertGranted({ helper: 'dind', privileges: ['privileged', 'docker-socket'] }, new Set(['docker-socket']));
    expect(attempt).toThrow(PrivilegeNotGrantedError);
    expect(attempt).toThrow(
      expect.objectContaining({
        code: 'PRIVILEGE_NOT_GRANTED',
        message: 'helper dind needs the privileged privilege',
        hint: 'allow it explicitly with --allow privileged',
      }),
    );
  });

  it('lists all missing privileges in the hint', () => {
    expect(() => assertGranted({ helper: 'x', privileges: ['host-sysctl', 'docker-socket'] }, new Set())).toThrow(
      expect.objectContaining({ hint: 'allow it explicitly with --allow host-sysctl --allow docker-socket' }),
    );
  });
});

describe('privilege constants', () => {
  it("lists the engine's default read-only /proc paths", () => {
    expect(DEFAULT_READONLY_PATHS).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('pins the explicit privileged profile', () => {
    expect(PRIVILEGED_PROFILE).toEqual({
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      cgroupBind: '/sys/fs/cgroup',
    });
    expect(DOCKER_SOCKET).toBe('/var/run/docker.sock');
  });
});
