// pino for the agent's command-line edge, to stderr (stdout carries command output). Amounts
// are logged as strings by the callers; keys, signatures and passwords are redacted here as a
// second line of defence.
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `destination`: fd 2 by default; the CLI passes its own stderr (commands also run in-process). */
export function createAgentLogger(level: string, device: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({
    name: 'mqpay-agent', level, base: { device },
    redact: { paths: ['secretKey', 'password', 'signature', 'key', '*.secretKey', '*.password', '*.signature'], remove: true },
  }, destination);
}
