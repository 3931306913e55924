// The TLS settings of agent.json turned into what the link needs: the broker CA and pin as
// stored, the device's own certificate and key read from their files (relative to the home).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MqpayError } from '../../shared/errors.js';
import type { LinkTls } from '../link/link-stream.js';
import type { AgentHome } from './home.js';

function readPem(home: string, file: string, what: string): string {
  try {
    return readFileSync(resolve(home, file), 'utf8');
  } catch (error) {
    throw new MqpayError('MESSAGE_INVALID', `cannot read the ${what} ${file} named in agent.json: ${(error as Error).message}`);
  }
}

export function linkTlsOf(home: AgentHome): LinkTls | undefined {
  const tls = home.config.tls;
  if (tls === undefined) return undefined;
  return {
    ...(tls.brokerCa === undefined ? {} : { ca: tls.brokerCa }),
    ...(tls.brokerCertSha256 === undefined ? {} : { certSha256: tls.brokerCertSha256 }),
    ...(tls.clientCertFile === undefined ? {} : { cert: readPem(home.path, tls.clientCertFile, 'client certificate') }),
    ...(tls.clientKeyFile === undefined ? {} : { key: readPem(home.path, tls.clientKeyFile, 'client key') }),
  };
}
