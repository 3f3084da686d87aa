import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** One Lua script, with its includes inlined, ready for SCRIPT LOAD. */
export interface LuaScript {
  /** name used to call it: the file name without the '-N.lua' key count */
  name: string;
  /** path relative to the lua/ folder, for error messages */
  file: string;
  numberOfKeys: number;
  lua: string;
}

const INCLUDE = /^---\s*@include\s+"([^"]+)"\s*$/gm;
const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)-(\d+)\.lua$/;

/**
 * The lua/ folder: beside dist/ when built, at the package root in the source
 * tree. Resolved from this file, not from the working directory, so the
 * service finds it however it is started.
 */
export const defaultLuaDir = () => resolve(__dirname, '..', '..', 'lua');

/** Replaces each `--- @include "includes/x"` line with lua/includes/x.lua, once per script. */
function inline(dir: string, source: string, seen: Set<string>, from: string): string {
  return source.replace(INCLUDE, (_line, includeName: string) => {
    if (seen.has(includeName)) return '';
    seen.add(includeName);
    const path = join(dir, `${includeName}.lua`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new Error(`${from}: included file ${includeName}.lua not found in ${dir}`);
    }
    return inline(dir, text, seen, from);
  });
}

/**
 * `source` with its `--- @include` lines inlined from `dir`, as every script
 * gets them (`from` names it in errors). For code that runs a piece of Lua of
 * its own, such as a test that runs an include.
 */
export function inlineIncludes(source: string, from: string, dir = defaultLuaDir()): string {
  return inline(dir, source, new Set(), from);
}

/**
 * Reads every script below `dir` except lua/includes/. The key count comes
 * from the file name (BullMQ's `addStandardJob-9.lua` convention).
 */
export function loadLuaScripts(dir = defaultLuaDir()): LuaScript[] {
  const scripts: LuaScript[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder).sort()) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'includes') walk(path);
        continue;
      }
      const match = FILE_NAME.exec(entry);
      if (!match) continue;
      const file = relative(dir, path);
      const lua = inlineIncludes(readFileSync(path, 'utf8'), file, dir);
      scripts.push({ name: match[1], file, numberOfKeys: Number(match[2]), lua });
    }
  };
  walk(dir);
  if (scripts.length === 0) {
    throw new Error(`no Lua scripts found in ${dir}: the lua/ folder must ship beside dist/`);
  }
  const names = new Set<string>();
  for (const s of scripts) {
    if (names.has(s.name)) throw new Error(`two Lua scripts are named ${s.name}`);
    names.add(s.name);
  }
  return scripts;
}
