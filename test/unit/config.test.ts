import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, parseGrants, resolveConfig } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

describe('resolveConfig', () => {
  it('is the defaults when nothing is given', () => {
    expect(resolveConfig({})).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.privilegedMode).toBe('flag');
    expect(DEFAULT_CONFIG.grants).toEqual([]);
  });

  it('lets the file override defaults, env override the file, and flags override env', () => {
    const file = {
      imagePrefix: 'from-file',
      baseImage: 'file-base',
      privilegedMode: 'capabilities',
      grants: ['docker-socket'],
      helperTimeoutMs: 1000,
    };
    const env = { DTOOL_IMAGE_PREFIX: 'from-env', DTOOL_PRIVILEGED_MODE: 'flag' };
    const flags = { imagePrefix: 'from-flags' };

    expect(resolveConfig({ file })).toMatchObject({
      imagePrefix: 'from-file',
      baseImage: 'file-base',
      privilegedMode: 'capabilities',
      grants: ['docker-socket'],
      helperTimeoutMs: 1000,
    });
    expect(resolveConfig({ file, env })).toMatchObject({
      imagePrefix: 'from-env',
      baseImage: 'file-base',
      privilegedMode: 'flag',
      grants: ['docker-socket'],
    });
    expect(resolveConfig({ file, env, flags })).toMatchObject({ imagePrefix: 'from-flags', baseImage: 'file-base', privilegedMode: 'flag' });
    // Untouched settings keep their defaults all the way through.
    expect(resolveConfig({ file, env, flags }).imagesDir).toBe(DEFAULT_CONFIG.imagesDir);
  });

  // Partial<DtoolConfig> allows keys whose value is undefined: an unset flag must not erase
  // the file, env or default values beneath it.
  it('keeps lower layers for a flag passed as undefined', () => {
    const config = resolveConfig({ env: { DTOOL_PRIVILEGED_MODE: 'capabilities' }, flags: { privilegedMode: undefined, imagePrefix: undefined } });
    expect(config.privilegedMode).toBe('capabilities');
    expect(config.imagePrefix).toBe('dtool');
    expect(resolveConfig({ file: { baseImage: 'file-base' }, flags: { baseImage: undefined, imagesDir: '/flag' } })).toMatchObject({
      baseImage: 'file-base',
      imagesDir: '/flag',
    });
    expect(Object.values(resolveConfig({ flags: { grants: undefined, helperTimeoutMs: undefined } }))).not.toContain(undefined);
  });

  it('reads every DTOOL_* variable', () => {
    const config = resolveConfig({
      env: {
        DTOOL_IMAGE_PREFIX: 'p',
        DTOOL_IMAGES_DIR: '/imgs',
        DTOOL_BASE_IMAGE: 'debian:trixie-slim',
        DTOOL_PRIVILEGED_MODE: 'capabilities',
        DTOOL_ALLOW: 'privileged,host-sysctl,',
      },
    });
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      imagePrefix: 'p',
      imagesDir: '/imgs',
      baseImage: 'debian:trixie-slim',
      privilegedMode: 'capabilities',
      grants: ['privileged', 'host-sysctl'],
    });
  });

  it('ignores file entries of the wrong type', () => {
    expect(resolveConfig({ file: { imagePrefix: 42, helperTimeoutMs: '5' } })).toEqual(DEFAULT_CONFIG);
  });

  it('rejects a bad privileged mode from the file or the env, naming the source', () => {
    expect(() => resolveConfig({ file: { privilegedMode: 'yes' } })).toThrow(UsageError);
    expect(() => resolveConfig({ file: { privilegedMode: 'yes' } })).toThrow(/config file.*"yes"/);
    expect(() => resolveConfig({ env: { DTOOL_PRIVILEGED_MODE: 'root' } })).toThrow(/DTOOL_PRIVILEGED_MODE.*"flag" or "capabilities"/);
  });

  it('rejects an unknown privilege from the file or the env', () => {
    expect(() => resolveConfig({ file: { grants: ['privileged', 'root'] } })).toThrow(UsageError);
    expect(() => resolveConfig({ env: { DTOOL_ALLOW: 'docker-socket,sudo' } })).toThrow(/DTOOL_ALLOW: unknown privilege "sudo"/);
  });
});

describe('parseGrants', () => {
  it('accepts the known privileges and names them in its error', () => {
    expect(parseGrants(['privileged', 'host-sysctl', 'docker-socket'], '--allow')).toEqual(['privileged', 'host-sysctl', 'docker-socket']);
    expect(() => parseGrants(['all'], '--allow')).toThrow('--allow: unknown privilege "all" (known: privileged, host-sysctl, docker-socket)');
  });
});

describe('loadConfig', () => {
  it('reads the file named by DTOOL_CONFIG, below env and flags', async () => {
    const read: string[] = [];
    const config = await loadConfig(
      { DTOOL_CONFIG: '/etc/dtool.json', DTOOL_BASE_IMAGE: 'env-base' },
      async (path) => {
        read.push(path);
        return JSON.stringify({ imagePrefix: 'file', baseImage: 'file-base', privilegedMode: 'capabilities' });
      },
      { privilegedMode: 'flag' },
    );
    expect(read).toEqual(['/etc/dtool.json']);
    expect(config).toMatchObject({ imagePrefix: 'file', baseImage: 'env-base', privilegedMode: 'flag' });
  });

  it('does not read any file without DTOOL_CONFIG', async () => {
    let reads = 0;
    await loadConfig({}, async () => {
      reads++;
      return '{}';
    });
    expect(reads).toBe(0);
  });

  it('turns an unreadable or invalid file into a UsageError naming it', async () => {
    await expect(loadConfig({ DTOOL_CONFIG: '/nope.json' }, async () => Promise.reject(new Error('ENOENT')))).rejects.toThrow(
      /cannot read config file \/nope.json: ENOENT/,
    );
    await expect(loadConfig({ DTOOL_CONFIG: '/bad.json' }, async () => '{not json')).rejects.toBeInstanceOf(UsageError);
  });
});
