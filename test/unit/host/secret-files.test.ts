import { describe, expect, it } from 'vitest';
import { secretDirOwner } from '../../../src/host/secret-files.js';

describe('secretDirOwner', () => {
  it("reads the owner an older version's secret folder records, so a dead owner's folder can be swept", () => {
    expect(secretDirOwner('dtool-secrets-4242-1000-abcdef')).toEqual({ pid: 4242, startTicks: '1000' });
    expect(secretDirOwner('dtool-secrets-4242--abcdef')).toEqual({ pid: 4242, startTicks: '' });
  });

  it('is undefined for any other name', () => {
    expect(secretDirOwner('dtool-secrets-abc')).toBeUndefined();
    expect(secretDirOwner('dtool-secrets-1-2-abc')).toBeUndefined();
    expect(secretDirOwner('unrelated')).toBeUndefined();
  });
});
