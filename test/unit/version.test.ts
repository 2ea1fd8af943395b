import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DTOOL_VERSION } from '../../src/version.js';

it('DTOOL_VERSION is the version in package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(DTOOL_VERSION).toBe(pkg.version);
});
