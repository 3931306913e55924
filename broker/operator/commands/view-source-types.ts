// What a CLI view reads from, in its own module so that view-source.ts (which picks a source)
// and the two sources (view-source-api.ts, view-source-data.ts) import the type without
// importing each other.
import type { ChannelView, DeviceView, SettlementDetailView, WalletView } from '../http/resource-views.js';

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

export interface ViewPage<T> {
  readonly items: readonly T[];
  readonly nextOffset: number | null;
}

/** `online` is null when reading the data directory: only a running broker knows sessions. */
export type DeviceRowView = Omit<DeviceView, 'online'> & { readonly online: boolean | null };

export interface ViewSource {
  devices(page: PageRequest): Promise<ViewPage<DeviceRowView>>;
  wallets(page: PageRequest): Promise<ViewPage<WalletView>>;
  channels(page: PageRequest): Promise<ViewPage<ChannelView>>;
  /** Newest first, each with its lines. */
  settlements(page: PageRequest): Promise<ViewPage<SettlementDetailView>>;
  close(): void;
}
