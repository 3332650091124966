// Bundle bpmn-auto-layout (an ES-module-only library) for the browser.
//
// Output: an IIFE that sets window.BpmnAutoLayout = { layoutProcess },
// where layoutProcess(xml: string) -> Promise<string> (BPMN XML with DI).
//
// Usage: node scripts/build_autolayout.mjs [--format=iife|cjs|esm] [outfile]
// Defaults to iife -> webapp/static/vendor/bpmn-auto-layout/bpmn-auto-layout.js.
// Uses only the esbuild installed in node_modules (npm ci); downloads nothing.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const formatArg = args.find((a) => a.startsWith('--format='));
const format = formatArg ? formatArg.slice('--format='.length) : 'iife';
const outfile = resolve(
  args.find((a) => !a.startsWith('--')) ??
    resolve(root, 'webapp/static/vendor/bpmn-auto-layout/bpmn-auto-layout.js'),
);

if (!['iife', 'cjs', 'esm'].includes(format)) {
  console.error(`unknown --format=${format} (expected iife, cjs or esm)`);
  process.exit(2);
}

const pkg = JSON.parse(
  readFileSync(resolve(root, 'node_modules/bpmn-auto-layout/package.json'), 'utf8'),
);

await build({
  stdin: {
    contents: "export { layoutProcess } from 'bpmn-auto-layout';\n",
    resolveDir: root,
    sourcefile: 'bpmn-auto-layout-entry.js',
    loader: 'js',
  },
  bundle: true,
  format,
  globalName: format === 'iife' ? 'BpmnAutoLayout' : undefined,
  platform: format === 'iife' ? 'browser' : 'node',
  target: ['es2020'],
  minify: true,
  legalComments: 'eof',
  banner: {
    js:
      `/*! bpmn-auto-layout ${pkg.version} (MIT, bpmn.io) with bpmn-moddle, moddle, ` +
      'moddle-xml, saxen, min-dash (MIT); built by scripts/build_autolayout.mjs */',
  },
  outfile,
  logLevel: 'warning',
});

console.log(`built ${relative(process.cwd(), outfile) || outfile} (${format})`);
