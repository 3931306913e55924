// `mqpay agent rotate-key --home DIR`: replaces the device's key [docs/DESIGN.md rule 12]. The new
// key is written to the home (key.pending) before the request goes out; the old one stays until
// the service confirms. Interrupted midway, the next start of the agent finishes the switch.
import { integerOption, requirePath, type Command } from '../../cli/command.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import { readPendingRotation } from '../home/pending-rotation.js';
import { PAY_TIMEOUT_MS_DEFAULT, PAY_TIMEOUT_MS_MAX } from '../limits.js';
import { brokerOptions, commandLogger, connectionOf, homeOption } from './options.js';

export const rotateKeyCommand: Command = {
  name: ['agent', 'rotate-key'],
  summary: 'replace this device\'s key: the service re-issues its open channels\' certificates; old-key vouchers and tokens are refused from then on',
  positionals: [],
  options: {
    ...homeOption,
    ...brokerOptions,
    'timeout-ms': { type: 'string', description: 'how long to wait for the broker and its answer', default: String(PAY_TIMEOUT_MS_DEFAULT) },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run(input) {
    const home = requirePath(input, 'home');
    const timeoutMs = integerOption(input, 'timeout-ms', 1, PAY_TIMEOUT_MS_MAX) ?? PAY_TIMEOUT_MS_DEFAULT;
    const logger = commandLogger(input, loadAgentHome(home).config.device);
    const agent = await createAgent({ home, ...connectionOf(input, home), logger, connectWaitMs: timeoutMs, requestTimeoutMs: timeoutMs });
    try {
      const before = agent.publicKey;
      const result = await agent.rotateKey();
      if (input.values.json === true) input.stdout(JSON.stringify({ device: agent.device, previousPublicKey: before, ...result }));
      else input.stdout(`rotated the key of ${agent.device}: public key ${result.publicKey} (was ${before}); ${result.certificates} channel certificate(s) re-issued`);
      return 0;
    } catch (error) {
      if (readPendingRotation(home) !== null) input.stderr('the new key is kept in the home as pending: the next start of the agent (connected) finishes the rotation');
      throw error;
    } finally {
      await agent.stop();
    }
  },
};
