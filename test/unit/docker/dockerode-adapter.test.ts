import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DockerodeAdapter } from '../../../src/docker/dockerode-adapter.js';

const require = createRequire(import.meta.url);
const loaded = (pattern: RegExp) => Object.keys(require.cache).filter((path) => pattern.test(path));

describe('DockerodeAdapter: loading', () => {
  it('loads dockerode without ssh2 and gRPC, which only ssh:// engines and BuildKit sessions need', async () => {
    const adapter = new DockerodeAdapter({ socketPath: '/nonexistent/docker.sock' });
    await expect(adapter.ping()).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
    expect(loaded(/node_modules\/dockerode\//).length).toBeGreaterThan(0);
    expect(loaded(/node_modules\/(ssh2|@grpc|protobufjs)\//)).toEqual([]);
  });

  it('loads ssh2 when an ssh:// engine is first used', async () => {
    const adapter = new DockerodeAdapter({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'nobody', timeout: 2000 } as never);
    await expect(adapter.ping()).rejects.toBeDefined();
    expect(loaded(/node_modules\/ssh2\//).length).toBeGreaterThan(0);
  });
});
