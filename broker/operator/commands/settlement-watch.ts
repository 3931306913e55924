// `mqpay settlements --watch`: prints each new settlement as it is committed, until told to stop
// (SIGINT or SIGTERM in the bin). Against a broker (--url) it follows the live-event stream; against a data directory
// it polls SQLite once a second for settlements recorded after the last one seen.
import { MqpayError } from '../../../shared/errors.js';
import { viewSettlementDetail, type SettlementDetailView } from '../http/resource-views.js';
import { openDatabase } from '../../store/sqlite/open-database.js';
import { lastSettlementSeq, settlementsAfter } from '../../store/sqlite/operator-reads.js';
import { settlementLines } from '../../store/sqlite/settle.js';
import { readSse } from './sse-reader.js';
import { apiCaller } from './view-source-api.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { WATCH_BATCH_MAX, WATCH_POLL_MS, WATCH_RECONNECT_MS } from '../../limits.js';

/** The command's stop as a promise and a flag the loops can test between waits. */
function stopOf(untilStopped: () => Promise<string>): { stopped: Promise<void>; isStopped: () => boolean } {
  let stopped = false;
  const promise = untilStopped().then(() => {
    stopped = true;
  });
  return { stopped: promise, isStopped: () => stopped };
}

/** What a watch reports besides settlements: readiness and lost streams (to stderr). */
export type WatchStatus = (line: string) => void;

export async function watchDataDir(dataDir: string, print: (settlement: SettlementDetailView) => void, status: WatchStatus, untilStopped: () => Promise<string>): Promise<void> {
  const db = openDatabase(dataDir, { readonly: true });
  const stop = stopOf(untilStopped);
  let seen = lastSettlementSeq(db);
  const currency = ledgerCurrency(db);
  status(`watching ${dataDir} for new settlements (Ctrl-C to stop)`);
  try {
    while (!stop.isStopped()) {
      for (const row of settlementsAfter(db, seen, WATCH_BATCH_MAX)) {
        seen = row.seq;
        print(viewSettlementDetail(row, settlementLines(db, row.id), currency));
      }
      await Promise.race([stop.stopped, new Promise((resolve) => setTimeout(resolve, WATCH_POLL_MS))]);
    }
  } finally {
    db.close();
  }
}

type Summary = Omit<SettlementDetailView, 'createdAt'>;

export async function watchBroker(base: string, token: string, print: (settlement: SettlementDetailView) => void, status: WatchStatus, untilStopped: () => Promise<string>): Promise<void> {
  const stop = stopOf(untilStopped);
  const abort = new AbortController();
  void stop.stopped.then(() => abort.abort());
  while (!stop.isStopped()) {
    try {
      const response = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: abort.signal });
      if (response.status === 401) throw new MqpayError('NOT_AUTHORIZED', 'the broker refused the operator token');
      if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
      // The ops summaries carry no currency: the ledger's, asked once per stream [docs/DESIGN.md rule 13].
      const { currency } = await apiCaller(base, token).get<{ currency: string }>('/api/ledger');
      status(`watching ${base} for new settlements (Ctrl-C to stop)`);
      for await (const event of readSse(response.body)) {
        if (event.event !== 'settlement') continue;
        const summary = JSON.parse(event.data) as Summary;
        print({ id: summary.id, reason: summary.reason, channels: summary.channels, amount: summary.amount, fee: summary.fee, currency, createdAt: new Date(summary.createdAtMs).toISOString(), createdAtMs: summary.createdAtMs, lines: summary.lines });
      }
    } catch (error) {
      if (stop.isStopped()) break;
      if (error instanceof MqpayError) throw error;
      status(`live stream lost (${(error as Error).message}); reconnecting`);
    }
    await Promise.race([stop.stopped, new Promise((resolve) => setTimeout(resolve, WATCH_RECONNECT_MS))]);
  }
}
