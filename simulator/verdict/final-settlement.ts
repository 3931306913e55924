// The last settlement of a run, made by the settlement service itself: after the broker process
// has stopped cleanly, the broker application is opened in-process on the same data directory
// (not listening) and asked to settle now, exactly as an operator's "settle now" would.
import { pino } from 'pino';
import { createBrokerApp } from '../../broker/app.js';
import { formatAmount } from '../../shared/amount.js';

export interface FinalSettlement {
  readonly id: string | null;
  readonly channels: number;
  readonly amount: string;
}

export async function settleFinally(dataDir: string, operatorToken: string): Promise<FinalSettlement> {
  const app = await createBrokerApp({ dataDir, operatorToken, mqttPort: 0, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) });
  try {
    const result = app.service.settleNow();
    return result === null ? { id: null, channels: 0, amount: '0' } : { id: result.id, channels: result.channelCount, amount: formatAmount(result.amount) };
  } finally {
    await app.close();
  }
}
