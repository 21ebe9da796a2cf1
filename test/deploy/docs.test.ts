// What README.md and docs/*.md show an operator, checked as written: every YAML snippet parses
// (and the edge-configuration ones pass the config schema), every XML snippet is well-formed, every
// INI snippet (Asterisk) is sections and key=value / key => value lines, every repository path they
// name exists, every link to another doc lands on a heading that exists, and the README's test
// command is .ci/run's. The INI check is hand-written: npm's INI parsers accept anything.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { baseConfigObject } from '../helpers/config.js';
import { read, ROOT } from './tools.js';

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Fenced blocks of a language, also those indented inside a list item (the indent removed). */
function blocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp(`^( *)\`\`\`${lang}\\n([\\s\\S]*?)^\\1\`\`\``, 'gm'))].map((m) => {
    const indent = (m[1] as string).length;
    return (m[2] as string)
      .split('\n')
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
  });
}

const SECTIONS = new Set(['drachtio', 'redis', 'http', 'telnyx', 'whatsapp', 'media', 'sip', 'log', 'trunks', 'devices', 'numbers']);
// A snippet's ${VAR}: a placeholder for any variable (docs name secrets that way), a real value where the format matters.
const KNOWN: Record<string, string> = { WA_BUSINESS_NUMBER: '+447418613982', PBX_SOURCE_CIDR: '203.0.113.10/32' };
const ENV = new Proxy(KNOWN, { get: (known, name) => (typeof name === 'string' ? (known[name] ?? 'doc-placeholder-0123456789') : undefined) }) as NodeJS.ProcessEnv;

/** Problems of an Asterisk-style INI text: every line a [section], key=value or key => value. */
function iniProblems(text: string): string[] {
  const problems: string[] = [];
  let section = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\s;.*$|^;.*$/, '').trim();
    if (line === '') continue;
    if (/^\[[^\]\s]+\](\([^)]*\))?$/.test(line)) section = true;
    else if (!section) problems.push(`line ${i + 1}: before any [section]: ${raw}`);
    else if (!/^[A-Za-z_][\w.-]*\s*(=>|=)\s*\S/.test(line)) problems.push(`line ${i + 1}: not key=value: ${raw}`);
  }
  return problems;
}

/** GitHub's heading anchors of a Markdown file. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add((m[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return out;
}

describe.each(DOCS)('%s', (doc) => {
  const text = read(doc);

  it('every YAML snippet parses, and each edge-configuration one passes the schema', () => {
    for (const block of blocks(text, 'ya?ml')) {
      const parsed = parseYaml(block) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
      const keys = Object.keys(parsed);
      if (keys.length > 0 && keys.every((k) => SECTIONS.has(k))) {
        expect(() => parseConfig(stringify(baseConfigObject(parsed as Record<string, unknown>)), doc, ENV), block).not.toThrow();
      }
    }
  });

  it('every XML snippet is well-formed', () => {
    for (const block of blocks(text, 'xml')) expect(XMLValidator.validate(block), block).toBe(true);
  });

  it('every INI snippet is [sections] of key=value lines', () => {
    for (const block of blocks(text, 'ini')) expect(iniProblems(block), block).toEqual([]);
  });

  it('every repository path it names exists', () => {
    const named = new Set<string>();
    for (const m of text.matchAll(/(?<=^|[\s`([])((?:src|test|docs|config|docker|deploy|scripts|bench|\.ci)\/[A-Za-z0-9_./-]*[A-Za-z0-9_])/gm)) named.add(m[1] as string);
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue; // a URL
      named.add(join(doc.includes('/') ? doc.slice(0, doc.lastIndexOf('/')) : '.', target));
    }
    // ../shared/SPEC.md is the contract beside the checkout, not a file of the repository.
    const missing = [...named].filter((p) => !p.startsWith('../') && !existsSync(join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('every link to a heading of a doc lands on one', () => {
    for (const m of text.matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
      const target = (m[1] as string) === '' ? doc : join(doc.includes('/') ? doc.slice(0, doc.lastIndexOf('/')) : '.', m[1] as string);
      expect(anchors(read(target)), `${doc} → ${target}#${m[2]}`).toContain(m[2]);
    }
  });
});

describe('one source for each fact', () => {
  it('the PBX snippets live in docs/quickstart.md only', () => {
    for (const doc of DOCS.filter((d) => d !== 'docs/quickstart.md')) {
      expect(read(doc), doc).not.toMatch(/^\[wa-edge\]$|<gateway name="wa-edge">/m);
    }
    const quick = read('docs/quickstart.md');
    expect(quick).toContain('outbound_auth=wa-edge-auth');
    expect(quick).toContain('<param name="caller-id-in-from" value="false"/>');
    expect(quick).toContain('PJSIP/+447911123456@wa-edge');
    expect(quick).toContain('sofia/gateway/wa-edge/+447911123456');
  });

  it('the README test command is .ci/run, which only adds DRACHTIO_SOURCE handling', () => {
    const readme = read('README.md');
    const command = /^(apt-get update -qq && .*npm test)$/m.exec(readme)?.[1];
    expect(command).toBeDefined();
    const ci = read('.ci/run').trim().split('\n');
    expect(ci.at(-1)).toBe(command);
    for (const pkg of ['linphone-cli', 'redis-sentinel', 'sip-tester', 'baresip-core', 'rtpengine-daemon', 'kamailio-tls-modules', 'chromium', 'sipvicious']) expect(command).toContain(` ${pkg} `);
  });

  it('the Node.js line of the README and of the quick start is the same', () => {
    const line = /apt-get update && apt-get install -y curl ca-certificates && curl -fsSL https:\/\/deb\.nodesource\.com\/setup_\d+\.x \| bash - && apt-get install -y nodejs/;
    const a = line.exec(read('README.md'))?.[0];
    expect(a).toBeDefined();
    expect(line.exec(read('docs/quickstart.md'))?.[0]).toBe(a);
  });
});
