// `mqpay worker --http-port` refuses to start without the operator token (an operator API nobody
// can use, or worse, one guarded by an empty token), before it connects anywhere; --help lists it.
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/ops-cli.js';
import { tempDir } from './helpers/broker-fixture.js';

describe('mqpay worker --http-port', () => {
  it('is listed by --help and needs $MQPAY_OPERATOR_TOKEN', async () => {
    const help = await runCli(['worker', '--help']);
    expect(help.stdout).toMatch(/--http-port HTTP_PORT +serve the operator API and dashboard/);
    const dir = tempDir('mqpay-worker-http-');
    try {
      const args = ['worker', '--amqp', 'amqp://127.0.0.1:1', '--store', dir.path, '--service-key', `${dir.path}/service.key`, '--http-port', '0'];
      for (const token of [undefined, '']) {
        const run = await runCli(args, { MQPAY_OPERATOR_TOKEN: token });
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/--http-port needs the operator token in \$MQPAY_OPERATOR_TOKEN/);
      }
      const badPort = await runCli([...args.slice(0, -1), '70000'], { MQPAY_OPERATOR_TOKEN: 'a-token-for-this-test' });
      expect([badPort.code, badPort.stderr]).toEqual([2, expect.stringMatching(/--http-port must be between 0 and 65535/)]);
    } finally {
      dir.remove();
    }
  });
});
