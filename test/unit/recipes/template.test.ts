// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} is the recipe syntax, not a JS placeholder.
import { describe, expect, it } from 'vitest';
import { fillReplica, scanTemplate, substitute, type TemplateResolver, usesReplica } from '../../../src/recipes/template.js';

const resolver: TemplateResolver = (reference) =>
  reference.kind === 'variable'
    ? ({ name: 'dtool-dns', zones: '/etc/zones.yaml' } as Record<string, string>)[reference.name]
    : `img-of-${reference.step}`;

describe('scanTemplate', () => {
  it('finds variables and step images, with or without spaces inside the braces', () => {
    expect(scanTemplate('dns-${{ name }}:${{steps.base.image}} ${{  zones  }}')).toEqual({
      references: [
        { kind: 'variable', text: '${{ name }}', name: 'name' },
        { kind: 'step', text: '${{steps.base.image}}', step: 'base', attribute: 'image' },
        { kind: 'variable', text: '${{  zones  }}', name: 'zones' },
      ],
      errors: [],
    });
  });

  it('leaves the shell and Dockerfile forms alone', () => {
    expect(scanTemplate('FROM $BASE\nRUN echo ${HOME} $${x} {replica} {{ name }}')).toEqual({ references: [], errors: [] });
  });

  it('names each malformed reference', () => {
    expect(scanTemplate('${{ }} ${{ steps.base }} ${{ steps.base.tag }} ${{ a b }} ${{ name').errors).toEqual([
      '${{ }}: empty reference',
      '${{ steps.base }}: a step reference is written ${{ steps.ID.image }}',
      '${{ steps.base.tag }}: a step has no "tag" (known: image)',
      '${{ a b }}: not a variable name or steps.ID.image',
      '${{ name: unclosed "${{" (close it with "}}")',
    ]);
  });
});

describe('substitute', () => {
  it('replaces every reference and keeps the rest', () => {
    expect(substitute('FROM $BASE # ${{ steps.base.image }} for ${{name}}', resolver)).toBe('FROM $BASE # img-of-base for dtool-dns');
  });

  it('substitutes once: a value holding ${{ }} stays as it is', () => {
    expect(substitute('${{ x }}', () => '${{ name }}')).toBe('${{ name }}');
  });

  it('refuses an unknown variable and a malformed reference', () => {
    expect(() => substitute('${{ nope }}', resolver)).toThrow('${{ nope }}: unknown variable "nope"');
    expect(() => substitute('${{ steps.x }}', resolver)).toThrow('a step reference is written');
    expect(() => substitute('x', resolver)).not.toThrow();
  });
});

describe('{replica}', () => {
  it('is the container name, and never part of a ${{ }} reference', () => {
    expect(fillReplica('{replica}.example.test', 'web-2')).toBe('web-2.example.test');
    expect(usesReplica('{replica}.x')).toBe(true);
    expect(usesReplica('${{replica}}')).toBe(false);
    expect(fillReplica('${{replica}}', 'web-2')).toBe('${{replica}}');
  });
});
