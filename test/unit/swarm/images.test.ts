import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { chooseImageSource, parseRegistry } from '../../../src/swarm/images.js';

// Pushing to a real registry cannot be tested here (none is reachable): the choice is.
describe('where the nodes get the image', () => {
  it('without --registry: the local reference, loaded into each node', () => {
    expect(chooseImageSource('dtool/host:abc', undefined)).toEqual({ kind: 'load', reference: 'dtool/host:abc' });
  });

  it('with --registry: REGISTRY/REPO:TAG, replacing a registry the reference already names', () => {
    expect(chooseImageSource('dtool/host:abc', 'registry.example:5000')).toEqual({
      kind: 'registry',
      reference: 'registry.example:5000/dtool/host:abc',
    });
    expect(chooseImageSource('old.example/dtool/host:abc', 'localhost:5000/team')).toEqual({
      kind: 'registry',
      reference: 'localhost:5000/team/dtool/host:abc',
    });
  });

  it('--registry is a host with an optional port and path, no scheme', () => {
    expect(parseRegistry('registry.example:5000/')).toBe('registry.example:5000');
    for (const bad of ['https://registry.example', 'reg istry', '']) expect(() => parseRegistry(bad), bad).toThrow(UsageError);
  });
});
