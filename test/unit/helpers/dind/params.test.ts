/** Flags of `dind build` and `build-install` into parameters: usage errors name the flag, before anything runs. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors.js';
import { parseBuildInstallParams } from '../../../../src/helpers/dind/build-install.js';
import { defaultCacheVolume, parseBuildArgs, parseDindBuildParams } from '../../../../src/helpers/dind/build.js';

describe('parseDindBuildParams', () => {
  it('resolves paths against the working folder and gives each context its own cache volume', () => {
    const params = parseDindBuildParams('app', { tag: 'app', out: 'out/app.tar', buildArg: ['A=1', 'B=x=y'] }, '/work');
    expect(params).toEqual({
      context: '/work/app',
      dockerfile: 'Dockerfile',
      tag: 'app:latest',
      out: '/work/out/app.tar',
      seedImages: [],
      buildArgs: { A: '1', B: 'x=y' },
      load: false,
      cacheVolume: defaultCacheVolume('/work/app'),
    });
    expect(defaultCacheVolume('/work/app')).toMatch(/^dtool-dind-cache-[0-9a-f]{12}$/);
    expect(defaultCacheVolume('/work/other')).not.toBe(defaultCacheVolume('/work/app'));
  });

  it('--no-cache means a throwaway volume; --cache names one', () => {
    expect(parseDindBuildParams('.', { tag: 'a:1', out: 'a.tar', cache: false }, '/w').cacheVolume).toBeUndefined();
    expect(parseDindBuildParams('.', { tag: 'a:1', out: 'a.tar', cache: 'my-cache' }, '/w').cacheVolume).toBe('my-cache');
  });

  it.each([
    [undefined, { tag: 'a', out: 'a.tar' }, /build context folder/],
    ['.', { out: 'a.tar' }, /--tag is required/],
    ['.', { tag: 'App:1', out: 'a.tar' }, /is not an image name/],
    ['.', { tag: 'a' }, /--out FILE.tar is required/],
    ['.', { tag: 'a', out: 'a.tar', cache: '-bad' }, /not a volume name/],
    ['.', { tag: 'a', out: 'a.tar', buildArg: ['NOVALUE'] }, /--build-arg expects NAME=VALUE/],
  ] as const)('refuses bad input (%s, %o)', (context, raw, message) => {
    expect(() => parseDindBuildParams(context, raw, '/w')).toThrow(UsageError);
    expect(() => parseDindBuildParams(context, raw, '/w')).toThrow(message);
  });

  it('parses build args, keeping "=" in values', () => {
    expect(parseBuildArgs(['A=', 'B=1=2'])).toEqual({ A: '', B: '1=2' });
  });
});

describe('parseBuildInstallParams', () => {
  it('defaults to the host builder and the image mode; --mode is octal', () => {
    expect(parseBuildInstallParams('ctx', { artifact: '/usr/local/bin/tool/', to: 'bin' }, '/w')).toEqual({
      context: '/w/ctx',
      dockerfile: 'Dockerfile',
      artifact: '/usr/local/bin/tool',
      to: '/w/bin',
      via: 'host',
      force: false,
      buildArgs: {},
    });
    expect(parseBuildInstallParams('ctx', { artifact: '/t', to: 'bin', mode: '0750', via: 'dind' }, '/w')).toMatchObject({
      mode: 0o750,
      via: 'dind',
    });
  });

  it.each([
    [{ artifact: 'relative/tool', to: 'bin' }, /--artifact must be an absolute path/],
    [{ artifact: '/', to: 'bin' }, /--artifact must be an absolute path/],
    [{ artifact: '/t' }, /--to DIR is required/],
    [{ artifact: '/t', to: 'bin', via: 'podman' }, /--via must be host or dind/],
    [{ artifact: '/t', to: 'bin', mode: '755x' }, /--mode expects octal/],
  ] as const)('refuses %o', (raw, message) => {
    expect(() => parseBuildInstallParams('ctx', raw, '/w')).toThrow(message);
  });
});
