import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../src/recipes/parse.js';
import { planRecipe, renderPlan } from '../../../src/recipes/plan.js';
import type { Recipe } from '../../../src/recipes/recipe.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FILE = '/srv/recipes/clone.recipe.yaml';

function parsed(text: string, file = FILE): Recipe {
  const { recipe, problems } = parseRecipe(text, file);
  expect(problems).toEqual([]);
  return recipe!;
}

const CLONE = `recipe: clone
lock: clone-\${{ name }}
vars:
  name: {default: web}
  data: {description: the data folder}
steps:
  - id: base
    build:
      inline: |
        FROM debian:12-slim
        RUN true
      repository: demo/base
  - id: template
    description: the container to copy
    run:
      image: \${{ steps.base.image }}
      command: [sleep, infinity]
      detach: true
      name: \${{ name }}-template
      mounts: ["\${{ data }}:/data:ro", "cache:/cache"]
      networks: [backend]
      privileges: [docker-socket, host-sysctl]
  - id: snap
    commit: {container: "\${{ name }}-template", repository: demo/clone, tag: v1}
  - id: clones
    run:
      image: \${{ steps.snap.image }}
      command: [serve]
      detach: true
      name: \${{ name }}
      replicas: 3
      hostname: "{replica}.example.test"
  - id: saved
    save: {image: "\${{ steps.snap.image }}", to: ./out/clone.tar}
`;

describe('planRecipe', () => {
  it('resolves variables, shows images of earlier steps as placeholders, and lists what each step reaches', () => {
    const plan = planRecipe(parsed(CLONE), { data: './data' });
    expect(plan).toMatchObject({ recipe: 'clone', file: FILE, lock: 'clone-web', missing: [] });
    expect(plan.variables).toEqual([
      { name: 'name', value: 'web', source: 'default' },
      { name: 'data', description: 'the data folder', value: './data', source: 'given' },
    ]);
    const [base, template, snap, clones, saved] = plan.steps;
    expect(base).toMatchObject({ id: 'base', kind: 'build', usesImages: ['debian:12-slim'], makesImage: 'demo/base:<content hash>' });
    expect(template).toMatchObject({
      id: 'template',
      description: 'the container to copy',
      origin: `${FILE}:13`,
      usesImages: ['<image of step base>'],
      // A variable's relative path is resolved as the executor will: against the recipe's folder.
      mounts: ['bind /srv/recipes/data → /data (read-only)', 'volume cache → /cache'],
      networks: ['backend'],
      privileges: ['docker-socket', 'host-sysctl'],
      action: { kind: 'run', name: 'web-template' },
    });
    expect(snap).toMatchObject({ action: { container: 'web-template' }, makesImage: 'demo/clone:v1' });
    expect(clones).toMatchObject({ usesImages: ['<image of step snap>'], networks: ['default'], action: { name: 'web', replicas: 3 } });
    expect(saved).toMatchObject({ usesImages: ['<image of step snap>'], action: { to: '/srv/recipes/out/clone.tar' } });
    expect(plan.privileges).toEqual([
      { privilege: 'docker-socket', steps: ['template'] },
      { privilege: 'host-sysctl', steps: ['template'] },
    ]);
  });

  it('shows a required variable that was not given, and lists it as missing', () => {
    const plan = planRecipe(parsed(CLONE), {});
    expect(plan.missing).toEqual(['data']);
    expect(plan.steps[1]!.mounts[0]).toBe('bind <data: not given> → /data (read-only)');
    expect(renderPlan(plan)).toContain('missing: --var data=VALUE');
  });

  it('renders every step, image and privilege as text', () => {
    const text = renderPlan(planRecipe(parsed(CLONE), { data: '/srv/data' }));
    for (const expected of [
      'recipe clone',
      'lock: clone-web',
      'privileges: docker-socket (step template); host-sysctl (step template)',
      '1. base (build)',
      '2. template (run) — the container to copy',
      '3. snap (commit)',
      '4. clones (run)',
      '5. saved (save)',
      'debian:12-slim',
      'demo/base:<content hash>',
      '<image of step base>',
      'demo/clone:v1',
      '<image of step snap>',
      'bind /srv/data → /data (read-only)',
      'keeps running as web-1 … web-3',
      'hostname:    {replica}.example.test',
      '/srv/recipes/out/clone.tar',
    ])
      expect(text).toContain(expected);
  });
});

describe('the DNS recipe plan', () => {
  const file = join(root, 'recipes/dns.recipe.yaml');
  const plan = planRecipe(parsed(readFileSync(file, 'utf8'), file), { zones: '/etc/dtool/zones.yaml', publish: '5353:53/udp,5353:53/tcp' });

  it('lists the two passes with their images, networks and ports', () => {
    expect(plan.steps.map((step) => [step.id, step.usesImages, step.makesImage ?? null, step.networks])).toEqual([
      ['base', [], 'helper image dns (tagged by content hash)', []],
      ['generate', ['<image of step base>'], null, ['none']],
      ['check', ['<image of step base>'], null, ['none']],
      ['server', ['<image of step base>'], 'dtool-dns/server:<content hash>', []],
      ['swap', ['<image of step server>'], null, ['bridge']],
      ['prune', [], null, []],
    ]);
    expect(plan.steps[4]!.publishes).toEqual(['5353:53/udp', '5353:53/tcp']);
    expect(plan.lock).toBe('dns-dtool-dns');
    expect(plan.privileges).toEqual([]);
  });

  it('renders as text naming every step, and as JSON data', () => {
    const text = renderPlan(plan);
    for (const id of ['base', 'generate', 'check', 'server', 'swap', 'prune']) expect(text).toMatch(new RegExp(`\\d\\. ${id} \\(`));
    expect(text).toContain('/in/zones.yaml ← file /etc/dtool/zones.yaml');
    expect(text).toContain('privileges: none');
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});
