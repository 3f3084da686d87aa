import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultLuaDir, loadLuaScripts } from './lua-loader';

/** Writes `files` (path relative to the folder -> text) into a fresh temporary lua/ folder. */
function luaFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'qg-lua-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('loadLuaScripts', () => {
  const made: string[] = [];
  const folder = (files: Record<string, string>) => {
    const dir = luaFolder(files);
    made.push(dir);
    return dir;
  };
  afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('inlines an include once per script, even when it is named twice or by another include', () => {
    const dir = folder({
      'includes/now.lua': 'local function nowMs() return 1 end\n',
      'includes/clock.lua': '--- @include "includes/now"\nlocal function later() return nowMs() + 1 end\n',
      'queue/tick-2.lua': '--- @include "includes/now"\n--- @include "includes/clock"\n--- @include "includes/now"\nreturn later()\n',
    });
    const [script] = loadLuaScripts(dir);
    expect(script.lua.match(/local function nowMs/g)).toHaveLength(1);
    expect(script.lua.match(/local function later/g)).toHaveLength(1);
    expect(script.lua).not.toMatch(/@include/);
    // nowMs comes before later(), which uses it.
    expect(script.lua.indexOf('function nowMs')).toBeLessThan(script.lua.indexOf('function later'));
  });

  it('gives each script its own copy of an include', () => {
    const dir = folder({
      'includes/now.lua': 'local function nowMs() return 1 end\n',
      'a/first-1.lua': '--- @include "includes/now"\nreturn nowMs()\n',
      'b/second-1.lua': '--- @include "includes/now"\nreturn nowMs()\n',
    });
    const scripts = loadLuaScripts(dir);
    expect(scripts.map((s) => s.name)).toEqual(['first', 'second']);
    for (const s of scripts) expect(s.lua).toContain('local function nowMs');
  });

  it('names the script and the include when an include is missing', () => {
    const dir = folder({ 'queue/join-7.lua': '--- @include "includes/nothere"\nreturn 1\n' });
    expect(() => loadLuaScripts(dir)).toThrow(/queue\/join-7\.lua: included file includes\/nothere\.lua not found/);
  });

  it('refuses a folder with no scripts, and one whose only files are includes or unnamed', () => {
    expect(() => loadLuaScripts(folder({}))).toThrow(/no Lua scripts found in/);
    const onlyIncludes = folder({ 'includes/now-1.lua': 'return 1\n', 'queue/README.md': 'x', 'queue/nocount.lua': 'return 1\n' });
    expect(() => loadLuaScripts(onlyIncludes)).toThrow(`no Lua scripts found in ${onlyIncludes}`);
  });

  it('reads the key count and the name from the file name, and the path relative to the folder', () => {
    const dir = folder({
      'seat/hold-10.lua': 'return 1\n',
      'event/updateEvent-1.lua': 'return 1\n',
      'queue/admit-0.lua': 'return 1\n',
    });
    expect(loadLuaScripts(dir).map(({ name, numberOfKeys, file }) => ({ name, numberOfKeys, file }))).toEqual([
      { name: 'updateEvent', numberOfKeys: 1, file: join('event', 'updateEvent-1.lua') },
      { name: 'admit', numberOfKeys: 0, file: join('queue', 'admit-0.lua') },
      { name: 'hold', numberOfKeys: 10, file: join('seat', 'hold-10.lua') },
    ]);
  });

  it('refuses two scripts with one name in different folders', () => {
    const dir = folder({ 'a/join-1.lua': 'return 1\n', 'b/join-2.lua': 'return 2\n' });
    expect(() => loadLuaScripts(dir)).toThrow(/two Lua scripts are named join/);
  });

  it('loads the shipped lua/ folder: every script has its includes inlined', () => {
    const scripts = loadLuaScripts(defaultLuaDir());
    expect(scripts.length).toBeGreaterThan(10);
    for (const s of scripts) {
      expect(s.lua).not.toMatch(/^---\s*@include/m);
      expect(s.file.startsWith('includes')).toBe(false);
    }
    expect(scripts.find((s) => s.name === 'join')).toMatchObject({ numberOfKeys: 13, file: join('queue', 'join-13.lua') });
  });
});
