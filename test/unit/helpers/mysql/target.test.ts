import { describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../../../src/errors.js';
import { connectionFor, linksByLabel, parseLabelSelector, parseLink, resolveTarget } from '../../../../src/helpers/mysql/target.js';
import { FakeDocker, runningContainer } from '../../../support/fake-docker.js';

describe('parseLink', () => {
  it('reads CONTAINER and CONTAINER:ALIAS', () => {
    expect(parseLink('mariadb-1')).toEqual({ container: 'mariadb-1' });
    expect(parseLink('mariadb-1:db')).toEqual({ container: 'mariadb-1', alias: 'db' });
  });

  it.each(['', ':db', 'c:', 'a:b:c'])('rejects %j', (value) => {
    expect(() => parseLink(value)).toThrow(UsageError);
    expect(() => parseLink(value)).toThrow(`--link expects CONTAINER or CONTAINER:ALIAS, not "${value}"`);
  });

  it.each(['../etc', 'a b', '-db', 'db/x', '.hidden'])('rejects the alias %j, which names files', (alias) => {
    expect(() => parseLink(`c:${alias}`)).toThrow(`link alias "${alias}" may hold only letters`);
  });
});

describe('parseLabelSelector', () => {
  it('accepts KEY and KEY=VALUE, VALUE possibly empty', () => {
    expect(parseLabelSelector('backup')).toBe('backup');
    expect(parseLabelSelector('dtool.backup=true')).toBe('dtool.backup=true');
    expect(parseLabelSelector('role=')).toBe('role=');
  });

  it.each(['', '=x', 'a b=c', 'a=b c', 'a=b=c '])('rejects %j', (value) => {
    expect(() => parseLabelSelector(value)).toThrow(UsageError);
  });
});

describe('connectionFor', () => {
  it('reaches a host-network container on 127.0.0.1 through the host network', () => {
    expect(connectionFor(runningContainer('db', { networkMode: 'host', networks: [] }), 'db')).toEqual({
      host: '127.0.0.1',
      network: { mode: 'host' },
    });
  });

  it('reaches a container on the default bridge by a legacy link, under its alias', () => {
    expect(connectionFor(runningContainer('mariadb-1'), 'db')).toEqual({
      host: 'db',
      network: { mode: 'network', name: 'bridge', links: ['mariadb-1:db'] },
    });
  });

  it('reaches a container on a user network by its IP there', () => {
    const container = runningContainer('mariadb-1', { networkMode: 'appnet', networks: [{ name: 'appnet', ipAddress: '10.1.0.4' }] });
    expect(connectionFor(container, 'db')).toEqual({ host: '10.1.0.4', network: { mode: 'network', name: 'appnet' } });
  });

  it('skips networks where the container has no address', () => {
    const container = runningContainer('m', {
      networkMode: 'a',
      networks: [
        { name: 'a', ipAddress: '' },
        { name: 'b', ipAddress: '10.2.0.9' },
      ],
    });
    expect(connectionFor(container, 'm')).toEqual({ host: '10.2.0.9', network: { mode: 'network', name: 'b' } });
  });

  it('refuses a container with no network a helper could join', () => {
    expect(() => connectionFor(runningContainer('m', { networkMode: 'none', networks: [] }), 'm')).toThrow(UsageError);
    expect(() => connectionFor(runningContainer('m', { networkMode: 'container:x', networks: [] }), 'm')).toThrow(
      'container m has no network a helper could join (network mode container:x)',
    );
  });
});

describe('resolveTarget', () => {
  it('names the target by its alias, else by the container name', async () => {
    const docker = new FakeDocker();
    docker.containers.set('mariadb-1', runningContainer('mariadb-1'));
    expect(await resolveTarget(docker, { container: 'mariadb-1', alias: 'db' })).toMatchObject({ name: 'db', host: 'db' });
    expect(await resolveTarget(docker, { container: 'mariadb-1' })).toMatchObject({ name: 'mariadb-1', host: 'mariadb-1' });
  });

  it('fails with NotFoundError for a missing or stopped container', async () => {
    const docker = new FakeDocker();
    docker.containers.set('stopped', runningContainer('stopped', { running: false, status: 'exited' }));
    await expect(resolveTarget(docker, { container: 'ghost' })).rejects.toThrow(NotFoundError);
    await expect(resolveTarget(docker, { container: 'stopped' })).rejects.toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', hint: 'start it first: docker start stopped' }),
    );
  });

  it('asks for an alias when the container name cannot name files', async () => {
    const docker = new FakeDocker();
    docker.containers.set('weird', runningContainer('_weird'));
    await expect(resolveTarget(docker, { container: 'weird' })).rejects.toThrow(/give the link an alias: --link weird:NAME/);
  });
});

describe('linksByLabel', () => {
  it('lists running containers with all the labels, sorted by name', async () => {
    const docker = new FakeDocker();
    docker.labelled = [
      { name: 'zeta', labels: { backup: 'true' } },
      { name: 'alpha', labels: { backup: 'true', tier: 'db' } },
      { name: 'other', labels: { tier: 'db' } },
    ];
    expect(await linksByLabel(docker, ['backup=true'])).toEqual([{ container: 'alpha' }, { container: 'zeta' }]);
    expect(docker.calls).toEqual([{ method: 'listContainers', args: [{ labels: ['backup=true'] }] }]);
  });
});
