// THE route table. The router serves exactly these and the OpenAPI document describes exactly
// these (openapi.ts); a test checks that both agree.
import type { Route } from './route.js';
import { channelRoutes } from './routes-channels.js';
import { deviceLimitRoutes } from './routes-device-limits.js';
import { dashboardRoutes } from './routes-dashboard.js';
import { deviceRoutes } from './routes-devices.js';
import { ledgerRoutes } from './routes-ledger.js';
import { liveRoutes } from './routes-live.js';
import { settlementRoutes } from './routes-settlements.js';
import { siteRoutes } from './routes-site.js';
import { walletRoutes } from './routes-wallets.js';
import { outflowRoutes } from './routes-outflows.js';
import { exportRoutes } from './routes-export.js';

export const ROUTES: readonly Route[] = [...siteRoutes, ...deviceRoutes, ...deviceLimitRoutes, ...walletRoutes, ...outflowRoutes, ...exportRoutes, ...channelRoutes, ...settlementRoutes, ...ledgerRoutes, ...dashboardRoutes, ...liveRoutes];
