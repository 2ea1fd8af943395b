import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parseGoldenQueries } from '../../../src/recipes/probes.js';

const ORIGIN = '/srv/dns/golden.json';

describe('parseGoldenQueries', () => {
  it('reads a list of golden queries', () => {
    const text = JSON.stringify([
      { name: 'www.example.test', type: 'A', answers: ['192.0.2.1'] },
      { name: 'example.test', type: 'MX', answers: ['10 mail.example.test.'] },
      { name: 'gone.example.test', type: 'TXT', answers: [] },
    ]);
    expect(parseGoldenQueries(text, ORIGIN)).toEqual([
      { name: 'www.example.test', type: 'A', answers: ['192.0.2.1'] },
      { name: 'example.test', type: 'MX', answers: ['10 mail.example.test.'] },
      { name: 'gone.example.test', type: 'TXT', answers: [] },
    ]);
  });

  it('refuses text that is not JSON, naming the file', () => {
    const call = () => parseGoldenQueries('[{"name": "www.example.test",', ORIGIN);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(/^\/srv\/dns\/golden\.json: not JSON \(.+\)$/);
  });

  it.each([
    ['an object', { name: 'www.example.test', type: 'A', answers: [] }],
    ['a string', 'www.example.test A'],
    ['null', null],
    ['a list holding null', [null]],
    ['a list holding a string', ['www.example.test']],
    ['a query without a name', [{ type: 'A', answers: [] }]],
    ['a query whose name is not a string', [{ name: 42, type: 'A', answers: [] }]],
    ['a query without a type', [{ name: 'www.example.test', answers: [] }]],
    ['a query without answers', [{ name: 'www.example.test', type: 'A' }]],
    ['a query whose answers are a string', [{ name: 'www.example.test', type: 'A', answers: '192.0.2.1' }]],
    [
      'one bad query among good ones',
      [
        { name: 'a.test', type: 'A', answers: [] },
        { name: 'b.test', type: 'A' },
      ],
    ],
  ])('refuses %s, naming the file and the expected shape', (_, value) => {
    const call = () => parseGoldenQueries(JSON.stringify(value), ORIGIN);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(`${ORIGIN}: expected a list of {name, type (A, AAAA, CNAME, MX, TXT, NS, SRV, PTR), answers: [strings]}`);
  });

  it('refuses an empty list: a probe that asks nothing proves nothing', () => {
    const call = () => parseGoldenQueries('[]', ORIGIN);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(`${ORIGIN}: no golden queries`);
  });

  // Any string passes as a type; the probe then fails every check with
  // "no answer (Cannot read properties of undefined (reading 'join'))" instead.
  it('refuses a query type the probe cannot ask', () => {
    expect(() => parseGoldenQueries(JSON.stringify([{ name: 'www.example.test', type: 'AXFR', answers: [] }]), ORIGIN)).toThrow(UsageError);
  });
});
