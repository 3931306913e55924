// An agent's home directory: `agent.json` (configuration), `key` (the secret key, mode 0600)
// and `state.db` (the durable local state). `mqpay agent init` creates it; everything else
// reads it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MqpayError } from '../../shared/errors.js';
import { generateKeyPair, type KeyPair } from '../../shared/keys.js';
import type { RandomBytes } from '../../shared/ids.js';
import { parseAgentConfig, type AgentConfig, type AgentConfigInput } from './config.js';
import { readKeyFile, writeKeyFile } from './key-file.js';
import { openState } from '../store/open-state.js';

export const CONFIG_FILE = 'agent.json';
export const KEY_FILE = 'key';
export const STATE_FILE = 'state.db';
const HOME_DIR_MODE = 0o700;

export interface AgentHome {
  readonly path: string;
  readonly config: AgentConfig;
  readonly keys: KeyPair;
  readonly statePath: string;
}

export const statePathOf = (home: string): string => join(home, STATE_FILE);

/** Creates a home: key, configuration and an empty state database. Refuses an existing one. */
export function initAgentHome(input: { home: string; config: AgentConfigInput; random: RandomBytes }): AgentHome {
  const config = parseAgentConfig(input.config);
  mkdirSync(input.home, { recursive: true, mode: HOME_DIR_MODE });
  const configPath = join(input.home, CONFIG_FILE);
  if (existsSync(configPath)) throw new MqpayError('HOME_EXISTS', `${input.home} already holds an agent`);
  const keys = generateKeyPair(input.random);
  writeKeyFile(join(input.home, KEY_FILE), keys.secretKey);
  writeFileSync(configPath, `${JSON.stringify(input.config, null, 2)}\n`, { flag: 'wx' });
  openState(statePathOf(input.home)).close();
  return { path: input.home, config, keys, statePath: statePathOf(input.home) };
}

export function loadAgentHome(home: string): AgentHome {
  const configPath = join(home, CONFIG_FILE);
  if (!existsSync(configPath)) throw new MqpayError('DEVICE_UNKNOWN', `no agent in ${home} (run mqpay agent init)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    throw new MqpayError('MESSAGE_INVALID', `${configPath} is not JSON`);
  }
  const config = parseAgentConfig(json);
  return { path: home, config, keys: readKeyFile(join(home, KEY_FILE)), statePath: statePathOf(home) };
}
