// pino at the edges only. Amounts are logged as strings; keys and signatures never.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, name = 'mqpay'): Logger {
  return pino({ name, level, redact: { paths: ['secretKey', 'password', 'signature', '*.secretKey', '*.password'], remove: true } }, pino.destination(2));
}
