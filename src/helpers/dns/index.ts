/**
 * `dtool dns rebuild`: the shipped two-pass DNS recipe (recipes/dns.recipe.yaml) with its
 * variables taken from flags. Pass 1 builds the BIND image, the generator renders named.conf
 * and zones from the zones spec and the labelled containers, the config is checked inside
 * the image, pass 2 bakes it in, and the running server is swapped behind golden queries.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_RECIPES_DIR } from '../../config.js';
import type { Deps } from '../../deps.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { type RecipeReport, type RecipeRunOptions, runRecipe } from '../../recipes/execute.js';
import { loadRecipe } from '../../recipes/load.js';

export const DNS_RECIPE = 'dns.recipe.yaml';

export interface RawDnsRebuildOptions {
  readonly zones?: string;
  readonly network?: string;
  readonly name?: string;
  readonly publish?: string;
  readonly repository?: string;
}

export interface DnsRebuildParams {
  readonly zones: string;
  readonly network: string;
  readonly name: string;
  /** Host port for 53/udp and 53/tcp; undefined publishes nothing. */
  readonly publish?: number;
  readonly repository: string;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function parseDnsRebuildParams(raw: RawDnsRebuildOptions, cwd: string): DnsRebuildParams {
  if (!raw.zones) throw new UsageError('--zones FILE is required: the zones spec (YAML) the generator renders');
  const name = raw.name ?? 'dtool-dns';
  if (!NAME.test(name)) throw new UsageError(`--name "${name}" is not a valid container name`);
  const network = raw.network ?? 'bridge';
  if (!NAME.test(network)) throw new UsageError(`--network "${network}" is not a valid network name`);
  let publish: number | undefined;
  if (raw.publish !== undefined) {
    publish = Number(raw.publish);
    if (!/^\d+$/.test(raw.publish) || publish < 1 || publish > 65535)
      throw new UsageError(`--publish expects a host port 1-65535, not "${raw.publish}"`);
  }
  return {
    zones: resolve(cwd, raw.zones),
    network,
    name,
    ...(publish !== undefined ? { publish } : {}),
    repository: raw.repository ?? `dtool-dns/${name}`,
  };
}

export function dnsRecipeVars(params: DnsRebuildParams): Record<string, string> {
  return {
    zones: params.zones,
    network: params.network,
    name: params.name,
    publish: params.publish === undefined ? '' : `${params.publish}:53/udp,${params.publish}:53/tcp`,
    repository: params.repository,
  };
}

export async function dnsRebuild(deps: Deps, params: DnsRebuildParams, options: Omit<RecipeRunOptions, 'vars'>): Promise<RecipeReport> {
  if (!(await stat(params.zones).catch(() => undefined))?.isFile()) throw new NotFoundError(`zones spec ${params.zones} does not exist`);
  const recipe = await loadRecipe(join(DEFAULT_RECIPES_DIR, DNS_RECIPE), '/');
  return runRecipe(deps, recipe, { ...options, vars: dnsRecipeVars(params) });
}
