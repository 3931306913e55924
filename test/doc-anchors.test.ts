// Every in-page link of the documents (`[text](#anchor)`) names a heading of the same document,
// by GitHub's rule for heading anchors, so a renamed section cannot leave dead links behind
// (docs/PROTOCOL.md's sequences link to the sections that define each message).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DOCUMENTS = ['docs/PROTOCOL.md', 'docs/DESIGN.md', 'README.md'];

/** The document without its fenced code blocks: a `#` line inside one is not a heading. */
function outsideFences(text: string): string {
  return text.split('```').filter((_, index) => index % 2 === 0).join('\n');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of outsideFences(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = (match[1] ?? '').trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('in-page links of the documents', () => {
  it('computes anchors as GitHub does', () => {
    const anchors = headingAnchors('## Requests (`out/rpc` -> `in/rpc`)\n### `in/voucher`\n## Pay\n## Pay\n```\n# not a heading\n```\n');
    expect([...anchors]).toEqual(['requests-outrpc---inrpc', 'invoucher', 'pay', 'pay-1']);
  });

  for (const document of DOCUMENTS) {
    it(`every [..](#anchor) in ${document} names one of its headings`, () => {
      const text = readFileSync(document, 'utf8');
      const anchors = headingAnchors(text);
      const links = [...outsideFences(text).matchAll(/\]\(#([^)\s]+)\)/g)].map((match) => match[1] ?? '');
      expect(links.filter((link) => !anchors.has(link))).toEqual([]);
    });
  }
});
