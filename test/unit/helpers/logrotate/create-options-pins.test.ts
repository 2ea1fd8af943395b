/**
 * The logrotate helper's full create options, pinned: what it mounts, which capabilities it
 * keeps and as whom it starts are a visible diff whenever they change.
 */
import { describe, expect, it } from 'vitest';
import { toCreateOptions, type CreateContext } from '../../../../src/core/to-create-options.js';
import type { HelperRunSpec } from '../../../../src/core/helper-spec.js';
import { logrotateConfig } from '../../../../src/helpers/logrotate/config.js';
import { resolveSettings } from '../../../../src/helpers/logrotate/settings.js';
import { logrotateHelperSpec, stateVolumeName } from '../../../../src/helpers/logrotate/spec.js';
import { GUARDED_ATTACH, pinContext, pinLabels } from '../../../support/pins.js';

const TMPFS = 'rw,nosuid,nodev,size=256m';
const LABELS = pinLabels('logrotate');
const ATTACH = GUARDED_ATTACH;

function context(grants: CreateContext['grants'] = new Set()): CreateContext {
  return pinContext(grants);
}

describe('logrotate (logrotateHelperSpec)', () => {
  const signalSettings = resolveSettings({ signal: 'SIGUSR1', mode: 'signal', paths: ['/var/log/nginx/*.log'] }, {}, 'web-1');
  const signalConfig = logrotateConfig('web-1', signalSettings);
  const spec = logrotateHelperSpec({
    image: 'dtool/logrotate:abc',
    container: 'web-1',
    mode: 'signal',
    paths: signalSettings.paths,
    config: signalConfig,
    force: false,
  });

  it("pins its create options: the target's volumes, its own state volume, root with SETUID/SETGID only, no network", () => {
    expect(toCreateOptions(spec, context())).toEqual({
      Image: 'dtool/logrotate:abc',
      Cmd: [
        'dtool-logrotate',
        '--mode',
        'signal',
        '--state-dir',
        '/var/lib/dtool-logrotate',
        '--path',
        '/var/log/nginx/*.log',
        '--config',
        signalConfig,
      ],
      User: '0:0',
      Labels: LABELS,
      ...ATTACH,
      HostConfig: {
        Mounts: [
          {
            Type: 'volume',
            Source: 'dtool-logrotate-state-web-1',
            Target: '/var/lib/dtool-logrotate',
            ReadOnly: false,
            VolumeOptions: { Labels: { 'dtool.state': 'logrotate', 'dtool.helper': 'logrotate' } },
          },
        ],
        VolumesFrom: ['web-1'],
        Tmpfs: { '/tmp': TMPFS },
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        CapAdd: ['SETGID', 'SETUID'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        AutoRemove: true,
        Init: true,
      },
    });
  });

  it('pins the copytruncate run with --force and several globs', () => {
    const settings = resolveSettings({ mode: 'copytruncate', paths: ['/var/log/app/*.log', '/srv/logs/*.err'] }, {}, 'api');
    const config = logrotateConfig('api', settings);
    const copy = logrotateHelperSpec({
      image: 'dtool/logrotate:abc',
      container: 'api',
      mode: 'copytruncate',
      paths: settings.paths,
      config,
      force: true,
    });
    expect(toCreateOptions(copy, context()).Cmd).toEqual([
      'dtool-logrotate',
      '--mode',
      'copytruncate',
      '--state-dir',
      '/var/lib/dtool-logrotate',
      '--force',
      '--path',
      '/var/log/app/*.log',
      '--path',
      '/srv/logs/*.err',
      '--config',
      config,
    ]);
    expect(toCreateOptions(copy, context()).HostConfig.Mounts).toEqual([
      {
        Type: 'volume',
        Source: 'dtool-logrotate-state-api',
        Target: '/var/lib/dtool-logrotate',
        ReadOnly: false,
        VolumeOptions: { Labels: { 'dtool.state': 'logrotate', 'dtool.helper': 'logrotate' } },
      },
    ]);
  });

  it('never gets the Docker socket, secrets or env of its own, whatever is granted', () => {
    const options = toCreateOptions(spec, context());
    expect(JSON.stringify(options)).not.toContain('docker.sock');
    expect(spec.secrets).toBeUndefined();
    expect(spec.env).toBeUndefined();
    expect(spec.privileges).toBeUndefined();
    const everything = toCreateOptions(spec, { ...context(new Set(['privileged', 'host-sysctl', 'docker-socket'])), privilegedMode: 'capabilities' });
    expect(everything).toEqual(options);
  });

  it('names the state volume after the container', () => {
    expect(stateVolumeName('web-1')).toBe('dtool-logrotate-state-web-1');
    const asSpec: HelperRunSpec = spec;
    expect(asSpec.volumesFrom).toEqual(['web-1']);
  });
});
