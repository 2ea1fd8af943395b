// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} is the recipe syntax, not a JS placeholder.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkRecipeVars, formatRecipeProblem, parseRecipe, parseVarFlags, resolveRecipePath, variableValues } from '../../../src/recipes/parse.js';
import type { Recipe } from '../../../src/recipes/recipe.js';

const FILE = '/srv/recipes/test.recipe.yaml';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Each problem as `LINE STEP FIELD`, the way a user finds it. */
function problems(text: string): string[] {
  const result = parseRecipe(text, FILE);
  if (result.problems.length > 0) expect(result.recipe).toBeUndefined();
  return result.problems.map((p) => `${p.origin.replace(`${FILE}:`, '')} ${p.step} ${p.field}`);
}

function messages(text: string): string[] {
  return parseRecipe(text, FILE).problems.map((p) => p.message);
}

/** A recipe around some steps, which start on line 5. */
const withSteps = (steps: string, vars = 'name: {default: x}') => `recipe: t\nvars:\n  ${vars}\nsteps:\n${steps}`;

const EVERY_KIND = `recipe: every-kind
description: one step of each kind
lock: demo-\${{ name }}
vars:
  name: {default: demo, description: the service}
  zones: {description: the zones spec}
  port: 8080
  bare:
steps:
  - id: base
    description: the tools
    build:
      helper-image: dns
  - id: app
    build:
      context: ./app
      dockerfile: Containerfile
      repository: demo/app
      args: {BASE: "\${{ steps.base.image }}", N: 3, VERSION: 1.10}
      files:
        conf/zones.yaml: {file: "\${{ zones }}"}
        conf/note.txt: {text: hello}
      labels: {team: dns}
  - id: gen
    run:
      image: \${{ steps.app.image }}
      command: [gen, /in, /out, 5]
      entrypoint: [/bin/sh, -c]
      env: {MODE: fast}
      inputs:
        /in/zones.yaml: {file: zones.yaml}
        /in/containers.json: {containers: {label: dtool.dns.name, network: bridge}}
      outputs: {config: /out}
      host-outputs: {report: ./reports}
      mounts: ["./data:/data:ro", "cache:/cache", "/abs:/abs:rw"]
      links: ["db:database"]
      networks: [bridge, backend]
      user: "1000:1000"
      privileges: [docker-socket]
      writable-root: true
      timeout: 60
  - id: clones
    run:
      image: \${{ steps.app.image }}
      command: [serve]
      detach: true
      name: web
      replicas: 2
      hostname: "{replica}.example.test"
      labels: {dtool.dns.name: "{replica}"}
      replace: true
  - id: check
    validate:
      image: \${{ steps.base.image }}
      command: [check, /in/config]
      inputs:
        /in/config: {output: gen.config}
      timeout: 30
  - id: snap
    commit: {container: web-1, repository: demo/snap, tag: v1}
  - id: tagged
    tag: {image: "\${{ steps.snap.image }}", repository: demo/app, tag: stable}
  - id: saved
    save: {image: demo/app:stable, to: ./out/app.tar}
  - id: loaded
    load: {from: ./out/app.tar}
  - id: cutover
    swap:
      container: \${{ name }}
      image: \${{ steps.loaded.image }}
      probe: {dns: {queries: {output: gen.config, file: golden.json}}}
      create:
        networks: [bridge]
        publish: ["\${{ port }}:53/udp", "127.0.0.1:53:53"]
        labels: {dtool.dns.server: "true"}
        hostname: ns1
  - id: tcp-swap
    swap: {container: web, image: demo/app:stable, probe: {tcp: 80}, window: 5}
  - id: cmd-swap
    swap: {container: web, image: demo/app:stable, probe: {command: [healthcheck]}, create: {restart: "on-failure:3"}}
  - id: prune
    prune: {repository: demo/app, keep: 2}
`;

describe('parseRecipe: a valid recipe', () => {
  const { recipe, problems: found } = parseRecipe(EVERY_KIND, FILE);

  it('has no problems and keeps the file, variables and lock', () => {
    expect(found).toEqual([]);
    expect(recipe).toMatchObject({ name: 'every-kind', description: 'one step of each kind', file: FILE, lock: 'demo-${{ name }}' });
    expect(recipe!.variables).toEqual([
      { name: 'name', default: 'demo', description: 'the service' },
      { name: 'zones', description: 'the zones spec' },
      { name: 'port', default: '8080' },
      { name: 'bare' },
    ]);
  });

  it('reads every step kind into plain data, resolving literal relative paths against the recipe folder', () => {
    const steps = Object.fromEntries(recipe!.steps.map((step) => [step.id, step]));
    expect(steps.base).toEqual({
      id: 'base',
      description: 'the tools',
      origin: `${FILE}:10`,
      action: { kind: 'build', helperImage: 'dns', args: {}, files: [], labels: {} },
    });
    expect(steps.app!.action).toEqual({
      kind: 'build',
      context: '/srv/recipes/app',
      dockerfile: 'Containerfile',
      repository: 'demo/app',
      args: { BASE: '${{ steps.base.image }}', N: '3', VERSION: '1.10' },
      // A path holding ${{ }} is left for the executor, which resolves it after substitution.
      files: [
        { target: 'conf/zones.yaml', source: { kind: 'file', path: '${{ zones }}' } },
        { target: 'conf/note.txt', source: { kind: 'text', content: 'hello' } },
      ],
      labels: { team: 'dns' },
    });
    expect(steps.gen!.action).toEqual({
      kind: 'run',
      image: '${{ steps.app.image }}',
      command: ['gen', '/in', '/out', '5'],
      entrypoint: ['/bin/sh', '-c'],
      env: { MODE: 'fast' },
      inputs: [
        { target: '/in/zones.yaml', source: { kind: 'file', path: '/srv/recipes/zones.yaml' } },
        { target: '/in/containers.json', source: { kind: 'containers', label: 'dtool.dns.name', network: 'bridge' } },
      ],
      outputs: { config: '/out' },
      hostOutputs: { report: '/srv/recipes/reports' },
      mounts: [
        { type: 'bind', source: '/srv/recipes/data', target: '/data', readOnly: true },
        { type: 'volume', source: 'cache', target: '/cache', readOnly: false },
        { type: 'bind', source: '/abs', target: '/abs', readOnly: false },
      ],
      links: ['db:database'],
      networks: ['bridge', 'backend'],
      user: '1000:1000',
      privileges: ['docker-socket'],
      writableRoot: true,
      timeoutSeconds: 60,
      detach: false,
      labels: {},
      replace: false,
    });
    expect(steps.clones!.action).toMatchObject({
      detach: true,
      name: 'web',
      replicas: 2,
      hostname: '{replica}.example.test',
      labels: { 'dtool.dns.name': '{replica}' },
      replace: true,
    });
    expect(steps.check!.action).toEqual({
      kind: 'validate',
      image: '${{ steps.base.image }}',
      command: ['check', '/in/config'],
      inputs: [{ target: '/in/config', source: { kind: 'output', step: 'gen', output: 'config' } }],
      timeoutSeconds: 30,
    });
    expect(steps.snap!.action).toEqual({ kind: 'commit', container: 'web-1', repository: 'demo/snap', tag: 'v1' });
    expect(steps.tagged!.action).toEqual({ kind: 'tag', image: '${{ steps.snap.image }}', repository: 'demo/app', tag: 'stable' });
    expect(steps.saved!.action).toEqual({ kind: 'save', image: 'demo/app:stable', to: '/srv/recipes/out/app.tar' });
    expect(steps.loaded!.action).toEqual({ kind: 'load', from: '/srv/recipes/out/app.tar' });
    expect(steps.cutover!.action).toEqual({
      kind: 'swap',
      container: '${{ name }}',
      image: '${{ steps.loaded.image }}',
      probe: { kind: 'dns', queries: { kind: 'output', step: 'gen', output: 'config', file: 'golden.json' }, port: 53 },
      windowSeconds: 10,
      create: {
        networks: ['bridge'],
        publish: ['${{ port }}:53/udp', '127.0.0.1:53:53'],
        restart: 'unless-stopped',
        labels: { 'dtool.dns.server': 'true' },
        command: [],
        hostname: 'ns1',
        tmpfs: [],
        capabilities: [],
        writableRoot: false,
      },
    });
    expect(steps['tcp-swap']!.action).toEqual({
      kind: 'swap',
      container: 'web',
      image: 'demo/app:stable',
      probe: { kind: 'tcp', port: 80 },
      windowSeconds: 5,
    });
    expect(steps['cmd-swap']!.action).toMatchObject({
      probe: { kind: 'command', command: ['healthcheck'] },
      create: { restart: 'on-failure:3', networks: [], publish: [] },
    });
    expect(steps.prune!.action).toEqual({ kind: 'prune', repository: 'demo/app', keep: 2 });
  });

  it('accepts a single network as `network:`', () => {
    const { recipe: single } = parseRecipe(withSteps('  - id: a\n    run: {image: x, command: [y], network: none}\n'), FILE);
    expect(single!.steps[0]!.action).toMatchObject({ networks: ['none'] });
  });
});

describe('recipes/dns.recipe.yaml', () => {
  it('parses with no problems, in the two-pass order', () => {
    const file = join(root, 'recipes/dns.recipe.yaml');
    const { recipe, problems: found } = parseRecipe(readFileSync(file, 'utf8'), file);
    expect(found.map(formatRecipeProblem)).toEqual([]);
    expect(recipe!.steps.map((step) => `${step.id}:${step.action.kind}`)).toEqual([
      'base:build',
      'generate:run',
      'check:validate',
      'server:build',
      'swap:swap',
      'prune:prune',
    ]);
    expect(recipe!.lock).toBe('dns-${{ name }}');
    expect(recipe!.variables.map((v) => [v.name, v.default])).toEqual([
      ['zones', undefined],
      ['name', 'dtool-dns'],
      ['network', 'bridge'],
      ['publish', ''],
      ['repository', 'dtool-dns/server'],
    ]);
  });
});

describe('parseRecipe: problems name the line, the step and the field, all at once', () => {
  it('reports a YAML syntax error at its line, with a hint for ${{ }} in a flow mapping', () => {
    expect(problems('recipe: t\nsteps:\n  - id: a\n    run: {image: ${{ x }}, command: [y]}\n')).toEqual(['4 - yaml']);
    expect(messages('recipe: t\nsteps:\n  - id: a\n    run: {image: ${{ x }}, command: [y]}\n')[0]).toContain('quote a value holding ${{ }}');
    expect(problems('recipe: t\nrecipe: u\nsteps: []\n')).toEqual(['2 - yaml']);
  });

  it('refuses a file that is not a mapping', () => {
    expect(problems('- a\n- b\n')).toEqual(['1 - file']);
    expect(problems('')).toEqual([`${FILE} - file`]);
  });

  it('reports unknown top-level keys, a missing name and missing steps', () => {
    expect(problems('descripton: x\nsteps: []\n')).toEqual(['1 - descripton', '1 - recipe', '2 - steps']);
    expect(messages('descripton: x\nrecipe: t\nsteps: [{id: a, load: {from: x}}]\n')).toEqual([
      'unknown field (known: recipe, description, lock, vars, steps)',
    ]);
    expect(problems('recipe: Not_Valid\nsteps: [{id: a, load: {from: x}}]\n')).toEqual(['1 - recipe']);
  });

  it('reports an unknown step kind, naming the known ones', () => {
    expect(problems(withSteps('  - id: a\n    buidl: {helper-image: dns}\n'))).toEqual(['5 a kind', '6 a buidl']);
    expect(messages(withSteps('  - id: a\n    buidl: {helper-image: dns}\n'))[1]).toBe(
      'unknown step kind (kinds: build, run, validate, commit, tag, save, load, swap, prune; fields: id, description)',
    );
  });

  it('reports a step with two kinds at the second one', () => {
    expect(problems(withSteps('  - id: a\n    load: {from: x}\n    prune: {repository: r, keep: 1}\n'))).toEqual(['7 a prune']);
    expect(messages(withSteps('  - id: a\n    load: {from: x}\n    prune: {repository: r, keep: 1}\n'))).toEqual([
      'a step has exactly one kind; this one has load and prune',
    ]);
  });

  it('reports unknown fields inside a kind, naming the known ones', () => {
    expect(problems(withSteps('  - id: a\n    save:\n      image: x\n      to: y\n      force: true\n'))).toEqual(['9 a save.force']);
    expect(messages(withSteps('  - id: a\n    save:\n      image: x\n      to: y\n      force: true\n'))).toEqual([
      'unknown field (known: image, to)',
    ]);
    expect(problems(withSteps('  - id: a\n    load: {from: x}\n    when: always\n'))).toEqual(['7 a when']);
  });

  it('reports each missing required field at the kind', () => {
    const text = withSteps(`  - id: b
    build: {repository: r/x}
  - id: r
    run: {image: x}
  - id: v
    validate: {command: [x]}
  - id: c
    commit: {tag: v1}
  - id: t
    tag: {image: x}
  - id: s
    save: {}
  - id: l
    load: {from: }
  - id: w
    swap: {container: x}
  - id: p
    prune: {repository: r}
  - id: q
    prune: {repository: r, keep: 0}
  - description: no id
    load: {from: x}
`);
    expect(problems(text)).toEqual([
      '6 b build',
      '8 r run.command',
      '10 v validate.image',
      '12 c commit.container',
      '12 c commit.repository',
      '14 t tag.repository',
      '14 t tag.tag',
      '16 s save.image',
      '16 s save.to',
      '18 l load.from',
      '20 w swap.image',
      '20 w swap.probe',
      '22 p prune.keep',
      '24 q prune.keep',
      '25 #11 id',
    ]);
    expect(messages(text)[0]).toBe('needs one of helper-image, context or inline');
    expect(messages(text)[1]).toBe('is required');
    expect(messages(text)[13]).toBe('expected a whole number at least 1');
    expect(messages(withSteps('  - id: l\n    load: {from: ""}\n'))).toEqual(['is required, and empty']);
  });

  it('reports a build with two origins, or fields a helper image does not take', () => {
    expect(problems(withSteps('  - id: b\n    build:\n      helper-image: dns\n      inline: FROM x\n      repository: r/x\n'))).toEqual([
      '6 b build',
      '9 b build.repository',
    ]);
    expect(problems(withSteps('  - id: b\n    build: {inline: FROM x, dockerfile: D}\n'))).toEqual(['6 b build.dockerfile']);
  });

  it('reports wrong types, with the field', () => {
    const text = withSteps(`  - id: a
    run:
      image: [x]
      command: echo hello
      env: [A=1]
      timeout: soon
      detach: yes
      writable-root: 1
      labels: {x: true}
      privileges: docker-socket
`);
    expect(problems(text)).toEqual([
      '7 a run.image',
      '8 a run.command',
      '9 a run.env',
      '10 a run.timeout',
      '11 a run.detach',
      '12 a run.writable-root',
      '13 a run.labels.x',
      '14 a run.privileges',
    ]);
    expect(messages(text)).toContain('expected a list of strings, e.g. [a, b]');
    expect(messages(text)).toContain('expected a string (quote it: "true")');
  });

  it('reports duplicate step ids and invalid ones', () => {
    expect(problems(withSteps('  - id: a\n    load: {from: x}\n  - id: a\n    load: {from: y}\n  - id: B_1\n    load: {from: z}\n'))).toEqual([
      '7 a id',
      '9 B_1 id',
    ]);
    expect(messages(withSteps('  - id: a\n    load: {from: x}\n  - id: a\n    load: {from: y}\n'))).toEqual([
      `duplicate step id (first at ${FILE}:5)`,
    ]);
  });

  it('reports references to steps that are not earlier, unknown, or make no image', () => {
    const text = withSteps(`  - id: a
    run: {image: "\${{ steps.b.image }}", command: [x]}
  - id: b
    build: {helper-image: dns}
  - id: c
    run: {image: "\${{ steps.c.image }}", command: [x]}
  - id: d
    run: {image: "\${{ steps.nope.image }}", command: ["\${{ steps.a.image }}"]}
`);
    expect(problems(text)).toEqual(['6 a run.image', '10 c run.image', '12 d run.image', '12 d run.command[0]']);
    expect(messages(text)).toEqual([
      `step "b" comes later (${FILE}:7): a step can only use earlier steps`,
      'a step cannot use itself ("c")',
      'no step "nope" (steps: a, b, c, d)',
      '${{ steps.a.image }}: a run step makes no image (only build, commit, load steps do)',
    ]);
  });

  it('reports output references to a later step, or to an output the step does not declare', () => {
    const text = withSteps(`  - id: gen
    run:
      image: x
      command: [x]
      outputs: {config: /out}
      inputs:
        /in/a: {output: later.config}
  - id: later
    run: {image: x, command: [x], outputs: {config: /out}}
  - id: use
    validate:
      image: x
      command: [x]
      inputs:
        /in/b: {output: gen.confg}
        /in/c: {output: later.config, file: ../escape}
        /in/d: {output: gen}
`);
    expect(problems(text)).toEqual([
      '11 gen run.inputs./in/a.output',
      '19 use validate.inputs./in/b.output',
      '20 use validate.inputs./in/c.file',
      '21 use validate.inputs./in/d.output',
    ]);
    expect(messages(text)[1]).toBe('step "gen" has no output "confg" (its outputs: config)');
  });

  it('reports unknown variables, and step references in the lock', () => {
    const text = `recipe: t
lock: x-\${{ nmae }}-\${{ steps.a.image }}
vars:
  name: x
steps:
  - id: a
    load: {from: "\${{ dir }}/x.tar"}
`;
    expect(problems(text)).toEqual(['2 - lock', '2 - lock', '7 a load.from']);
    expect(messages(text)).toEqual([
      '${{ nmae }}: unknown variable (declared: name)',
      'refers to step "a", but the lock is taken before any step runs',
      '${{ dir }}: unknown variable (declared: name)',
    ]);
  });

  it('reports malformed references and literal-only fields holding ${{ }}', () => {
    expect(problems(withSteps('  - id: a\n    run: {image: "${{ steps.x.tag }}", command: ["${{ a"]}\n'))).toEqual([
      '6 a run.image',
      '6 a run.command[0]',
    ]);
    expect(problems('recipe: t\nvars:\n  a: "${{ b }}"\n  steps: 1\nsteps: [{id: a, load: {from: x}}]\n')).toEqual(['3 - vars.a', '4 - vars.steps']);
  });

  it('reports invalid privilege names, naming the known ones', () => {
    const text = withSteps('  - id: a\n    run:\n      image: x\n      command: [x]\n      privileges:\n        - docker-socket\n        - root\n');
    expect(problems(text)).toEqual(['11 a run.privileges[1]']);
    expect(messages(text)).toEqual(['unknown privilege (known: privileged, host-sysctl, docker-socket)']);
  });

  it('reports outputs that are not absolute paths, and inputs with a bad target or source', () => {
    const text = withSteps(`  - id: a
    run:
      image: x
      command: [x]
      outputs: {config: out}
      inputs:
        in/a: {text: x}
        /in/b: {file: x, text: y}
        /in/c: {url: http://x}
`);
    expect(problems(text)).toEqual([
      '9 a run.outputs.config',
      '11 a run.inputs.in/a',
      '12 a run.inputs./in/b',
      '13 a run.inputs./in/c.url',
      '13 a run.inputs./in/c',
    ]);
  });

  it('reports malformed mounts, links and networks', () => {
    const text = withSteps(`  - id: a
    run:
      image: x
      command: [x]
      mounts:
        - /host
        - "/host:data"
        - "/host:/data:z"
        - "~/x:/data"
        - "\${{ name }}:/data"
      links: ["a:b:c"]
      networks: [none, bridge]
`);
    expect(problems(text)).toEqual([
      '10 a run.mounts[0]',
      '11 a run.mounts[1]',
      '12 a run.mounts[2]',
      '13 a run.mounts[3]',
      '15 a run.links[0]',
      '16 a run.networks',
    ]);
    expect(messages(text).slice(0, 4)).toEqual([
      'expected SOURCE:TARGET or SOURCE:TARGET:ro',
      'the target "data" must be an absolute path in the container',
      'unknown mode "z" (known: ro, rw)',
      '"~/x" is neither a folder (start it with / or ./) nor a volume name',
    ]);
  });

  it('reads swarm: on a run step (true, or constraint and registry), and refuses what a Swarm job cannot do', () => {
    const ok = parseRecipe(
      withSteps(`  - id: everywhere
    run: {image: x, command: [x], swarm: true}
  - id: workers
    run: {image: x, command: [x], swarm: {constraint: [node.role==worker], registry: "reg.local:5000"}}
  - id: here
    run: {image: x, command: [x], swarm: false}
`),
      FILE,
    );
    expect(ok.problems).toEqual([]);
    const steps = Object.fromEntries(ok.recipe!.steps.map((s) => [s.id, s.action]));
    expect(steps.everywhere).toMatchObject({ swarm: { constraints: [] } });
    expect(steps.workers).toMatchObject({
      swarm: { constraints: [{ key: { kind: 'role' }, operator: '==', value: 'worker', text: 'node.role==worker' }], registry: 'reg.local:5000' },
    });
    expect(steps.here).not.toHaveProperty('swarm');

    const text = withSteps(`  - id: a
    run: {image: x, command: [x], swarm: yes-please}
  - id: b
    run: {image: x, command: [x], swarm: {constraint: [node.colour==blue]}}
  - id: c
    run: {image: x, command: [x], swarm: true, outputs: {o: /o}, links: [db]}
`);
    expect(problems(text)).toEqual(['6 a run.swarm', '8 b run.swarm', '10 c run.outputs', '10 c run.links']);
    expect(messages(text)[1]).toMatch(/node.colour/);
  });

  it('reports replicas without detach or name, and detached runs that cannot work', () => {
    const text = withSteps(`  - id: a
    run: {image: x, command: [x], replicas: 3}
  - id: b
    run: {image: x, command: [x], detach: true, outputs: {o: /o}}
  - id: c
    run: {image: x, command: [x], replace: true, hostname: "{replica}.test"}
`);
    expect(problems(text)).toEqual(['6 a run.replicas', '8 b run.detach', '8 b run.outputs', '10 c run.replace', '10 c run.hostname']);
    expect(messages(text)[0]).toBe('needs detach: true and a name (replicas are named NAME-1 … NAME-N)');
  });

  it('reports malformed publish entries, restart policies and probes', () => {
    const text = withSteps(`  - id: a
    swap:
      container: x
      image: y
      probe: {tcp: 80, command: [x]}
      create:
        publish: ["53", "53:53/icmp", "70000:53", "\${{ name }}:53/udp"]
        restart: sometimes
  - id: b
    swap: {container: x, image: y, probe: {dns: {port: 53}}}
`);
    expect(problems(text)).toEqual([
      '9 a swap.probe',
      '11 a swap.create.publish[0]',
      '11 a swap.create.publish[1]',
      '11 a swap.create.publish[2]',
      '12 a swap.create.restart',
      '14 b swap.probe.dns.queries',
    ]);
  });
});

describe('resolveRecipePath', () => {
  it('resolves relative paths against the recipe folder and keeps absolute ones', () => {
    expect(resolveRecipePath(FILE, './zones.yaml')).toBe('/srv/recipes/zones.yaml');
    expect(resolveRecipePath(FILE, '../etc/z')).toBe('/srv/etc/z');
    expect(resolveRecipePath(FILE, '/etc/z')).toBe('/etc/z');
  });
});

describe('variables', () => {
  const recipe: Recipe = {
    name: 't',
    file: FILE,
    variables: [
      { name: 'zones', description: 'the zones spec' },
      { name: 'name', default: 'dtool-dns' },
    ],
    steps: [],
  };

  it('checks --var values: unknown ones, and required ones not given', () => {
    expect(checkRecipeVars(recipe, { zones: 'z.yaml' })).toEqual([]);
    expect(checkRecipeVars(recipe, { nmae: 'x' })).toEqual([
      { origin: '--var', step: '-', field: 'vars.nmae', message: 'unknown variable "nmae" (declared: zones, name)' },
      { origin: FILE, step: '-', field: 'vars.zones', message: 'required: --var zones=VALUE (the zones spec)' },
    ]);
  });

  it('takes defaults, overridden by --var', () => {
    expect(variableValues(recipe, {})).toEqual({ name: 'dtool-dns' });
    expect(variableValues(recipe, { zones: 'z', name: 'n' })).toEqual({ zones: 'z', name: 'n' });
  });

  it('parses --var NAME=VALUE, refusing a malformed or repeated one', () => {
    expect(parseVarFlags(['zones=a=b.yaml', 'name='])).toEqual({ zones: 'a=b.yaml', name: '' });
    expect(() => parseVarFlags(['zones'])).toThrow(UsageError);
    expect(() => parseVarFlags(['=x'])).toThrow('--var expects NAME=VALUE, not "=x"');
    expect(() => parseVarFlags(['a=1', 'a=2'])).toThrow('--var a is given twice');
  });
});
