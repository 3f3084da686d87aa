#!/usr/bin/env node
// Part of `npm run build`: copies the waiting room's static files from web/
// into dist/public/, next to the ES modules `tsc -p web/tsconfig.json` wrote
// (app.js, the entry index.html loads, and the api/ and views/ modules it imports).
// It lives in web/ (not scripts/) because the Docker build context leaves
// scripts/ out and runs `npm run build`.
const { copyFileSync, mkdirSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const out = join(root, 'dist', 'public');
mkdirSync(out, { recursive: true });
for (const file of ['index.html', 'queue-it.html', 'styles.css', 'favicon.svg']) {
  copyFileSync(join(root, 'web', file), join(out, file));
}
