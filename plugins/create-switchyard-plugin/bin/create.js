#!/usr/bin/env node
'use strict';
// npm create switchyard-plugin <name> [--dir <folder>]
// Generates a plugin package: an options schema, two hook taps, a slot implementation, a
// README and a jest test on @switchyard/sdk/testing.
const fs = require('node:fs');
const path = require('node:path');

const own = require('../package.json');
const TEMPLATE = path.join(__dirname, '..', 'template');

function usage(code) {
  (code === 0 ? process.stdout : process.stderr).write(
    'usage: npm create switchyard-plugin <name> [-- --dir <folder>]\n' +
      '  <name>  a short name (request-id) or a package name (switchyard-plugin-request-id, @me/switchyard-plugin-x)\n',
  );
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) usage(0);
const dirAt = args.indexOf('--dir');
const dirArg = dirAt >= 0 ? args[dirAt + 1] : undefined;
const positional = args.filter((a, i) => !a.startsWith('-') && (dirAt < 0 || i !== dirAt + 1));
const raw = positional[0];
if (!raw) usage(2);

// "request-id" → package switchyard-plugin-request-id; a scoped or full name stays as given.
const pkgName = raw.startsWith('@') || raw.startsWith('switchyard-plugin-') ? raw : `switchyard-plugin-${raw}`;
if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(pkgName)) {
  process.stderr.write(`error: "${pkgName}" is not a valid npm package name\n`);
  process.exit(2);
}
const short = pkgName.replace(/^@[^/]+\//, '').replace(/^switchyard-plugin-/, '') || 'plugin';
const camel = short.replace(/[-._~]+([a-z0-9])/g, (_, c) => c.toUpperCase()).replace(/^[^a-zA-Z]+/, '') || 'plugin';
const pascal = camel[0].toUpperCase() + camel.slice(1);
const target = path.resolve(dirArg ?? pkgName.replace(/^@[^/]+\//, ''));

if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
  process.stderr.write(`error: ${target} exists and is not empty\n`);
  process.exit(1);
}

const values = {
  __PACKAGE__: pkgName,
  __NAME__: short,
  __CONFIG_KEY__: camel,
  __POLICY__: `${short}-first`,
  __POLICY_CLASS__: `${pascal}FirstPolicy`,
  __DESCRIPTION__: `A Switchyard plugin: ${short}.`,
  // The 0.x ranges that survive core minor releases (docs/plugin-authoring.md, "Versions").
  __CORE_RANGE__: own.switchyardRanges.core,
  __SDK_RANGE__: own.switchyardRanges.sdk,
  __FORWARDER_RANGE__: own.switchyardRanges.httpForwarder,
};
const fill = (text) => text.replace(/__[A-Z_]+__/g, (k) => (k in values ? values[k] : k));

const written = [];
(function copy(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    if (e.isDirectory()) {
      copy(src, path.join(to, e.name));
      continue;
    }
    // Templates end in .tmpl so neither this repo's tools nor npm treat them as real files;
    // gitignore is renamed because npm drops .gitignore files from packages.
    const name = e.name.replace(/\.tmpl$/, '').replace(/^gitignore$/, '.gitignore');
    const dest = path.join(to, name);
    fs.writeFileSync(dest, fill(fs.readFileSync(src, 'utf8')));
    written.push(path.relative(target, dest));
  }
})(TEMPLATE, target);

process.stdout.write(
  `Created ${pkgName} in ${target}:\n${written.sort().map((f) => `  ${f}`).join('\n')}\n\n` +
    `Next:\n  cd ${path.relative(process.cwd(), target) || '.'}\n  npm install\n  npm test\n  npm pack\n`,
);
