// Builds the operator console (SPEC §4a) into static files the edge serves at /console:
// src/console/main.tsx bundled by esbuild (Preact included, minified; the phone's SIP stack in a
// chunk of its own, loaded only when the edge has a phone), next to the page and its
// stylesheet copied as they are. Run by `npm run build` (into dist/console) and by the console's
// tests and screenshot script (into a directory of their own). Nothing is built at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const SOURCE = fileURLToPath(new URL('../src/console/', import.meta.url));
/** Served as they are. */
const STATIC_FILES = ['index.html', 'console.css', 'icon.svg'];

export async function buildConsole(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { console: join(SOURCE, 'main.tsx') },
    outdir: outDir,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  for (const f of STATIC_FILES) copyFileSync(join(SOURCE, f), join(outDir, f));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? 'dist/console';
  await buildConsole(out);
  process.stdout.write(`console built into ${out}\n`);
}
