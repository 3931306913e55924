// Operator commands that write or audit the ledger: enrol devices, fund wallets, audit the
// ledger, export a channel's evidence (the list views are in view-commands.ts). Each acts on the
// data directory (--data: SQLite WAL; the broker reads devices and balances from the database on
// each use, so it sees the change at once) or on a running broker (--url: its operator API does
// the write in one unit of work); view-source.ts picks which.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../../shared/hex.js';
import { systemRandom } from '../../app.js';
import { loadOrCreateServiceKey } from '../../service-key.js';
import { formatAmount, parseAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { publicKeyFromHex } from '../../../shared/keys.js';
import { requirePath, requireString, UsageError, type Command, type CommandInput } from '../../../cli/command.js';
import { checkCurrencyCode, DEFAULT_CURRENCY } from '../../../shared/currency.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { auditLedger } from '../../store/sqlite/audit.js';
import { auditPostgresAt } from '../../store/postgres/audit.js';
import { storeKindOf } from '../../store/open-store.js';
import { channelEvidence, type ChannelEvidence } from '../../store/sqlite/evidence.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import { addDevice } from '../../store/sqlite/devices.js';
import { normalCertificateSha256, recordDeviceCertificate } from '../../store/sqlite/device-certificates.js';
import { fundWallet } from '../../store/sqlite/ledger.js';
import { DATABASE_FILE } from '../../store/sqlite/open-database.js';
import { viewAudit, type AuditView } from '../http/resource-views.js';
import { withLedger } from './view-source-data.js';
import { adminSourceOptions, onSource } from './view-source.js';
import { journalDirOf } from '../../store/sqlite/restore-record.js';
import { appendJournal } from '../../backup/operator-journal.js';

const currencyOption = {
  currency: { type: 'string', description: `ISO 4217 code a new ledger keeps for ever (default ${DEFAULT_CURRENCY}); an existing ledger must already keep it` },
} as const;

/** --currency when given (checked), for a ledger about to be created or checked. */
function currencyOf(input: CommandInput): { currency?: string } {
  const value = input.values.currency;
  return typeof value === 'string' ? { currency: checkCurrencyCode(value) } : {};
}

export const deviceAddCommand: Command = {
  name: ['device', 'add'],
  summary: 'enrol a device with its ed25519 public key',
  positionals: ['NAME'],
  options: {
    ...adminSourceOptions,
    'public-key': { type: 'string', description: '32-byte public key, 64 hex characters' },
    'cert-sha256': { type: 'string', description: 'record the device\'s TLS client certificate (SHA-256); with --tls-client-ca only that certificate is accepted' },
    init: { type: 'boolean', description: 'with --data: create the ledger if there is none yet (otherwise a missing ledger is an error)' },
    ...currencyOption,
  },
  async run(input) {
    const [name = ''] = input.positionals;
    const publicKeyHex = requireString(input, 'public-key');
    const publicKey = publicKeyFromHex(publicKeyHex);
    const certificate = input.values['cert-sha256'];
    const sha256 = typeof certificate === 'string' ? normalCertificateSha256(certificate) : null;
    if (input.values.init === true && typeof input.values.url === 'string') throw new UsageError('--init creates a ledger in --data; a running broker has one already');
    await onSource(input, {
      create: input.values.init === true,
      ...currencyOf(input),
      data: (db) => db.transaction(() => {
        addDevice(db, name, publicKey, Date.now());
        if (sha256 !== null) recordDeviceCertificate(db, name, sha256);
      })(),
      url: (api) => api.post('/api/devices', { id: name, publicKey: publicKeyHex, ...(sha256 === null ? {} : { certSha256: sha256 }) }),
    });
    input.stdout(`enrolled ${name}${sha256 === null ? '' : ` (client certificate sha256 ${sha256})`}`);
    return 0;
  },
};

export const ledgerInitCommand: Command = {
  name: ['ledger', 'init'],
  summary: 'create a new ledger (and the service key) in a data directory, with its currency; the other admin commands refuse a directory without one',
  positionals: [],
  options: { data: { type: 'string', description: 'broker data directory' }, ...currencyOption },
  async run(input) {
    const dataDir = requirePath(input, 'data');
    const existed = existsSync(join(dataDir, DATABASE_FILE));
    // Opening creates and migrates it, and gives a new ledger its currency (CURRENCY_MISMATCH
    // when an existing one keeps another).
    const currency = withLedger(dataDir, true, (db) => ledgerCurrency(db), currencyOf(input));
    const serviceKey = loadOrCreateServiceKey(dataDir, systemRandom);
    input.stdout(`${existed ? 'ledger already in' : 'ledger created in'} ${dataDir} (currency ${currency}); service public key ${toHex(serviceKey.publicKey)}`);
    return 0;
  },
};

interface FundAnswer {
  readonly moved: boolean;
  readonly balance: string;
  readonly currency: string;
}

export const walletFundCommand: Command = {
  name: ['wallet', 'fund'],
  summary: 'move money from outside into a device wallet (AMOUNT like 12.5)',
  positionals: ['NAME', 'AMOUNT'],
  options: { ...adminSourceOptions, id: { type: 'string', description: 'idempotency key: funding twice with one id funds once' } },
  async run(input) {
    const [name = '', text = ''] = input.positionals;
    const amount = parseAmount(text);
    if (amount === 0n) throw new MqpayError('AMOUNT_ZERO');
    // The same key as the HTTP API's Idempotency-Key: reused for another wallet or amount, the
    // ledger refuses it (IDEMPOTENCY_CONFLICT) and this exits non-zero.
    const key = typeof input.values.id === 'string' ? input.values.id : randomBytes(12).toString('hex');
    const outcome = await onSource<FundAnswer>(input, {
      data: (db) => {
        const nowMs = Date.now();
        const funded = fundWallet(db, name, amount, key, nowMs);
        // Committed: journaled beside the broker's backups (its --backup-dir, named in the ledger), for a restore to list.
        const journalDir = journalDirOf(db);
        if (funded.kind === 'funded' && journalDir !== null) appendJournal(journalDir, { action: 'wallet.fund', device: name, amount, key, by: 'cli', atMs: nowMs });
        return { moved: funded.kind === 'funded', balance: formatAmount(funded.balance), currency: ledgerCurrency(db) };
      },
      // Over the API the broker journals the funding itself (routes-wallets.ts).
      url: (api) => api.post<FundAnswer>(`/api/wallets/${encodeURIComponent(name)}/fund`, { amount: formatAmount(amount), idempotencyKey: key }),
    });
    input.stdout(`${outcome.moved ? 'funded' : 'already funded (same id)'} ${name} with ${formatAmount(amount)} ${outcome.currency}; balance ${outcome.balance} ${outcome.currency}`);
    return 0;
  },
};

export const ledgerCheckCommand: Command = {
  name: ['ledger', 'check'],
  summary: 'audit the ledger; exit 0 only when every check holds',
  positionals: [],
  options: {
    ...adminSourceOptions,
    json: { type: 'boolean', description: 'print the checks as JSON' },
    'verify-signatures': { type: 'boolean', description: 're-verify the voucher behind every channel settlement with the payer\'s key' },
    store: { type: 'string', description: 'audit the cluster mode\'s PostgreSQL ledger directly, postgres://USER:PASSWORD@HOST:PORT/DB (instead of --data or --url)' },
  },
  async run(input) {
    const verifySignatures = input.values['verify-signatures'] === true;
    const { checks } = await auditOf(input, verifySignatures);
    if (input.values.json === true) input.stdout(JSON.stringify({ ok: checks.every((c) => c.ok), checks }, null, 2));
    else for (const check of checks) input.stdout(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}`);
    const failed = checks.filter((check) => !check.ok).length;
    if (input.values.json !== true) input.stdout(failed === 0 ? `ledger ok: ${checks.length} checks hold` : `ledger BROKEN: ${failed} of ${checks.length} checks fail`);
    return failed === 0 ? 0 : 1;
  },
};

/** The audit of the ledger the flags name: --store (PostgreSQL), else --data or --url. */
async function auditOf(input: CommandInput, verifySignatures: boolean): Promise<AuditView> {
  const store = input.values.store;
  if (typeof store !== 'string') {
    return onSource<AuditView>(input, {
      data: (db) => viewAudit(auditLedger(db, { verifySignatures })),
      url: (api) => api.get<AuditView>(`/api/ledger/audit?verifySignatures=${verifySignatures}`),
    });
  }
  if (input.values.data !== undefined || input.values.url !== undefined) throw new UsageError('give --store, --data or --url, only one');
  if (storeKindOf(store) !== 'postgres') throw new UsageError('--store takes a postgres:// URL (a SQLite ledger is read with --data DIR)');
  return viewAudit(await auditPostgresAt(store, { verifySignatures }));
}

export const channelEvidenceCommand: Command = {
  name: ['channel', 'evidence'],
  summary: 'export a channel\'s certificate and settled vouchers (bytes and signatures, hex) for any Ed25519 library to check',
  positionals: ['ID'],
  options: { ...adminSourceOptions, json: { type: 'boolean', description: 'print JSON (the only format; accepted for clarity)' } },
  async run(input) {
    const [id = ''] = input.positionals;
    const channel = channelIdFromHex(id);
    const evidence = await onSource<ChannelEvidence | null>(input, {
      data: (db) => channelEvidence(db, channel),
      url: (api) => api.get<ChannelEvidence>(`/api/channels/${toHex(channel)}/evidence`),
    });
    if (evidence === null) throw new MqpayError('CHANNEL_UNKNOWN', id);
    input.stdout(JSON.stringify(evidence, null, 2));
    return 0;
  },
};
