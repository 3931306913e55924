// Which service key signs the channel certificates this agent believes. A key pinned in the
// configuration wins; otherwise the first key a channel.open answer names is stored and trusted
// from then on (trust on first use), and a different key later is an error, not an update.
import { decodeCertificate, type ChannelCertificate } from '../../shared/certificate.js';
import { verify } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hex.js';
import { PUBLIC_KEY_BYTES } from '../../shared/limits.js';
import type { StateDb } from '../store/open-state.js';
import { statement } from '../store/statement.js';

const SERVICE_KEY_META = 'service_public_key';
/** The ledger currency, as the latest certificate named it (shown by `agent status`). */
export const LEDGER_CURRENCY_META = 'ledger_currency';

// Small named values of the agent's state (the meta table): the trusted service key, the ledger currency.
export function getMeta(db: StateDb, key: string): string | null {
  const row = statement(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row === undefined ? null : row.value;
}

function setMeta(db: StateDb, key: string, value: string): void {
  statement(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

export class ServiceKeyTrust {
  private key: Uint8Array | null;

  /** `currency`: the one this device is configured to pay in, if any [docs/DESIGN.md rule 13]. */
  constructor(private readonly db: StateDb, pinnedHex: string | undefined, private readonly currency?: string) {
    const stored = getMeta(db, SERVICE_KEY_META);
    const pinned = pinnedHex === undefined ? null : fromHex(pinnedHex, PUBLIC_KEY_BYTES);
    if (pinned !== null && stored !== null && stored !== toHex(pinned)) {
      throw new MqpayError('KEY_INVALID', 'the pinned service key differs from the one this agent already trusts');
    }
    this.key = pinned ?? (stored === null ? null : fromHex(stored, PUBLIC_KEY_BYTES));
  }

  get known(): Uint8Array | null {
    return this.key;
  }

  /** Records the key a service presented; throws if it is not the one already trusted. */
  learn(hex: string): void {
    const presented = fromHex(hex, PUBLIC_KEY_BYTES);
    if (this.key !== null) {
      if (!bytesEqual(this.key, presented)) throw new MqpayError('KEY_INVALID', 'the service presented a key other than the trusted one');
      return;
    }
    setMeta(this.db, SERVICE_KEY_META, toHex(presented));
    this.key = presented;
  }

  /** Decodes a certificate after checking the service's signature over its bytes. */
  checkCertificate(bytes: Uint8Array, signature: Uint8Array): ChannelCertificate {
    if (this.key === null) throw new MqpayError('KEY_INVALID', 'the service key is not known yet; pin servicePublicKey in agent.json');
    if (!verify(signature, bytes, this.key)) throw new MqpayError('SIGNATURE_INVALID', 'channel certificate is not signed by the trusted service key');
    const certificate = decodeCertificate(bytes);
    this.checkCurrency(certificate.currency);
    return certificate;
  }

  /**
   * A device configured for one currency takes no channel in another: it refuses before it signs
   * a voucher against it (payer) or accepts one (payee). Unconfigured, it takes the ledger's.
   */
  private checkCurrency(currency: string): void {
    // Recorded even when refused, so the next channel is refused before its deposit is escrowed.
    if (getMeta(this.db, LEDGER_CURRENCY_META) !== currency) setMeta(this.db, LEDGER_CURRENCY_META, currency);
    this.refuseKnownMismatch();
  }

  /** CURRENCY_MISMATCH when the ledger is known to keep another currency than the configured one. */
  refuseKnownMismatch(): void {
    const ledger = getMeta(this.db, LEDGER_CURRENCY_META);
    if (this.currency !== undefined && ledger !== null && ledger !== this.currency) {
      throw new MqpayError('CURRENCY_MISMATCH', `${ledger}; this agent pays in ${this.currency} (agent.json currency)`);
    }
  }
}
