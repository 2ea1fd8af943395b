/**
 * One reader per step kind: the fields it may have, which are required, and the checks a
 * single step can make on its own (references across steps are parse.ts's job).
 *
 * A reader returns undefined when a required field is missing. Other fields fall back to
 * their defaults even when they were wrong: the problem is recorded, and a recipe with any
 * problem is never handed out, so a fallback never reaches the executor.
 */
import { isAbsolute } from 'node:path';
import { isScalar, type Node } from 'yaml';
import { PRIVILEGES, type Privilege } from '../core/helper-spec.js';
import { parseSwarmSettings, type SwarmSettings } from '../swarm/options.js';
import { Fields, type RecipeReader, resolveLiteralPath, type Scope } from './parse-fields.js';
import type {
  BuildStep,
  CommitStep,
  FileSource,
  LoadStep,
  Probe,
  PruneStep,
  RecipeMount,
  RunStep,
  SaveStep,
  StepAction,
  StepInput,
  StepKind,
  SwapStep,
  TagStep,
  ValidateStep,
} from './recipe.js';
import { hasTemplate, usesReplica } from './template.js';

export const STEP_FIELDS: Readonly<Record<StepKind, readonly string[]>> = {
  build: ['helper-image', 'context', 'dockerfile', 'inline', 'repository', 'args', 'files', 'labels'],
  run: [
    'image',
    'command',
    'entrypoint',
    'env',
    'inputs',
    'outputs',
    'host-outputs',
    'mounts',
    'links',
    'network',
    'networks',
    'user',
    'privileges',
    'writable-root',
    'timeout',
    'detach',
    'name',
    'hostname',
    'replicas',
    'labels',
    'replace',
    'swarm',
  ],
  validate: ['image', 'command', 'inputs', 'timeout'],
  commit: ['container', 'repository', 'tag'],
  tag: ['image', 'repository', 'tag'],
  save: ['image', 'to'],
  load: ['from'],
  swap: ['container', 'image', 'probe', 'window', 'create'],
  prune: ['repository', 'keep'],
};

const SOURCE_KINDS = ['file', 'output', 'containers', 'text'];
const SOURCE_SHAPES = '{file: PATH}, {output: STEP.OUTPUT} (with file: NAME), {containers: {label, network}} or {text: STRING}';
export const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const OUTPUT_REFERENCE = /^([a-z0-9][a-z0-9-]*)\.([A-Za-z0-9][A-Za-z0-9_-]*)$/;
const REPOSITORY = /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Container, volume and helper image names, as the engine accepts them. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LINK = /^[A-Za-z0-9][A-Za-z0-9_.-]*(?::[A-Za-z0-9][A-Za-z0-9_.-]*)?$/;
const PUBLISH = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]):)?(\d+):(\d+)(?:\/(?:tcp|udp|sctp))?$/;
const RESTART = /^(?:no|always|unless-stopped|on-failure(?::\d+)?)$/;

/** Drops undefined fields, so optional ones are absent rather than present and undefined. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Checks literal text only: a value with `${{ }}` is checked by the executor after substitution. */
function literally(pattern: RegExp, message: string): (text: string) => string | undefined {
  return (text) => (hasTemplate(text) || pattern.test(text) ? undefined : message);
}
const checkRepository = literally(REPOSITORY, 'expected a repository like dtool-dns/server (lowercase, no tag)');
const checkTag = literally(TAG, 'expected a tag: letters, digits, "_", "." or "-", at most 128');
const checkName = literally(NAME, 'expected a name: letters, digits, "_", "." or "-"');

/** A string field that `check` accepts (or a problem at its line). */
function checkedText(f: Fields, key: string, check: (text: string) => string | undefined, required = false): string | undefined {
  const value = f.text(key, { required });
  const problem = value === undefined ? undefined : check(value);
  if (problem !== undefined) f.report(key, problem);
  return value;
}

/** `[IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp|/sctp]`; a `${{ }}` counts as a port, the executor rechecks. */
export function checkPublish(spec: string): string | undefined {
  // A variable may stand for whole mappings (comma-separated, or empty: publish nothing); checked once substituted.
  if (/^\s*\$\{\{[^}]*\}\}\s*$/.test(spec)) return undefined;
  const match = PUBLISH.exec(spec.replace(/\$\{\{[^}]*\}\}/g, '1'));
  const ports = match ? [Number(match[1]), Number(match[2])] : [];
  if (!match || ports.some((port) => port < 1 || port > 65535))
    return 'expected HOST_PORT:CONTAINER_PORT[/udp], e.g. 5353:53/udp, or IP:HOST_PORT:CONTAINER_PORT';
  return undefined;
}

/**
 * `docker -v` syntax: `SOURCE:TARGET[:ro|:rw]`. A source starting with `/` or `.` is a
 * folder; so is one starting with `${{` (a variable naming a folder); any other is a volume
 * name, so a volume given by a variable must start with a literal character.
 */
export function parseMount(spec: string, recipeFile: string): RecipeMount | string {
  const parts = spec.split(':');
  const [source = '', target = '', mode] = parts;
  if (parts.length < 2 || parts.length > 3 || source === '' || target === '') return 'expected SOURCE:TARGET or SOURCE:TARGET:ro';
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') return `unknown mode "${mode}" (known: ro, rw)`;
  if (!target.startsWith('/') && !hasTemplate(target)) return `the target "${target}" must be an absolute path in the container`;
  const readOnly = mode === 'ro';
  if (/^[/.]/.test(source) || source.startsWith('${{')) return { type: 'bind', source: resolveLiteralPath(recipeFile, source), target, readOnly };
  if (!hasTemplate(source) && !NAME.test(source)) return `"${source}" is neither a folder (start it with / or ./) nor a volume name`;
  return { type: 'volume', source, target, readOnly };
}

function isInside(path: string): boolean {
  return path !== '' && !isAbsolute(path) && !path.split('/').includes('..');
}

function readSource(reader: RecipeReader, node: Node, scope: Scope, field: string): FileSource | undefined {
  const source = Fields.open(reader, node, scope, field, node, SOURCE_KINDS);
  if (source === undefined) return undefined;
  const present = SOURCE_KINDS.filter((kind) => source.has(kind));
  // Beside `output`, `file` names one file inside that output rather than a source of its own.
  const kinds = present.includes('output') ? present.filter((kind) => kind !== 'file') : present;
  if (kinds.length !== 1) {
    reader.report(node, scope, field, `expected exactly one of ${SOURCE_SHAPES}`);
    return undefined;
  }
  if (kinds[0] === 'output') {
    const reference = source.text('output', { templates: false });
    const file = source.text('file');
    const match = reference === undefined ? null : OUTPUT_REFERENCE.exec(reference);
    if (reference !== undefined && !match) source.report('output', 'expected STEP.OUTPUT, e.g. generate.config');
    if (file !== undefined && !isInside(file)) source.report('file', 'expected a relative path inside the output, without ".."');
    if (!match) return undefined;
    const [, step, output] = match as unknown as [string, string, string];
    reader.outputReferences.push({ origin: reader.at(source.value('output')), scope, field: source.field('output'), step, output });
    return compact<FileSource>({ kind: 'output', step, output, file });
  }
  if (kinds[0] === 'file') {
    const path = source.text('file');
    return path === undefined ? undefined : { kind: 'file', path: resolveLiteralPath(reader.file, path) };
  }
  if (kinds[0] === 'containers') {
    const containers = source.open('containers', ['label', 'network'], true);
    const label = containers?.text('label', { required: true });
    const network = containers?.text('network');
    return label === undefined ? undefined : compact<FileSource>({ kind: 'containers', label, network });
  }
  const content = source.text('text');
  return content === undefined ? undefined : { kind: 'text', content };
}

/** A required source field, e.g. a DNS probe's `queries`. */
function sourceField(f: Fields, key: string): FileSource | undefined {
  const node = f.value(key);
  if (node === undefined) {
    f.report(key, 'is required');
    return undefined;
  }
  return readSource(f.reader, node, f.scope, f.field(key));
}

/** Files handed to a step, keyed by their target: a container path, or a path in a build context. */
function readInputs(f: Fields, key: string, targets: 'container' | 'context'): StepInput[] {
  const inputs: StepInput[] = [];
  for (const entry of f.entries(key) ?? []) {
    const field = `${f.field(key)}.${entry.key}`;
    if (targets === 'container' && !entry.key.startsWith('/'))
      f.reader.report(entry.keyNode, f.scope, field, 'the target must be an absolute path in the container');
    if (targets === 'context' && !isInside(entry.key))
      f.reader.report(entry.keyNode, f.scope, field, 'the target must be a relative path inside the build context, without ".."');
    if (entry.value === undefined) f.reader.report(entry.keyNode, f.scope, field, `expected a source: ${SOURCE_SHAPES}`);
    const source = entry.value === undefined ? undefined : readSource(f.reader, entry.value, f.scope, field);
    if (source !== undefined) inputs.push({ target: entry.key, source });
  }
  return inputs;
}

/** Named outputs: `outputs` are absolute container paths, `host-outputs` folders on this machine. */
function readOutputs(f: Fields, key: 'outputs' | 'host-outputs'): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const entry of f.entries(key) ?? []) {
    const field = `${f.field(key)}.${entry.key}`;
    if (!OUTPUT_NAME.test(entry.key)) f.reader.report(entry.keyNode, f.scope, field, 'an output name is letters, digits, "_" or "-"');
    if (entry.value === undefined) f.reader.report(entry.keyNode, f.scope, field, 'expected a path');
    const path = entry.value === undefined ? undefined : f.reader.text(entry.value, f.scope, field);
    if (path === undefined) continue;
    if (key === 'outputs' && !path.startsWith('/') && !hasTemplate(path))
      f.reader.report(entry.value, f.scope, field, 'expected an absolute path in the container, e.g. /out');
    outputs[entry.key] = key === 'outputs' ? path : resolveLiteralPath(f.reader.file, path);
  }
  return outputs;
}

/** `network: X` or `networks: [X, Y]`; `none` and `host` leave no room for another. */
function readNetworks(f: Fields): string[] {
  if (f.has('network') && f.has('networks')) f.report('network', 'give network or networks, not both');
  const single = f.text('network');
  const networks = single !== undefined ? [single] : (f.texts('networks') ?? []);
  const alone = networks.find((network) => network === 'none' || network === 'host');
  if (alone !== undefined && networks.length > 1) f.report('networks', `"${alone}" cannot be combined with other networks`);
  return networks;
}

function readBuild(f: Fields): BuildStep | undefined {
  const origins = ['helper-image', 'context', 'inline'].filter((key) => f.has(key));
  if (origins.length !== 1)
    f.reader.report(
      f.where,
      f.scope,
      'build',
      origins.length === 0 ? 'needs one of helper-image, context or inline' : `has ${origins.join(' and ')}: give one`,
    );
  const context = f.text('context');
  if (f.has('dockerfile') && !f.has('context')) f.report('dockerfile', 'only goes with context (inline is the Dockerfile text itself)');
  const action = compact<BuildStep>({
    kind: 'build',
    helperImage: f.text('helper-image', { templates: false }),
    context: context === undefined ? undefined : resolveLiteralPath(f.reader.file, context),
    dockerfile: f.text('dockerfile'),
    inline: f.text('inline'),
    repository: checkedText(f, 'repository', checkRepository),
    args: f.textMap('args') ?? {},
    files: readInputs(f, 'files', 'context'),
    labels: f.textMap('labels') ?? {},
  });
  if (action.helperImage !== undefined && !NAME.test(action.helperImage)) f.report('helper-image', 'expected the name of a folder under images/');
  // A helper image is built from images/NAME as it is, by the image catalog, under its own name.
  for (const key of ['repository', 'args', 'files', 'labels'])
    if (f.has('helper-image') && f.has(key)) f.report(key, 'does not apply to a helper-image build (it is built from images/ as it is)');
  return origins.length === 1 ? action : undefined;
}

function readRun(f: Fields): RunStep | undefined {
  const image = f.text('image', { required: true });
  const command = f.texts('command', { required: true });
  const outputs = readOutputs(f, 'outputs');
  const hostOutputs = readOutputs(f, 'host-outputs');
  for (const name of Object.keys(hostOutputs))
    if (name in outputs) f.report('host-outputs', `"${name}" is also in outputs: an output name is used once`);
  const detach = f.boolean('detach') ?? false;
  const name = checkedText(f, 'name', (text) =>
    usesReplica(text) ? '{replica} stands for the name itself: replicas are named NAME-1 … NAME-N' : checkName(text),
  );
  const hostname = f.text('hostname');
  const labels = f.textMap('labels') ?? {};
  const replicas = f.number('replicas', { min: 1, integer: true });
  if (detach && name === undefined) f.report('detach', 'a detached run needs a name: it is how dtool finds the container again');
  if (replicas !== undefined && (!detach || name === undefined))
    f.report('replicas', 'needs detach: true and a name (replicas are named NAME-1 … NAME-N)');
  if (f.has('replace') && !detach) f.report('replace', 'only goes with detach: true');
  if (detach && Object.keys(outputs).length > 0) f.report('outputs', 'a detached run keeps running, so its outputs would never be collected');
  if ([hostname ?? '', ...Object.values(labels)].some(usesReplica) && name === undefined)
    f.report(hostname !== undefined && usesReplica(hostname) ? 'hostname' : 'labels', '{replica} is the container name: it needs name');
  const privileges = f.texts('privileges', {
    check: (privilege) => (PRIVILEGES.includes(privilege as Privilege) ? undefined : `unknown privilege (known: ${PRIVILEGES.join(', ')})`),
  });
  const swarm = readSwarm(f);
  if (swarm) {
    // A Swarm job has no archive API before start nor after exit, and no container to keep.
    for (const key of ['detach', 'inputs', 'outputs', 'host-outputs', 'links'])
      if (f.has(key)) f.report(key, 'does not go with swarm: a Swarm job runs on every node and leaves nothing to copy in or out');
  }
  const action = compact<RunStep>({
    kind: 'run',
    image: image ?? '',
    command: command ?? [],
    entrypoint: f.texts('entrypoint'),
    env: f.textMap('env') ?? {},
    inputs: readInputs(f, 'inputs', 'container'),
    outputs,
    hostOutputs,
    mounts: (f.texts('mounts', { check: (spec) => mountProblem(spec, f.reader.file) }) ?? []).map(
      (spec) => parseMount(spec, f.reader.file) as RecipeMount,
    ),
    links: f.texts('links', { check: literally(LINK, 'expected CONTAINER or CONTAINER:ALIAS') }) ?? [],
    networks: readNetworks(f),
    user: f.text('user'),
    privileges: (privileges ?? []) as Privilege[],
    writableRoot: f.boolean('writable-root') ?? false,
    timeoutSeconds: f.number('timeout', { min: 1 }),
    detach,
    name,
    hostname,
    replicas,
    labels,
    replace: f.boolean('replace') ?? false,
    swarm,
  });
  return image === undefined || command === undefined ? undefined : action;
}

/** `swarm: true`, or `swarm: {constraint: [EXPR…], registry: HOST}`: a global job on the nodes. */
function readSwarm(f: Fields): SwarmSettings | undefined {
  const node = f.value('swarm');
  if (node === undefined) return undefined;
  if (isScalar(node)) {
    if (node.value === false) return undefined;
    if (node.value !== true) {
      f.report('swarm', 'expected true, or a mapping with constraint and registry');
      return undefined;
    }
    return { constraints: [] };
  }
  const settings = f.open('swarm', ['constraint', 'registry']);
  if (!settings) return undefined;
  try {
    return parseSwarmSettings({ swarm: true, constraint: settings.texts('constraint'), registry: settings.text('registry') }, (name) =>
      name === 'swarm' ? 'swarm' : `swarm.${name}`,
    );
  } catch (error) {
    f.report('swarm', (error as Error).message);
    return undefined;
  }
}

function mountProblem(spec: string, recipeFile: string): string | undefined {
  const mount = parseMount(spec, recipeFile);
  return typeof mount === 'string' ? mount : undefined;
}

function readValidate(f: Fields): ValidateStep | undefined {
  const image = f.text('image', { required: true });
  const command = f.texts('command', { required: true });
  const inputs = readInputs(f, 'inputs', 'container');
  const timeoutSeconds = f.number('timeout', { min: 1 });
  if (image === undefined || command === undefined) return undefined;
  return compact<ValidateStep>({ kind: 'validate', image, command, inputs, timeoutSeconds });
}

function readCommit(f: Fields): CommitStep | undefined {
  const container = f.text('container', { required: true });
  const repository = checkedText(f, 'repository', checkRepository, true);
  const tag = checkedText(f, 'tag', checkTag);
  if (container === undefined || repository === undefined) return undefined;
  return compact<CommitStep>({ kind: 'commit', container, repository, tag });
}

function readTag(f: Fields): TagStep | undefined {
  const image = f.text('image', { required: true });
  const repository = checkedText(f, 'repository', checkRepository, true);
  const tag = checkedText(f, 'tag', checkTag, true);
  if (image === undefined || repository === undefined || tag === undefined) return undefined;
  return { kind: 'tag', image, repository, tag };
}

function readSave(f: Fields): SaveStep | undefined {
  const image = f.text('image', { required: true });
  const to = f.text('to', { required: true });
  if (image === undefined || to === undefined) return undefined;
  return { kind: 'save', image, to: resolveLiteralPath(f.reader.file, to) };
}

function readLoad(f: Fields): LoadStep | undefined {
  const from = f.text('from', { required: true });
  return from === undefined ? undefined : { kind: 'load', from: resolveLiteralPath(f.reader.file, from) };
}

const PROBE_KINDS = ['dns', 'command', 'tcp'];
const PORT = { min: 1, max: 65535, integer: true } as const;

function readProbe(f: Fields): Probe | undefined {
  const probe = f.open('probe', PROBE_KINDS, true);
  if (probe === undefined) return undefined;
  const kinds = PROBE_KINDS.filter((kind) => probe.has(kind));
  if (kinds.length !== 1) {
    f.report('probe', 'expected exactly one of {dns: {queries, port}}, {command: [...]} or {tcp: PORT}');
    return undefined;
  }
  if (kinds[0] === 'dns') {
    const dns = probe.open('dns', ['queries', 'port'], true);
    const queries = dns && sourceField(dns, 'queries');
    const port = dns?.number('port', PORT) ?? 53;
    return queries === undefined ? undefined : { kind: 'dns', queries, port };
  }
  if (kinds[0] === 'command') {
    const command = probe.texts('command', { required: true });
    return command === undefined ? undefined : { kind: 'command', command };
  }
  const port = probe.number('tcp', { ...PORT, required: true });
  return port === undefined ? undefined : { kind: 'tcp', port };
}

/** How the service container is created when none runs yet. */
function readCreate(f: Fields): SwapStep['create'] {
  const create = f.open('create', [
    'network',
    'networks',
    'publish',
    'restart',
    'labels',
    'command',
    'hostname',
    'user',
    'tmpfs',
    'capabilities',
    'writable-root',
  ]);
  if (create === undefined) return undefined;
  const restart = create.text('restart', { templates: false }) ?? 'unless-stopped';
  if (!RESTART.test(restart)) create.report('restart', 'expected no, always, unless-stopped or on-failure[:N]');
  return compact({
    networks: readNetworks(create),
    publish: create.texts('publish', { check: checkPublish }) ?? [],
    restart,
    labels: create.textMap('labels') ?? {},
    command: create.texts('command') ?? [],
    hostname: create.text('hostname'),
    user: create.text('user'),
    tmpfs: create.texts('tmpfs') ?? [],
    capabilities: create.texts('capabilities') ?? [],
    writableRoot: create.boolean('writable-root') ?? false,
  });
}

function readSwap(f: Fields): SwapStep | undefined {
  const container = f.text('container', { required: true });
  const image = f.text('image', { required: true });
  const probe = readProbe(f);
  const windowSeconds = f.number('window', { min: 1 }) ?? 10;
  const create = readCreate(f);
  if (container === undefined || image === undefined || probe === undefined) return undefined;
  return compact<SwapStep>({ kind: 'swap', container, image, probe, windowSeconds, create });
}

function readPrune(f: Fields): PruneStep | undefined {
  const repository = checkedText(f, 'repository', checkRepository, true);
  const keep = f.number('keep', { min: 1, integer: true, required: true });
  return repository === undefined || keep === undefined ? undefined : { kind: 'prune', repository, keep };
}

const READERS: { readonly [K in StepKind]: (f: Fields) => StepAction | undefined } = {
  build: readBuild,
  run: readRun,
  validate: readValidate,
  commit: readCommit,
  tag: readTag,
  save: readSave,
  load: readLoad,
  swap: readSwap,
  prune: readPrune,
};

/** Reads a step's body (the mapping under its kind key), or records why it cannot. */
export function readStepAction(reader: RecipeReader, kind: StepKind, body: Node, kindKey: Node, scope: Scope): StepAction | undefined {
  const fields = Fields.open(reader, body, scope, kind, kindKey, STEP_FIELDS[kind]);
  return fields === undefined ? undefined : READERS[kind](fields);
}
