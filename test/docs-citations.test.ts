// Comments cite only documents in the repository, and only what those documents hold: every
// `docs/DESIGN.md rule N` names a rule heading of docs/DESIGN.md, every `docs/DESIGN.md "Section"`
// one of its section headings (and `docs/PROTOCOL.md "Section"` one of PROTOCOL.md's), every
// `docs/<file>` a file that exists, and no comment cites a design document by a bare name
// ("DESIGN rule 5") that a reader could not open. The other way round too: every repository path
// that the README or docs/DESIGN.md names exists, so the documents cannot drift from the tree.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve('.');
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'test-output']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(join(dir, entry.name));
    return entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [];
  });
}

const design = readFileSync(join(ROOT, 'docs/DESIGN.md'), 'utf8');
const headings = [...design.matchAll(/^#{2,4} (.+)$/gm)].map((match) => (match[1] ?? '').trim());
/** "Rule 5. Persist before acknowledge" -> 5. */
const ruleNumbers = new Set(headings.flatMap((heading) => {
  const match = /^Rule (\d+)\./.exec(heading);
  return match === null ? [] : [Number(match[1])];
}));

interface Citation {
  readonly where: string;
  readonly text: string;
}

/** Every match of `pattern` in the .ts files (this test's own file excluded: it quotes the forms). */
function citations(pattern: RegExp): (Citation & { groups: string[] })[] {
  const self = resolve('test/docs-citations.test.ts');
  return sourceFiles(ROOT).filter((file) => file !== self).flatMap((file) => {
    const lines = readFileSync(file, 'utf8').split('\n');
    return lines.flatMap((line, index) => [...line.matchAll(pattern)].map((match) => ({
      where: `${relative(ROOT, file)}:${index + 1}`,
      text: match[0],
      groups: match.slice(1).map((group) => group ?? ''),
    })));
  });
}

describe('document citations in comments', () => {
  it('docs/DESIGN.md numbers its rules 1-16', () => {
    expect([...ruleNumbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('every `docs/DESIGN.md rule N` names a rule that exists', () => {
    const found = citations(/docs\/DESIGN\.md rules? (\d+)/g);
    expect(found.length).toBeGreaterThan(5);
    const missing = found.filter((citation) => !ruleNumbers.has(Number(citation.groups[0])));
    expect(missing.map((c) => `${c.where} ${c.text}`)).toEqual([]);
  });

  it('every `docs/DESIGN.md "Section"` names a section heading that exists', () => {
    const found = citations(/docs\/DESIGN\.md "([^"]+)"/g);
    expect(found.length).toBeGreaterThan(3);
    const missing = found.filter((citation) => !headings.includes(citation.groups[0] ?? ''));
    expect(missing.map((c) => `${c.where} ${c.text}`)).toEqual([]);
  });

  it('no comment cites the design by a bare name', () => {
    const bare = citations(/(?<![\w/.-])DESIGN(?:\.md)?(?: rules?|:)\s*["\d]/g);
    expect(bare.map((c) => `${c.where} ${c.text}`)).toEqual([]);
  });

  it('every `docs/PROTOCOL.md "Section"` names a heading of docs/PROTOCOL.md', () => {
    const protocol = readFileSync(join(ROOT, 'docs/PROTOCOL.md'), 'utf8');
    const protocolHeadings = [...protocol.matchAll(/^#{1,4} (.+)$/gm)].map((match) => (match[1] ?? '').trim());
    const found = citations(/docs\/PROTOCOL\.md,? "([^"]+)"/g);
    const missing = found.filter((citation) => !protocolHeadings.includes(citation.groups[0] ?? ''));
    expect(missing.map((c) => `${c.where} ${c.text}`)).toEqual([]);
  });

  it('every file under docs/ that a comment names exists', () => {
    const found = citations(/\bdocs\/([\w.-]+\.[a-z]+)/g);
    const missing = found.filter((citation) => !existsSync(join(ROOT, 'docs', citation.groups[0] ?? '')));
    expect(missing.map((c) => `${c.where} ${c.text}`)).toEqual([]);
  });

  it('every repository path that README.md and docs/DESIGN.md name in code spans exists', () => {
    const topFolders = /^(shared|broker|agent|simulator|sqlite|cli|bin|docs|test|bench|scripts)\/[\w./-]*$/;
    const missing = ['README.md', 'docs/DESIGN.md'].flatMap((doc) => {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      return [...text.matchAll(/`([^`\s]+)`/g)]
        .map((match) => match[1] ?? '')
        .filter((path) => topFolders.test(path) && !existsSync(join(ROOT, path)))
        .map((path) => `${doc}: ${path}`);
    });
    expect(missing).toEqual([]);
  });
});
