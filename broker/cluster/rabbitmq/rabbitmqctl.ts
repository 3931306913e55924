// Runs `rabbitmqctl -n NODE ...` against one of our nodes. Each call boots an Erlang VM (1-2 s of
// CPU), so the cluster code calls it only where nothing cheaper says the same (join_cluster).
import { execFile } from 'node:child_process';
import { RABBITMQCTL_TIMEOUT_MS } from '../../limits.js';
import { RABBITMQCTL_BIN, rabbitCtlEnv, type RabbitNodePaths } from './rabbit-env.js';

export function rabbitmqctl(paths: RabbitNodePaths, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(RABBITMQCTL_BIN, ['-n', paths.nodeName, ...args], { env: rabbitCtlEnv(paths), timeout: RABBITMQCTL_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl ${args.join(' ')} on ${paths.nodeName} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}
