import { describe, expect, it } from 'vitest';
import {
  parsePublish,
  parseRestartPolicy,
  portBindings,
  type RecreateVariant,
  recreateOptions,
  type ServiceSpec,
  toServiceCreateOptions,
} from '../../../src/core/service.js';
import type { ContainerDefinition, ImageDetails } from '../../../src/docker/port.js';
import { UsageError } from '../../../src/errors.js';

const TMPFS = 'rw,nosuid,nodev,size=64m';

describe('parsePublish', () => {
  it('reads HOST:CONTAINER as tcp on every address', () => {
    expect(parsePublish('8080:80')).toEqual({ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } });
  });

  it('reads an explicit protocol', () => {
    expect(parsePublish('5353:53/udp')).toEqual({ port: '53/udp', binding: { HostIp: '', HostPort: '5353' } });
    expect(parsePublish('5353:53/tcp')).toEqual({ port: '53/tcp', binding: { HostIp: '', HostPort: '5353' } });
  });

  it('binds to an IPv4 address', () => {
    expect(parsePublish('127.0.0.1:8053:53/udp')).toEqual({ port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '8053' } });
  });

  it('binds to a bracketed IPv6 address, without the brackets', () => {
    expect(parsePublish('[::1]:53:53/udp')).toEqual({ port: '53/udp', binding: { HostIp: '::1', HostPort: '53' } });
    expect(parsePublish('[fd00::2]:8443:443')).toEqual({ port: '443/tcp', binding: { HostIp: 'fd00::2', HostPort: '8443' } });
  });

  it('ignores surrounding spaces and reads ports as numbers', () => {
    expect(parsePublish('  080:0080 ')).toEqual({ port: '80/tcp', binding: { HostIp: '', HostPort: '80' } });
  });

  it('accepts the ends of the port range', () => {
    expect(parsePublish('1:65535')).toEqual({ port: '65535/tcp', binding: { HostIp: '', HostPort: '1' } });
  });

  it.each([
    ['80', 'no host port'],
    [':80', 'an empty host port'],
    ['127.0.0.1::80', 'an empty host port after an address'],
    ['0:80', 'host port 0'],
    ['80:0', 'container port 0'],
    ['65536:80', 'host port above 65535'],
    ['80:65536', 'container port above 65535'],
    ['123456:80', 'six digits'],
    ['8000-8010:8000-8010', 'a port range'],
    ['80:80/sctp', 'an unknown protocol'],
    ['80:80/', 'an empty protocol'],
    ['web:80', 'a service name'],
    ['localhost:80:80', 'a host name instead of an address'],
    ['::1:53:53', 'an IPv6 address without brackets'],
    ['1.2.3:80:80', 'a short IPv4 address'],
    ['', 'nothing'],
  ])('refuses %j (%s) with a usage error naming the entry', (entry) => {
    const call = () => parsePublish(entry);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(`cannot publish "${entry}"`);
  });
});

describe('portBindings', () => {
  it('publishes nothing for no entries', () => {
    expect(portBindings([])).toEqual({});
  });

  it('splits comma-separated entries and skips empty ones, so a variable can turn publishing off', () => {
    expect(portBindings(['', ' , ', '8080:80, ,127.0.0.1:5353:53/udp', ''])).toEqual({
      '80/tcp': [{ HostIp: '', HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    });
  });

  it('keeps every binding of one container port, in order', () => {
    expect(portBindings(['127.0.0.1:53:53/udp', '[::1]:53:53/udp,5353:53/udp'])).toEqual({
      '53/udp': [
        { HostIp: '127.0.0.1', HostPort: '53' },
        { HostIp: '::1', HostPort: '53' },
        { HostIp: '', HostPort: '5353' },
      ],
    });
  });

  it('treats tcp and udp of one port as different ports', () => {
    expect(Object.keys(portBindings(['53:53/udp', '53:53']))).toEqual(['53/udp', '53/tcp']);
  });

  it('refuses the whole list when one entry is malformed, naming that entry', () => {
    expect(() => portBindings(['8080:80,nope'])).toThrow('cannot publish "nope"');
  });
});

describe('parseRestartPolicy', () => {
  it.each(['no', 'always', 'unless-stopped', 'on-failure'])('reads %s without a retry count', (name) => {
    expect(parseRestartPolicy(name)).toEqual({ Name: name });
  });

  it('reads on-failure with a retry count', () => {
    expect(parseRestartPolicy('on-failure:3')).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect(parseRestartPolicy('on-failure:0')).toEqual({ Name: 'on-failure', MaximumRetryCount: 0 });
  });

  it.each(['', 'never', 'always:3', 'unless-stopped:1', 'no:0', 'on-failure:', 'on-failure:-1', 'on-failure:x'])(
    'refuses %j with a usage error naming it',
    (restart) => {
      const call = () => parseRestartPolicy(restart);
      expect(call).toThrow(UsageError);
      expect(call).toThrow(`restart policy "${restart}"`);
    },
  );
});

const dns: ServiceSpec = {
  name: 'dns',
  image: 'dtool/dns:abc',
  networks: [],
  publish: [],
  restart: 'unless-stopped',
  labels: { 'dtool.service': 'dns' },
  tmpfs: [],
  capabilities: [],
  writableRoot: false,
};

describe('toServiceCreateOptions', () => {
  it('starts from least privilege: no capabilities, no new privileges, read-only root with a /tmp tmpfs', () => {
    expect(toServiceCreateOptions(dns)).toEqual({
      options: {
        name: 'dns',
        Image: 'dtool/dns:abc',
        Labels: { 'dtool.service': 'dns' },
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        OpenStdin: false,
        HostConfig: {
          RestartPolicy: { Name: 'unless-stopped' },
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': TMPFS },
          Init: true,
        },
      },
      extraNetworks: [],
    });
  });

  it('adds back exactly the declared capabilities, still dropping all others', () => {
    const { HostConfig } = toServiceCreateOptions({ ...dns, capabilities: ['NET_BIND_SERVICE'] }).options;
    expect(HostConfig.CapDrop).toEqual(['ALL']);
    expect(HostConfig.CapAdd).toEqual(['NET_BIND_SERVICE']);
    expect(HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(HostConfig.Privileged).toBeUndefined();
  });

  it('mounts declared tmpfs paths after /tmp', () => {
    expect(toServiceCreateOptions({ ...dns, tmpfs: ['/run', '/var/cache/bind'] }).options.HostConfig.Tmpfs).toEqual({
      '/tmp': TMPFS,
      '/run': TMPFS,
      '/var/cache/bind': TMPFS,
    });
  });

  it('mounts no tmpfs at all on a writable root, keeping the other restrictions', () => {
    const { HostConfig } = toServiceCreateOptions({ ...dns, writableRoot: true, tmpfs: ['/run'] }).options;
    expect(HostConfig.ReadonlyRootfs).toBe(false);
    expect(HostConfig.Tmpfs).toBeUndefined();
    expect(HostConfig.CapDrop).toEqual(['ALL']);
    expect(HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
  });

  it('splits a dotted hostname into the short name and the domain', () => {
    const { options } = toServiceCreateOptions({ ...dns, hostname: 'a.b.c' });
    expect(options.Hostname).toBe('a');
    expect(options.Domainname).toBe('b.c');
  });

  it('sets only the hostname when it has no dot', () => {
    const { options } = toServiceCreateOptions({ ...dns, hostname: 'ns1' });
    expect(options.Hostname).toBe('ns1');
    expect(options).not.toHaveProperty('Domainname');
  });

  it('passes command, user and env through', () => {
    const { options } = toServiceCreateOptions({ ...dns, command: ['named', '-g'], user: '101:101', env: { TZ: 'UTC', MODE: 'a=b' } });
    expect(options.Cmd).toEqual(['named', '-g']);
    expect(options.User).toBe('101:101');
    expect(options.Env).toEqual(['TZ=UTC', 'MODE=a=b']);
  });

  it('leaves the image default command alone when the command is empty', () => {
    expect(toServiceCreateOptions({ ...dns, command: [], env: {} }).options).not.toHaveProperty('Cmd');
    expect(toServiceCreateOptions({ ...dns, command: [], env: {} }).options).not.toHaveProperty('Env');
  });

  it('exposes and binds published ports', () => {
    const { options } = toServiceCreateOptions({ ...dns, publish: ['127.0.0.1:5353:53/udp,5353:53'] });
    expect(options.ExposedPorts).toEqual({ '53/udp': {}, '53/tcp': {} });
    expect(options.HostConfig.PortBindings).toEqual({
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
      '53/tcp': [{ HostIp: '', HostPort: '5353' }],
    });
  });

  it('publishes nothing when every publish entry is empty', () => {
    const { options } = toServiceCreateOptions({ ...dns, publish: ['', ' '] });
    expect(options).not.toHaveProperty('ExposedPorts');
    expect(options.HostConfig).not.toHaveProperty('PortBindings');
  });

  it('joins the first network at create and the others afterwards, without aliases', () => {
    const create = toServiceCreateOptions({ ...dns, networks: ['front', 'back', 'metrics'] });
    expect(create.options.HostConfig.NetworkMode).toBe('front');
    expect(create.extraNetworks).toEqual([
      { name: 'back', aliases: [] },
      { name: 'metrics', aliases: [] },
    ]);
  });

  it('reads the restart policy, and refuses a bad one or a bad publish entry before any container exists', () => {
    expect(toServiceCreateOptions({ ...dns, restart: 'on-failure:5' }).options.HostConfig.RestartPolicy).toEqual({
      Name: 'on-failure',
      MaximumRetryCount: 5,
    });
    expect(() => toServiceCreateOptions({ ...dns, restart: 'sometimes' })).toThrow(UsageError);
    expect(() => toServiceCreateOptions({ ...dns, publish: ['53'] })).toThrow(UsageError);
  });
});

const ID = '3f9a1c2b7d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd';

const oldImage: ImageDetails = {
  id: 'sha256:old',
  tags: ['dtool/dns:old'],
  sizeBytes: 1,
  labels: { 'org.opencontainers.image.version': '1.0', maintainer: 'ops' },
  env: ['PATH=/usr/local/sbin:/usr/bin', 'BIND_VERSION=9.18'],
  cmd: ['named', '-g'],
  entrypoint: ['/entrypoint.sh'],
  created: '2024-01-01T00:00:00Z',
};

/** A service container on a user network, with everything left to the image. */
const current: ContainerDefinition = {
  id: ID,
  name: 'dns',
  image: 'dtool/dns:old',
  imageId: 'sha256:old',
  running: true,
  hostname: ID.slice(0, 12),
  domainname: '',
  user: '',
  workingDir: '',
  env: [...oldImage.env],
  cmd: [...(oldImage.cmd ?? [])],
  entrypoint: [...(oldImage.entrypoint ?? [])],
  labels: { ...oldImage.labels },
  exposedPorts: ['53/udp', '53/tcp'],
  attachStdin: false,
  openStdin: false,
  hostConfig: {
    NetworkMode: 'front',
    PortBindings: { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }], '53/tcp': [{ HostIp: '', HostPort: '5353' }] },
    RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: true,
    Mounts: [{ Type: 'volume', Source: 'zones', Target: '/zones' }],
  },
  networks: [{ name: 'front', aliases: ['ns', 'dns.example.test'], ipAddress: '172.20.0.5' }],
};

const candidate: RecreateVariant = { name: 'dns-candidate-run1', withPorts: false, withAliases: false, extraLabels: { 'dtool.candidate': 'run1' } };
const final: RecreateVariant = { name: 'dns', withPorts: true, withAliases: true };

describe('recreateOptions: what the new container inherits from the image', () => {
  it('drops env, labels, command and entrypoint the old image supplied, so the new image defaults apply', () => {
    const { options } = recreateOptions(current, oldImage, 'dtool/dns:new', final);
    expect(options.Image).toBe('dtool/dns:new');
    expect(options).not.toHaveProperty('Env');
    expect(options).not.toHaveProperty('Cmd');
    expect(options).not.toHaveProperty('Entrypoint');
    expect(options.Labels).toEqual({});
  });

  it('keeps the env entries and labels the container set itself, and only those', () => {
    const own = {
      ...current,
      env: [...oldImage.env, 'BIND_VERSION=9.20', 'ZONE=example.test'],
      labels: { ...oldImage.labels, maintainer: 'dns-team', 'dtool.service': 'dns' },
    };
    const { options } = recreateOptions(own, oldImage, 'dtool/dns:new', final);
    expect(options.Env).toEqual(['BIND_VERSION=9.20', 'ZONE=example.test']);
    expect(options.Labels).toEqual({ maintainer: 'dns-team', 'dtool.service': 'dns' });
  });

  it('keeps a command or entrypoint that differs from the old image', () => {
    const own = { ...current, cmd: ['named', '-g', '-d', '1'], entrypoint: ['/usr/sbin/named'] };
    const { options } = recreateOptions(own, oldImage, 'dtool/dns:new', final);
    expect(options.Cmd).toEqual(['named', '-g', '-d', '1']);
    expect(options.Entrypoint).toEqual(['/usr/sbin/named']);
  });

  it('keeps a command when the old image had none', () => {
    const { options } = recreateOptions(current, { ...oldImage, cmd: undefined, entrypoint: undefined }, 'dtool/dns:new', final);
    expect(options.Cmd).toEqual(['named', '-g']);
    expect(options.Entrypoint).toEqual(['/entrypoint.sh']);
  });

  it('keeps everything when the old image is gone, since nothing can be told apart', () => {
    const { options } = recreateOptions(current, undefined, 'dtool/dns:new', final);
    expect(options.Env).toEqual(oldImage.env);
    expect(options.Cmd).toEqual(['named', '-g']);
    expect(options.Entrypoint).toEqual(['/entrypoint.sh']);
    expect(options.Labels).toEqual(oldImage.labels);
  });

  it('adds the variant labels over the container own', () => {
    const own = { ...current, labels: { 'dtool.service': 'dns', 'dtool.candidate': 'stale' } };
    expect(recreateOptions(own, oldImage, 'dtool/dns:new', candidate).options.Labels).toEqual({ 'dtool.service': 'dns', 'dtool.candidate': 'run1' });
  });
});

describe('recreateOptions: identity and host settings', () => {
  it('drops the default hostname (a prefix of the container id) so the new container gets its own', () => {
    expect(recreateOptions(current, oldImage, 'img', final).options).not.toHaveProperty('Hostname');
  });

  it('keeps a hostname, domain, user and working directory the container set', () => {
    const own = { ...current, hostname: 'ns1', domainname: 'example.test', user: '101', workingDir: '/zones' };
    const { options } = recreateOptions(own, oldImage, 'img', final);
    expect(options).toMatchObject({ Hostname: 'ns1', Domainname: 'example.test', User: '101', WorkingDir: '/zones' });
  });

  // Docker's default hostname is exactly the first 12 characters of the id; a prefix test
  // also matches short hand-picked names made of hex letters ("db", "cafe", "b1").
  it('keeps a custom hostname that happens to be a prefix of the container id', () => {
    const own = { ...current, hostname: '3f9a' };
    expect(recreateOptions(own, oldImage, 'img', final).options.Hostname).toBe('3f9a');
  });

  it('passes the engine host config back, mounts and security options included', () => {
    const { HostConfig } = recreateOptions(current, oldImage, 'img', final).options;
    expect(HostConfig).toMatchObject({
      NetworkMode: 'front',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Mounts: [{ Type: 'volume', Source: 'zones', Target: '/zones' }],
    });
  });

  it('keeps stdin settings and never attaches output or a tty', () => {
    const { options } = recreateOptions({ ...current, attachStdin: true, openStdin: true }, oldImage, 'img', final);
    expect(options).toMatchObject({ AttachStdin: true, OpenStdin: true, AttachStdout: false, AttachStderr: false, Tty: false });
  });
});

describe('recreateOptions: the candidate probed beside the old container', () => {
  const { options, extraNetworks } = recreateOptions(current, oldImage, 'dtool/dns:new', candidate);

  it('takes the temporary name', () => {
    expect(options.name).toBe('dns-candidate-run1');
  });

  it('publishes and exposes nothing, since the old container holds the ports', () => {
    expect(options).not.toHaveProperty('ExposedPorts');
    expect(options.HostConfig).not.toHaveProperty('PortBindings');
  });

  it('joins the network without the service aliases', () => {
    expect(options.HostConfig.NetworkMode).toBe('front');
    expect(options).not.toHaveProperty('NetworkingConfig');
    expect(extraNetworks).toEqual([]);
  });

  it('is never restarted by the engine while dtool judges it', () => {
    expect(options.HostConfig.RestartPolicy).toEqual({ Name: 'no' });
  });
});

describe('recreateOptions: the final container', () => {
  it('keeps the name, ports, restart policy and aliases on its user network', () => {
    const { options } = recreateOptions(current, oldImage, 'dtool/dns:new', final);
    expect(options.name).toBe('dns');
    expect(options.ExposedPorts).toEqual({ '53/udp': {}, '53/tcp': {} });
    expect(options.HostConfig.PortBindings).toEqual(current.hostConfig.PortBindings);
    expect(options.HostConfig.RestartPolicy).toEqual({ Name: 'unless-stopped', MaximumRetryCount: 0 });
    expect(options.NetworkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ['ns', 'dns.example.test'] } } });
  });

  it('sets no aliases when the container had none', () => {
    const bare = { ...current, networks: [{ name: 'front', aliases: [], ipAddress: '172.20.0.5' }] };
    expect(recreateOptions(bare, oldImage, 'img', final).options).not.toHaveProperty('NetworkingConfig');
  });

  it('sets no PortBindings when the engine reported none', () => {
    const unpublished = { ...current, exposedPorts: [], hostConfig: { ...current.hostConfig, PortBindings: null } };
    const { options } = recreateOptions(unpublished, oldImage, 'img', final);
    expect(options).not.toHaveProperty('ExposedPorts');
    expect(options.HostConfig).not.toHaveProperty('PortBindings');
  });

  it.each(['default', 'bridge', 'host', 'none', 'container:abc'])('never sets aliases on network mode %s, where the engine refuses them', (mode) => {
    const onBuiltin = {
      ...current,
      hostConfig: { ...current.hostConfig, NetworkMode: mode },
      networks: [{ name: mode, aliases: ['ns'], ipAddress: '172.17.0.2' }],
    };
    const { options, extraNetworks } = recreateOptions(onBuiltin, oldImage, 'img', final);
    expect(options).not.toHaveProperty('NetworkingConfig');
    expect(options.HostConfig.NetworkMode).toBe(mode);
    expect(extraNetworks).toEqual([]);
  });
});

describe('recreateOptions: networks beyond the first', () => {
  const multi: ContainerDefinition = {
    ...current,
    networks: [
      { name: 'back', aliases: ['dns-back'], ipAddress: '172.21.0.3' },
      { name: 'front', aliases: ['ns'], ipAddress: '172.20.0.5' },
      { name: 'metrics', aliases: [], ipAddress: '172.22.0.9' },
    ],
  };

  it('joins the other networks with their aliases for the final container', () => {
    const create = recreateOptions(multi, oldImage, 'img', final);
    expect(create.options.NetworkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ['ns'] } } });
    expect(create.extraNetworks).toEqual([
      { name: 'back', aliases: ['dns-back'] },
      { name: 'metrics', aliases: [] },
    ]);
  });

  it('joins the same networks without aliases for the candidate', () => {
    expect(recreateOptions(multi, oldImage, 'img', candidate).extraNetworks).toEqual([
      { name: 'back', aliases: [] },
      { name: 'metrics', aliases: [] },
    ]);
  });
});
