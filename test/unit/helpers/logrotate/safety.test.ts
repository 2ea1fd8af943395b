/** Refusals that depend on the target's mounts: Docker's own logs, and paths the helper runs from. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors.js';
import { checkTargetMounts, dockerLogsInside, isWithin } from '../../../../src/helpers/logrotate/safety.js';

const DEFAULT = ['/var/log/*/*log'];

function refusal(mounts: { source: string; destination: string }[], globs = DEFAULT): UsageError {
  try {
    checkTargetMounts('shipper', mounts, globs);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('checkTargetMounts accepted the mounts');
}

describe('isWithin', () => {
  it('compares whole components', () => {
    expect(isWithin('/var/lib/docker/containers/x', '/var/lib/docker/containers')).toBe(true);
    expect(isWithin('/var/lib/docker/containers', '/var/lib/docker/containers')).toBe(true);
    expect(isWithin('/var/lib/dockerx', '/var/lib/docker')).toBe(false);
    expect(isWithin('/var/lib', '/var/lib/docker')).toBe(false);
  });
});

describe('dockerLogsInside', () => {
  it("finds Docker's log folder behind a mount of it, of a folder in it, or of a folder above it", () => {
    expect(dockerLogsInside({ source: '/var/lib/docker/containers', destination: '/var/log/docker' })).toBe('/var/log/docker');
    expect(dockerLogsInside({ source: '/var/lib/docker/containers/abc', destination: '/var/log/abc' })).toBe('/var/log/abc');
    expect(dockerLogsInside({ source: '/var/lib/docker', destination: '/host/docker' })).toBe('/host/docker/containers');
    expect(dockerLogsInside({ source: '/', destination: '/host' })).toBe('/host/var/lib/docker/containers');
    expect(dockerLogsInside({ source: '/var/lib/docker/volumes/app/_data', destination: '/var/log/app' })).toBeUndefined();
    expect(dockerLogsInside({ source: '/srv/logs', destination: '/var/log/app' })).toBeUndefined();
  });
});

describe("checkTargetMounts: Docker's json-file logs", () => {
  it('refuses a target whose mount of /var/lib/docker/containers the globs reach, saying why', () => {
    const error = refusal([{ source: '/var/lib/docker/containers', destination: '/var/log/containers' }], ['/var/log/*/*/*.log']);
    expect(error.message).toBe(
      "refusing shipper: /var/log/*/*/*.log reaches /var/log/containers, Docker's own json-file logs (mounted from /var/lib/docker/containers)",
    );
    expect(error.hint).toMatch(/the engine keeps writing to the file it opened/);
  });

  it('refuses a single json-file log bind-mounted where the default glob looks', () => {
    const error = refusal([{ source: '/var/lib/docker/containers/abc/abc-json.log', destination: '/var/log/app/app.log' }]);
    expect(error.message).toMatch(/reaches \/var\/log\/app\/app\.log, Docker's own json-file logs/);
  });

  it('refuses a mount of a folder above them, when a glob reaches down into them', () => {
    refusal([{ source: '/var/lib/docker', destination: '/docker' }], ['/docker/*/*/*-json.log']);
  });

  it('lets a target through when its globs do not reach the mount', () => {
    expect(() => checkTargetMounts('shipper', [{ source: '/var/lib/docker/containers', destination: '/docker-logs' }], DEFAULT)).not.toThrow();
    expect(() =>
      checkTargetMounts('web', [{ source: '/var/lib/docker/volumes/web-logs/_data', destination: '/var/log/nginx' }], DEFAULT),
    ).not.toThrow();
  });
});

describe('checkTargetMounts: paths the helper runs from', () => {
  it.each(['/tmp', '/usr/local/bin', '/var/lib/dtool-logrotate', '/run', '/lib', '/', '/etc/ld.so.preload'])(
    'refuses a target with a mount at %s',
    (destination) => {
      expect(refusal([{ source: '/srv/x', destination }]).message).toMatch(
        new RegExp(`^shipper mounts ${destination.replace(/[./]/g, '\\$&')}, which would cover `),
      );
    },
  );

  it.each(['/etc/nginx', '/var/lib/app', '/run/php', '/dev/log', '/var/log/app'])('accepts a mount at %s', (destination) => {
    expect(() => checkTargetMounts('web', [{ source: '/srv/x', destination }], DEFAULT)).not.toThrow();
  });
});
