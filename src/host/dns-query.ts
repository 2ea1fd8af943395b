/**
 * Real DNS queries from this process to one server (c-ares, through node:dns), answers
 * normalised to the form the DNS image's golden.json uses: absolute names end in a dot,
 * MX is `PRIORITY EXCHANGE.`, TXT strings are joined, lists are sorted.
 */
import { Resolver } from 'node:dns/promises';

export const QUERY_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'PTR'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export interface GoldenQuery {
  readonly name: string;
  readonly type: QueryType;
  readonly answers: readonly string[];
}

const absolute = (name: string): string => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

/** One resolver per server and timeout; each query is tried once (the probe loops itself). */
export function dnsClient(host: string, port: number, timeoutMs: number) {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`]);
  const name = (query: string) => query.replace(/\.$/, '');
  return {
    async query(query: string, type: QueryType): Promise<string[]> {
      switch (type) {
        case 'A':
          return (await resolver.resolve4(name(query))).sort();
        case 'AAAA':
          return (await resolver.resolve6(name(query))).sort();
        case 'CNAME':
          return (await resolver.resolveCname(name(query))).map(absolute).sort();
        case 'NS':
          return (await resolver.resolveNs(name(query))).map(absolute).sort();
        case 'PTR':
          return (await resolver.resolvePtr(name(query))).map(absolute).sort();
        case 'MX':
          return (await resolver.resolveMx(name(query))).map((mx) => `${mx.priority} ${absolute(mx.exchange)}`).sort();
        case 'TXT':
          // c-ares hands TXT bytes over as latin1: re-read them as the UTF-8 they are.
          return (await resolver.resolveTxt(name(query))).map((chunks) => Buffer.from(chunks.join(''), 'latin1').toString('utf8')).sort();
        case 'SRV':
          return (await resolver.resolveSrv(name(query))).map((s) => `${s.priority} ${s.weight} ${s.port} ${absolute(s.name)}`).sort();
      }
    },
    cancel: () => resolver.cancel(),
  };
}

/** The first golden query that does not answer as expected, described; undefined when all do. */
export async function checkGolden(client: ReturnType<typeof dnsClient>, queries: readonly GoldenQuery[]): Promise<string | undefined> {
  for (const golden of queries) {
    const expected = [...golden.answers]
      .map((a) => (['CNAME', 'NS', 'PTR'].includes(golden.type) ? absolute(a) : a))
      .sort()
      .join(', ');
    let got: string;
    try {
      got = (await client.query(golden.name, golden.type)).join(', ');
    } catch (error) {
      return `${golden.name} ${golden.type}: no answer (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
    if (got !== expected) return `${golden.name} ${golden.type}: answered ${got || 'nothing'}, expected ${expected}`;
  }
  return undefined;
}
