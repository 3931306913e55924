// The two forms a voucher or receipt arrives in (protocol v3): the binary frame of the `-bin`
// outbox boxes, the fast path, or the JSON of protocol v2 on `out/voucher` and `out/receipt`,
// deprecated: still accepted and answered in JSON through protocol v3, refused from v4
// (docs/PROTOCOL.md, "Binary frames"). Every JSON use is counted
// (mqpay_json_deprecated_messages_total) and logged once per device, so an operator sees which
// devices still need an update before v4.
import type { Logger } from 'pino';
import { DEPRECATED_FORM_LOGGED_DEVICES_MAX } from '../limits.js';
import type { Telemetry } from './telemetry.js';

export type WireForm = 'json' | 'binary';
export type DeprecatedBox = 'voucher' | 'receipt';

export class DeprecatedForms {
  private readonly logged = new Set<string>();

  constructor(private readonly telemetry: Telemetry, private readonly logger: Logger) {}

  note(device: string, box: DeprecatedBox): void {
    this.telemetry.emit({ kind: 'wire.json-deprecated', box });
    if (this.logged.has(device) || this.logged.size >= DEPRECATED_FORM_LOGGED_DEVICES_MAX) return;
    this.logged.add(device);
    this.logger.warn({ device, box }, `device uses the deprecated JSON out/${box} form (refused from protocol v4); binary frames go on out/${box}-bin`);
  }
}
