import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGolden, dnsClient, type GoldenQuery } from '../../../src/host/dns-query.js';

/** A few records, hand-encoded, served over UDP by a server that knows only them. */
const TYPE = { A: 1, CNAME: 5, MX: 15, TXT: 16 } as const;

const encodeName = (name: string): Buffer =>
  Buffer.concat([
    ...name
      .replace(/\.$/, '')
      .split('.')
      .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);

const rdata = {
  a: (address: string) => Buffer.from(address.split('.').map(Number)),
  name: encodeName,
  mx: (priority: number, exchange: string) => Buffer.concat([Buffer.from([priority >> 8, priority & 0xff]), encodeName(exchange)]),
  /** Each chunk is one <length><bytes> character-string of the record. */
  txt: (...chunks: Buffer[]) => Buffer.concat(chunks.flatMap((chunk) => [Buffer.from([chunk.length]), chunk])),
};

const UTF8 = Buffer.from('grüße ✓', 'utf8');
const ü = UTF8.indexOf(0xc3);

const ZONE: Record<string, { type: number; data: Buffer }[]> = {
  'www.example.test A': [
    { type: TYPE.A, data: rdata.a('192.0.2.2') },
    { type: TYPE.A, data: rdata.a('192.0.2.10') },
    { type: TYPE.A, data: rdata.a('192.0.2.1') },
  ],
  'alias.example.test CNAME': [{ type: TYPE.CNAME, data: rdata.name('WWW.Example.Test') }],
  'example.test MX': [
    { type: TYPE.MX, data: rdata.mx(20, 'Backup.example.test') },
    { type: TYPE.MX, data: rdata.mx(10, 'mail.example.test') },
  ],
  'example.test TXT': [
    { type: TYPE.TXT, data: rdata.txt(Buffer.from('v=spf1 '), Buffer.from('-all')) },
    // The UTF-8 bytes of "ü" split across two strings of one record.
    { type: TYPE.TXT, data: rdata.txt(UTF8.subarray(0, ü + 1), UTF8.subarray(ü + 1)) },
  ],
};

const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE).map(([name, code]) => [code, name]));

function answer(query: Buffer): Buffer {
  let offset = 12;
  const labels: string[] = [];
  while (query[offset]! > 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + query[offset]!).toString());
    offset += query[offset]! + 1;
  }
  const questionEnd = offset + 5;
  const records = ZONE[`${labels.join('.').toLowerCase()} ${TYPE_NAMES[query.readUInt16BE(offset + 1)]}`] ?? [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, RD, RA; NXDOMAIN when nothing is known.
  header.writeUInt16BE(records.length ? 0x8180 : 0x8183, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map(({ type, data }) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    fixed.writeUInt16BE(type, 2);
    fixed.writeUInt16BE(1, 4);
    fixed.writeUInt32BE(60, 6);
    fixed.writeUInt16BE(data.length, 10);
    return Buffer.concat([fixed, data]);
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}

async function listen(reply: boolean): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  if (reply) socket.on('message', (message, peer) => socket.send(answer(message), peer.port, peer.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: (socket.address() as AddressInfo).port };
}

const TIMEOUT_MS = 300;
let server: { socket: Socket; port: number };
let silent: { socket: Socket; port: number };
beforeAll(async () => {
  server = await listen(true);
  silent = await listen(false);
});
afterAll(() => {
  server.socket.close();
  silent.socket.close();
});

const client = () => dnsClient('127.0.0.1', server.port, TIMEOUT_MS);

describe('dnsClient query', () => {
  it('returns A addresses sorted, with or without a trailing dot on the name', async () => {
    expect(await client().query('www.example.test', 'A')).toEqual(['192.0.2.1', '192.0.2.10', '192.0.2.2']);
    expect(await client().query('www.example.test.', 'A')).toEqual(['192.0.2.1', '192.0.2.10', '192.0.2.2']);
  });

  it('returns a CNAME target absolute and lower-cased', async () => {
    expect(await client().query('alias.example.test', 'CNAME')).toEqual(['www.example.test.']);
  });

  it('returns MX as "PRIORITY EXCHANGE." sorted', async () => {
    expect(await client().query('example.test', 'MX')).toEqual(['10 mail.example.test.', '20 backup.example.test.']);
  });

  it('joins the strings of each TXT record, reads them as UTF-8, and sorts the records', async () => {
    expect(await client().query('example.test', 'TXT')).toEqual(['grüße ✓', 'v=spf1 -all']);
  });

  it('rejects a name the server does not know', async () => {
    await expect(client().query('nowhere.example.test', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

const GOLDEN: GoldenQuery[] = [
  { name: 'www.example.test', type: 'A', answers: ['192.0.2.10', '192.0.2.2', '192.0.2.1'] },
  { name: 'alias.example.test.', type: 'CNAME', answers: ['WWW.example.test'] },
  { name: 'example.test', type: 'MX', answers: ['20 backup.example.test.', '10 mail.example.test.'] },
  { name: 'example.test', type: 'TXT', answers: ['v=spf1 -all', 'grüße ✓'] },
];

describe('checkGolden', () => {
  it('is undefined when every query answers as expected, in any order and CNAME spelling', async () => {
    expect(await checkGolden(client(), GOLDEN)).toBeUndefined();
  });

  it('names the first query that answers otherwise, with what it got and what was expected', async () => {
    const wrong: GoldenQuery[] = [
      GOLDEN[0]!,
      { name: 'www.example.test', type: 'A', answers: ['192.0.2.1', '192.0.2.99'] },
      { name: 'example.test', type: 'TXT', answers: ['also wrong'] },
    ];
    expect(await checkGolden(client(), wrong)).toBe('www.example.test A: answered 192.0.2.1, 192.0.2.10, 192.0.2.2, expected 192.0.2.1, 192.0.2.99');
  });

  it('reports a TXT mismatch in readable text', async () => {
    expect(await checkGolden(client(), [{ name: 'example.test', type: 'TXT', answers: ['grüsse ✓', 'v=spf1 -all'] }])).toBe(
      'example.test TXT: answered grüße ✓, v=spf1 -all, expected grüsse ✓, v=spf1 -all',
    );
  });

  it('reports a name the server does not know as no answer', async () => {
    expect(await checkGolden(client(), [{ name: 'nowhere.example.test', type: 'A', answers: ['192.0.2.1'] }])).toBe(
      'nowhere.example.test A: no answer (ENOTFOUND)',
    );
  });

  it('reports a server that never answers as no answer', async () => {
    expect(await checkGolden(dnsClient('127.0.0.1', silent.port, TIMEOUT_MS), GOLDEN)).toBe('www.example.test A: no answer (ETIMEOUT)');
  });

  it('reports no answer when nothing listens on the port', async () => {
    const gone = await listen(false);
    await new Promise<void>((resolve) => gone.socket.close(resolve));
    expect(await checkGolden(dnsClient('127.0.0.1', gone.port, TIMEOUT_MS), GOLDEN)).toBe('www.example.test A: no answer (ECONNREFUSED)');
  });
});
