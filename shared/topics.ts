// MQTT 3.1.1 topic scheme. A device publishes only under its outbox and subscribes only to its
// inbox; only the service writes inboxes. Topics never carry wildcards from devices: the ACL
// compares them level by level against this scheme.
//   mqpay/v1/d/{device}/out/{voucher|receipt|rpc|offer|voucher-bin|receipt-bin|tick}   device -> service
//   mqpay/v1/d/{device}/in/{voucher|receipt|rpc|notice|voucher-bin|receipt-bin|tick}   service -> device
// The `-bin` boxes (protocol v3) carry the binary frames of shared/signed-frames.ts and
// shared/inbox-frames.ts; the JSON `voucher` and `receipt` boxes are deprecated (docs/PROTOCOL.md).
// `tick` (v3) carries binary frames: checkpoints and ticks out, ticks (payee) and verdicts (payer) in.
//   mqpay/v1/offers/{device}                              retained price offers, service-written
//   mqpay/v1/ops/{settlements|events}                     operator streams, read-only
import { isDeviceId } from './ids.js';
import { TOPIC_BYTES_MAX, TOPIC_LEVELS_MAX } from './limits.js';

export const TOPIC_ROOT = 'mqpay/v1';
export const OUTBOX_KINDS = ['voucher', 'receipt', 'rpc', 'offer', 'voucher-bin', 'receipt-bin', 'tick'] as const;
export const INBOX_KINDS = ['voucher', 'receipt', 'rpc', 'notice', 'voucher-bin', 'receipt-bin', 'tick'] as const;
export const OPS_STREAMS = ['settlements', 'events'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];
export type InboxKind = (typeof INBOX_KINDS)[number];
export type OpsStream = (typeof OPS_STREAMS)[number];

export const outboxTopic = (device: string, kind: OutboxKind): string => `${TOPIC_ROOT}/d/${device}/out/${kind}`;
export const inboxTopic = (device: string, kind: InboxKind): string => `${TOPIC_ROOT}/d/${device}/in/${kind}`;
/** A device's whole inbox (`#`): allowed by the embedded broker, refused in the cluster (v3.1, docs/PROTOCOL.md). */
export const inboxFilter = (device: string): string => `${TOPIC_ROOT}/d/${device}/in/#`;
/**
 * What a device subscribes to (v3.1): every box of its inbox, one level (`+`). Inbox topics have one
 * level after `in`, so it reaches the same messages as `#`, and unlike `#` it stays inside the
 * device's own inbox when a broker turns the dots of device ids into levels (RabbitMQ: `cam`'s
 * `in.#` would also match the routing keys of a device `cam.in.2`).
 */
export const inboxBoxesFilter = (device: string): string => `${TOPIC_ROOT}/d/${device}/in/+`;

/** The filters whose subscription reaches `device`'s receipts: `in/#`, `in/+` and `in/receipt-bin` itself. */
export const receiptReachingFilters = (device: string): readonly string[] => [inboxFilter(device), inboxBoxesFilter(device), inboxTopic(device, 'receipt-bin')];
export const offerTopic = (device: string): string => `${TOPIC_ROOT}/offers/${device}`;
export const opsTopic = (stream: OpsStream): string => `${TOPIC_ROOT}/ops/${stream}`;
/** What the service subscribes to when it runs on an external broker (shared subscription). */
export const OUTBOX_FILTER = `${TOPIC_ROOT}/d/+/out/+`;

export type ParsedTopic =
  | { readonly kind: 'outbox'; readonly device: string; readonly box: OutboxKind }
  | { readonly kind: 'inbox'; readonly device: string; readonly box: InboxKind }
  | { readonly kind: 'offer'; readonly device: string }
  | { readonly kind: 'ops'; readonly stream: OpsStream };

function isOneOf<T extends string>(list: readonly T[], value: string | undefined): value is T {
  return value !== undefined && (list as readonly string[]).includes(value);
}

/** Parses a concrete topic (no wildcards); null for anything outside the scheme. */
export function parseTopic(topic: string): ParsedTopic | null {
  if (typeof topic !== 'string' || topic.length > TOPIC_BYTES_MAX) return null;
  const levels = topic.split('/');
  if (levels.length > TOPIC_LEVELS_MAX || levels[0] !== 'mqpay' || levels[1] !== 'v1') return null;
  const [, , area, a, b, c] = levels;
  if (area === 'd' && levels.length === 6 && isDeviceId(a)) {
    if (b === 'out' && isOneOf(OUTBOX_KINDS, c)) return { kind: 'outbox', device: a, box: c };
    if (b === 'in' && isOneOf(INBOX_KINDS, c)) return { kind: 'inbox', device: a, box: c };
    return null;
  }
  if (area === 'offers' && levels.length === 4 && isDeviceId(a)) return { kind: 'offer', device: a };
  if (area === 'ops' && levels.length === 4 && isOneOf(OPS_STREAMS, a)) return { kind: 'ops', stream: a };
  return null;
}

/**
 * A topic as a device receives it, which may come from a broker that turned the dots of device
 * ids into topic levels: RabbitMQ 3.10's MQTT plugin maps every `/` of a topic to `.` in its AMQP
 * routing key and every `.` back to `/` on delivery, so `mqpay/v1/d/car.1/in/rpc` arrives as
 * `mqpay/v1/d/car/1/in/rpc` (docs/PROTOCOL.md "Transport and topics"). The scheme's fixed levels
 * around the device id make it unambiguous: read as the topic it was published to. Only for what
 * a client receives; the ACL parses with the strict `parseTopic`.
 */
export function parseDeliveredTopic(topic: string): ParsedTopic | null {
  const exact = parseTopic(topic);
  if (exact !== null || typeof topic !== 'string' || topic.length > TOPIC_BYTES_MAX) return exact;
  const levels = topic.split('/');
  if (levels[0] !== 'mqpay' || levels[1] !== 'v1') return null;
  if (levels[2] === 'd' && levels.length > 6) return parseTopic([...levels.slice(0, 3), levels.slice(3, -2).join('.'), ...levels.slice(-2)].join('/'));
  if (levels[2] === 'offers' && levels.length > 4) return parseTopic(`${TOPIC_ROOT}/offers/${levels.slice(3).join('.')}`);
  return null;
}
