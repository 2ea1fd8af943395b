/**
 * What a recipe would do, without doing it (pure): every step with its strings resolved,
 * the images it uses and makes, and what it reaches on this machine (mounts, networks,
 * published ports, privileges). Nothing has run, so an image an earlier step would make
 * is shown as `<image of step ID>`, and a required variable not given as `<NAME: not given>`.
 */
import type { Privilege } from '../core/helper-spec.js';
import { baseImages } from '../core/dockerfile.js';
import { resolveRecipePath, variableValues } from './parse.js';
import type { FileSource, Recipe, RecipeMount, StepAction, StepInput, StepKind } from './recipe.js';
import { scanTemplate, substitute } from './template.js';

export interface PlannedVariable {
  readonly name: string;
  readonly description?: string;
  /** Absent when the variable is required and was not given. */
  readonly value?: string;
  readonly source: 'given' | 'default' | 'missing';
}

export interface PlannedStep {
  readonly id: string;
  readonly kind: StepKind;
  readonly description?: string;
  readonly origin: string;
  /** The step's fields with every `${{ }}` resolved. */
  readonly action: StepAction;
  /** Images it runs, or builds from. */
  readonly usesImages: readonly string[];
  /** The image it makes (build, commit, tag, load). */
  readonly makesImage?: string;
  /** `bind SOURCE → TARGET (read-only)` or `volume NAME → TARGET`. */
  readonly mounts: readonly string[];
  /** Networks its container joins; `default` is the engine's default bridge. */
  readonly networks: readonly string[];
  readonly publishes: readonly string[];
  readonly privileges: readonly Privilege[];
}

export interface RecipePlan {
  readonly recipe: string;
  readonly description?: string;
  readonly file: string;
  readonly lock?: string;
  readonly variables: readonly PlannedVariable[];
  /** Required variables without a value: a run would refuse to start. */
  readonly missing: readonly string[];
  readonly steps: readonly PlannedStep[];
  /** Every privilege some step needs, and which steps need it. */
  readonly privileges: readonly { readonly privilege: Privilege; readonly steps: readonly string[] }[];
}

const imageOf = (step: string) => `<image of step ${step}>`;

/** Every string in a step's data, with `${{ }}` resolved; keys are literal and stay. */
function resolveDeep<T>(value: T, resolve: (text: string) => string): T {
  if (typeof value === 'string') return resolve(value) as T;
  if (Array.isArray(value)) return value.map((item) => resolveDeep(item, resolve)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, resolve)])) as T;
  return value;
}

/** Relative paths as the executor will use them: against the recipe's folder, after substitution. */
function withResolvedPaths(action: StepAction, recipeFile: string): StepAction {
  // `<NAME: not given>` is no path: left as it is.
  const path = (p: string) => (p.startsWith('<') ? p : resolveRecipePath(recipeFile, p));
  const source = (s: FileSource): FileSource => (s.kind === 'file' ? { ...s, path: path(s.path) } : s);
  const inputs = (list: readonly StepInput[]) => list.map((input) => ({ ...input, source: source(input.source) }));
  switch (action.kind) {
    case 'build':
      return { ...action, ...(action.context !== undefined ? { context: path(action.context) } : {}), files: inputs(action.files) };
    case 'run':
      return {
        ...action,
        inputs: inputs(action.inputs),
        hostOutputs: Object.fromEntries(Object.entries(action.hostOutputs).map(([name, folder]) => [name, path(folder)])),
        mounts: action.mounts.map((mount) => (mount.type === 'bind' ? { ...mount, source: path(mount.source) } : mount)),
      };
    case 'validate':
      return { ...action, inputs: inputs(action.inputs) };
    case 'save':
      return { ...action, to: path(action.to) };
    case 'load':
      return { ...action, from: path(action.from) };
    case 'swap':
      return action.probe.kind === 'dns' ? { ...action, probe: { ...action.probe, queries: source(action.probe.queries) } } : action;
    default:
      return action;
  }
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function usesImages(declared: StepAction, action: StepAction): string[] {
  const fromSteps = stringsIn(declared).flatMap((text) => scanTemplate(text).references.flatMap((r) => (r.kind === 'step' ? [imageOf(r.step)] : [])));
  const named = 'image' in action ? [action.image] : [];
  // An inline Dockerfile's own FROM lines; an image from a step is already among fromSteps.
  const bases =
    action.kind === 'build' && action.inline !== undefined ? baseImages(action.inline, action.args).images.filter((i) => !i.startsWith('<')) : [];
  return [...new Set([...named, ...fromSteps, ...bases])];
}

function makesImage(recipe: Recipe, id: string, action: StepAction): string | undefined {
  switch (action.kind) {
    case 'build':
      if (action.helperImage !== undefined) return `helper image ${action.helperImage} (tagged by content hash)`;
      return `${action.repository ?? `dtool-recipe/${recipe.name}-${id}`}:<content hash>`;
    case 'commit':
      return `${action.repository}:${action.tag ?? '<container id>'}`;
    case 'tag':
      return `${action.repository}:${action.tag}`;
    case 'load':
      return `the image in ${action.from}`;
    default:
      return undefined;
  }
}

function describeMount(mount: RecipeMount): string {
  return `${mount.type} ${mount.source} → ${mount.target}${mount.readOnly ? ' (read-only)' : ''}`;
}

function networksOf(action: StepAction): string[] {
  if (action.kind === 'run') return action.networks.length > 0 ? [...action.networks] : ['default'];
  // The executor runs a validation with no network at all.
  if (action.kind === 'validate') return ['none'];
  if (action.kind === 'swap') return [...(action.create?.networks ?? [])];
  return [];
}

export function planRecipe(recipe: Recipe, given: Readonly<Record<string, string>>): RecipePlan {
  const values = variableValues(recipe, given);
  const resolve = (text: string) =>
    substitute(text, (reference) =>
      reference.kind === 'variable' ? (values[reference.name] ?? `<${reference.name}: not given>`) : imageOf(reference.step),
    );
  const variables = recipe.variables.map(
    (variable): PlannedVariable => ({
      name: variable.name,
      ...(variable.description !== undefined ? { description: variable.description } : {}),
      ...(values[variable.name] !== undefined ? { value: values[variable.name] } : {}),
      source: given[variable.name] !== undefined ? 'given' : variable.default !== undefined ? 'default' : 'missing',
    }),
  );
  const steps = recipe.steps.map((step): PlannedStep => {
    const action = withResolvedPaths(resolveDeep(step.action, resolve), recipe.file);
    const made = makesImage(recipe, step.id, action);
    return {
      id: step.id,
      kind: action.kind,
      ...(step.description !== undefined ? { description: step.description } : {}),
      origin: step.origin,
      action,
      usesImages: usesImages(step.action, action),
      ...(made !== undefined ? { makesImage: made } : {}),
      mounts: action.kind === 'run' ? action.mounts.map(describeMount) : [],
      networks: networksOf(action),
      publishes:
        action.kind === 'swap'
          ? (action.create?.publish ?? [])
              .flatMap((p) => p.split(','))
              .map((p) => p.trim())
              .filter(Boolean)
          : [],
      privileges: action.kind === 'run' ? [...action.privileges] : [],
    };
  });
  const privileges = [...new Set(steps.flatMap((step) => step.privileges))].map((privilege) => ({
    privilege,
    steps: steps.filter((step) => step.privileges.includes(privilege)).map((step) => step.id),
  }));
  return {
    recipe: recipe.name,
    ...(recipe.description !== undefined ? { description: recipe.description } : {}),
    file: recipe.file,
    ...(recipe.lock !== undefined ? { lock: resolve(recipe.lock) } : {}),
    variables,
    missing: variables.filter((variable) => variable.source === 'missing').map((variable) => variable.name),
    steps,
    privileges,
  };
}

// ---- rendering ----

const quoted = (word: string) => (word === '' || /[\s"'\\]/.test(word) ? JSON.stringify(word) : word);
const commandLine = (words: readonly string[]) => words.map(quoted).join(' ');
const pairs = (map: Readonly<Record<string, string>>) => Object.entries(map).map(([key, value]) => `${key}=${value}`);

function describeSource(source: FileSource): string {
  switch (source.kind) {
    case 'file':
      return `file ${source.path}`;
    case 'output':
      return `output ${source.step}.${source.output}${source.file !== undefined ? ` (file ${source.file})` : ''}`;
    case 'containers':
      return `the running containers labelled ${source.label}${source.network !== undefined ? `, addresses on ${source.network}` : ''} (read by dtool)`;
    case 'text':
      return `text ${JSON.stringify(source.content.length > 40 ? `${source.content.slice(0, 40)}…` : source.content)}`;
  }
}

type Detail = readonly [label: string, values: readonly string[]];

/** The fields particular to each kind; images, mounts, networks, ports and privileges are common lines. */
function details(action: StepAction): Detail[] {
  switch (action.kind) {
    case 'build':
      return [
        ['from', [action.helperImage !== undefined ? `images/${action.helperImage}` : (action.context ?? 'an inline Dockerfile and its files')]],
        ['dockerfile', action.inline !== undefined ? action.inline.trimEnd().split('\n') : action.context ? [action.dockerfile ?? 'Dockerfile'] : []],
        ['build args', pairs(action.args)],
        ['files', action.files.map((input) => `${input.target} ← ${describeSource(input.source)}`)],
        ['labels', pairs(action.labels)],
      ];
    case 'run':
    case 'validate': {
      const run = action.kind === 'run' ? action : undefined;
      return [
        ['entrypoint', run?.entrypoint ? [commandLine(run.entrypoint)] : []],
        ['command', [commandLine(action.command)]],
        ['env', run ? pairs(run.env) : []],
        ['inputs', action.inputs.map((input) => `${input.target} ← ${describeSource(input.source)}`)],
        ['outputs', run ? Object.entries(run.outputs).map(([name, path]) => `${name} ← ${path}`) : []],
        ['host outputs', run ? Object.entries(run.hostOutputs).map(([name, path]) => `${name} ← ${path}`) : []],
        ['links', [...(run?.links ?? [])]],
        ['user', run?.user !== undefined ? [run.user] : []],
        ['root', run?.writableRoot ? ['writable'] : []],
        ['timeout', action.timeoutSeconds !== undefined ? [`${action.timeoutSeconds}s`] : []],
        ['detached', run?.detach ? [detached(run)] : []],
        ['hostname', run?.hostname !== undefined ? [run.hostname] : []],
        ['labels', run ? pairs(run.labels) : []],
      ];
    }
    case 'commit':
      return [['container', [action.container]]];
    case 'tag':
      return [];
    case 'save':
      return [['to', [`${action.to} (and its sha256 beside it)`]]];
    case 'load':
      return [['from', [action.from]]];
    case 'swap': {
      const probe = action.probe;
      const probeText =
        probe.kind === 'dns'
          ? `dns on port ${probe.port}: answers as in ${describeSource(probe.queries)}`
          : probe.kind === 'tcp'
            ? `tcp connect to port ${probe.port}`
            : `command ${commandLine(probe.command)}`;
      const create = action.create;
      return [
        ['container', [`${action.container} (keeps its name, networks, ports, mounts, restart policy and labels)`]],
        ['probe', [`${probeText}, for up to ${action.windowSeconds}s before and after cutover`]],
        ['if absent', create ? [`created with restart ${create.restart}`] : ['fails: no create: given']],
        ['  command', create && create.command.length > 0 ? [commandLine(create.command)] : []],
        ['  hostname', create?.hostname !== undefined ? [create.hostname] : []],
        ['  labels', create ? pairs(create.labels) : []],
      ];
    }
    case 'prune':
      return [['keeps', [`the ${action.keep} newest images of ${action.repository}, and any image a container uses`]]];
  }
}

function detached(run: Extract<StepAction, { kind: 'run' }>): string {
  const names = run.replicas !== undefined ? `${run.name}-1 … ${run.name}-${run.replicas}` : (run.name ?? '');
  return `keeps running as ${names}${run.replace ? ' (replaced when its image changes)' : ' (an existing one is kept)'}`;
}

function lines(label: string, values: readonly string[]): string[] {
  return values.map((value, i) => `     ${(i === 0 ? `${label}:` : '').padEnd(13)}${value}`);
}

/** The plan as text for a person: one block per step. */
export function renderPlan(plan: RecipePlan): string {
  const out = [`recipe ${plan.recipe}${plan.description ? ` — ${plan.description}` : ''}`, `  file: ${plan.file}`];
  if (plan.lock !== undefined) out.push(`  lock: ${plan.lock} (held for the whole run)`);
  if (plan.variables.length > 0) out.push('  vars:');
  for (const variable of plan.variables) {
    const value = variable.value !== undefined ? `${variable.value}${variable.source === 'default' ? ' (default)' : ''}` : '<not given: required>';
    out.push(`    ${variable.name} = ${value}${variable.description ? `  — ${variable.description}` : ''}`);
  }
  out.push(
    `  privileges: ${plan.privileges.length === 0 ? 'none' : plan.privileges.map((p) => `${p.privilege} (step ${p.steps.join(', ')})`).join('; ')}`,
  );
  plan.steps.forEach((step, i) => {
    out.push('', `  ${i + 1}. ${step.id} (${step.kind})${step.description ? ` — ${step.description}` : ''}`);
    const networks = step.kind === 'swap' && step.networks.length > 0 ? step.networks.map((n) => `${n} (when created)`) : step.networks;
    for (const [label, values] of [
      ['image', step.kind === 'build' ? [] : step.usesImages],
      ['builds from', step.kind === 'build' ? step.usesImages : []],
      ...details(step.action),
      ['mounts', step.mounts],
      ['networks', networks],
      ['publishes', step.publishes],
      ['privileges', step.privileges],
      ['makes', step.makesImage !== undefined ? [step.makesImage] : []],
    ] as Detail[])
      out.push(...lines(label, values));
  });
  if (plan.missing.length > 0) out.push('', `missing: ${plan.missing.map((name) => `--var ${name}=VALUE`).join(' ')} (a run would refuse to start)`);
  return `${out.join('\n')}\n`;
}
