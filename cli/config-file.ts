// The config file format of `mqpay broker --config FILE` and the agent commands: one
// `key = value` a line, keys spelled as the long options without the dashes (`http-port = 8080`
// is `--http-port 8080`), `#` starts a comment line, a value may be wrapped in double quotes.
// No sections, no escapes, no includes: what a systemd unit or a Raspberry Pi owner can read
// and write by hand. What the keys mean and which are allowed is checked by config-layers.ts.
import { readFileSync, statSync } from 'node:fs';
import { CONFIG_FILE_BYTES_MAX } from './limits.js';

/** Refused config files: one line naming the file (and the line), no stack trace. */
export class ConfigError extends Error {}

export interface ConfigEntry {
  readonly value: string;
  /** 1-based, for errors. */
  readonly line: number;
}

const ENTRY = /^([a-z][a-z0-9-]*)\s*=\s*(.*)$/;

/** Parses the text of a config file; `file` names it in errors. */
export function parseConfigText(text: string, file: string): Map<string, ConfigEntry> {
  const entries = new Map<string, ConfigEntry>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = ENTRY.exec(trimmed);
    if (match === null) throw new ConfigError(`${file} line ${line}: expected "key = value" (keys are option names such as http-port), got "${trimmed}"`);
    const [, key = '', rawValue = ''] = match;
    if (entries.has(key)) throw new ConfigError(`${file} line ${line}: "${key}" is already set on line ${entries.get(key)?.line}`);
    entries.set(key, { value: unquote(rawValue.trim()), line });
  });
  return entries;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** Reads and parses a config file (bounded in size: it is read whole). */
export function readConfigFile(path: string): Map<string, ConfigEntry> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (size > CONFIG_FILE_BYTES_MAX) throw new ConfigError(`config file ${path} is ${size} bytes; at most ${CONFIG_FILE_BYTES_MAX}`);
  return parseConfigText(readFileSync(path, 'utf8'), path);
}
