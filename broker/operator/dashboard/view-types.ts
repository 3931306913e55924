// The API's JSON shapes as the dashboard sees them: the same types the server builds its answers
// with (type-only imports, erased at build), so a renamed field breaks the dashboard's typecheck.
export type { ChannelView, DeviceView, LedgerView, SettlementView, WalletView } from '../http/resource-views.js';
export type { RateSample } from '../http/rate-sampler.js';

/** A settlement as the feed shows it: from GET /api/settlements or a live `settlement` event. */
export interface FeedItem {
  readonly id: string;
  readonly reason: string;
  readonly channels: number;
  readonly amount: string;
  readonly fee: string;
  readonly createdAtMs: number;
  readonly lines?: readonly { readonly account: string; readonly amount: string }[];
}

export type { AlarmsView, DeviceActivityView, SummaryView } from '../http/dashboard-views.js';
export type { OpsAlarm, OpsAlarms, AlarmCounts } from '../../../shared/ops-events.js';
