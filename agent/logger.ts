// pino for the agent's command-line edge, to stderr (stdout carries command output). Amounts
// are logged as strings by the callers; keys, signatures and passwords are redacted here as a
// second line of defence.
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createAgentLogger(level: string, device: string): Logger {
  return pino({
    name: 'mqpay-agent', level, base: { device },
    redact: { paths: ['secretKey', 'password', 'signature', 'key', '*.secretKey', '*.password', '*.signature'], remove: true },
  }, pino.destination(2));
}
