// bench/epoch.ts
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as join2 } from "node:path";

// shared/errors.ts
var ERRORS = {
  AMOUNT_INVALID: { message: "amount is not a decimal with at most 6 places", retryable: false, httpStatus: 400 },
  AMOUNT_NEGATIVE: { message: "amount is negative", retryable: false, httpStatus: 400 },
  AMOUNT_OVERFLOW: { message: "amount exceeds the u64 range of micro-units", retryable: false, httpStatus: 400 },
  AMOUNT_ZERO: { message: "amount must be greater than zero", retryable: false, httpStatus: 400 },
  CURRENCY_INVALID: { message: "currency must be an ISO 4217 code of three upper-case letters", retryable: false, httpStatus: 400 },
  CURRENCY_MISMATCH: { message: "the ledger keeps another currency", retryable: false, httpStatus: 409 },
  DEVICE_ID_INVALID: { message: "device id must be 1-32 of [a-z0-9_.-], starting with a letter or digit", retryable: false, httpStatus: 400 },
  DEVICE_UNKNOWN: { message: "device is not enrolled", retryable: false, httpStatus: 404 },
  DEVICE_DISABLED: { message: "device is disabled", retryable: false, httpStatus: 409 },
  DEVICE_EXISTS: { message: "device is already enrolled", retryable: false, httpStatus: 409 },
  KEY_INVALID: { message: "public key is not a canonical, prime-order ed25519 point", retryable: false, httpStatus: 400 },
  KEY_REUSED: { message: "public key was already used by a device", retryable: false, httpStatus: 409 },
  KEY_ROTATED: { message: "signed with a key the device has rotated away from", retryable: false, httpStatus: 409 },
  KEY_ROTATION_INVALID: { message: "key rotation request is stale, or not for this device and its current key", retryable: false, httpStatus: 400 },
  ENCODING_INVALID: { message: "binary encoding is malformed", retryable: false, httpStatus: 400 },
  MESSAGE_INVALID: { message: "message does not match its schema", retryable: false, httpStatus: 400 },
  MESSAGE_TOO_LARGE: { message: "message exceeds the payload size limit", retryable: false, httpStatus: 413 },
  TOPIC_INVALID: { message: "topic is not an mqpay topic", retryable: false, httpStatus: 400 },
  SIGNATURE_INVALID: { message: "signature does not verify", retryable: false, httpStatus: 400 },
  TOKEN_INVALID: { message: "connect token is malformed or not for this device and broker", retryable: false, httpStatus: 401 },
  TOKEN_EXPIRED: { message: "connect token time is outside the accepted window", retryable: true, httpStatus: 401 },
  TOKEN_REPLAYED: { message: "connect token was already used", retryable: false, httpStatus: 401 },
  NOT_AUTHORIZED: { message: "not allowed for this client", retryable: false, httpStatus: 401 },
  NOT_FOUND: { message: "no such resource", retryable: false, httpStatus: 404 },
  MEDIA_TYPE_UNSUPPORTED: { message: "request body is not application/json", retryable: false, httpStatus: 415 },
  METHOD_NOT_ALLOWED: { message: "method not allowed on this resource", retryable: false, httpStatus: 405 },
  CHANNEL_UNKNOWN: { message: "channel does not exist", retryable: false, httpStatus: 404 },
  CHANNEL_CLOSED: { message: "channel is closed", retryable: false, httpStatus: 409 },
  CHANNEL_EXPIRED: { message: "channel has expired", retryable: false, httpStatus: 409 },
  CHANNEL_CLOSING: { message: "channel is closing: its dispute window is open", retryable: false, httpStatus: 409 },
  CHANNEL_NOT_PAYEE: { message: "only the channel's payee may redeem its vouchers", retryable: false, httpStatus: 403 },
  CHANNEL_NOT_PAYER: { message: "channel belongs to another payer", retryable: false, httpStatus: 403 },
  CHANNEL_LIMIT: { message: "too many open channels for this device", retryable: false, httpStatus: 409 },
  CHANNEL_SELF: { message: "a device cannot open a channel to itself", retryable: false, httpStatus: 400 },
  CHANNEL_DURATION_INVALID: { message: "channel duration is outside the allowed bounds", retryable: false, httpStatus: 400 },
  VOUCHER_SEQ_NOT_INCREASING: { message: "voucher seq must be greater than the latest accepted seq", retryable: false, httpStatus: 409 },
  VOUCHER_TOTAL_NOT_INCREASING: { message: "voucher total must be greater than the latest accepted total", retryable: false, httpStatus: 409 },
  VOUCHER_ABOVE_DEPOSIT: { message: "voucher total exceeds the channel deposit", retryable: false, httpStatus: 409 },
  VOUCHER_EXPIRED: { message: "voucher has expired", retryable: false, httpStatus: 400 },
  VOUCHER_DOUBLE_SIGNED: { message: "a different total was already signed for this seq", retryable: false, httpStatus: 409 },
  TICK_CHECKPOINT_UNKNOWN: { message: "tick names a checkpoint that is not the channel's current one", retryable: false, httpStatus: 409 },
  TICK_INDEX_INVALID: { message: "tick index is not above the last accepted one, or is past the end of the chain", retryable: false, httpStatus: 409 },
  TICK_SKIP_TOO_LARGE: { message: "tick skips more indices than one check may hash", retryable: false, httpStatus: 409 },
  TICK_PREIMAGE_INVALID: { message: "tick preimage does not hash to the last accepted link of the chain", retryable: false, httpStatus: 400 },
  TICK_ABOVE_DEPOSIT: { message: "tick total exceeds the channel deposit", retryable: false, httpStatus: 409 },
  OFFER_EXPIRED: { message: "offer has expired", retryable: false, httpStatus: 409 },
  OFFER_STALE: { message: "offer is not newer than the seller's current offer", retryable: false, httpStatus: 409 },
  OFFER_SELLER_MISMATCH: { message: "offer names another seller", retryable: false, httpStatus: 403 },
  RECEIPT_MISMATCH: { message: "receipt does not match its channel", retryable: false, httpStatus: 400 },
  HOME_EXISTS: { message: "the agent home already holds an agent", retryable: false, httpStatus: 409 },
  HOME_LOCKED: { message: "another agent is running on this home", retryable: true, httpStatus: 409 },
  IDEMPOTENCY_CONFLICT: { message: "the idempotency key was already used for a different request", retryable: false, httpStatus: 409 },
  INSUFFICIENT_FUNDS: { message: "wallet balance is too low", retryable: false, httpStatus: 409 },
  RESTORE_FUNDS_PENDING: { message: "the payer's wallet cannot cover the restored channel yet (fundings after the backup not replayed); retry later", retryable: true, httpStatus: 409 },
  RATE_LIMITED: { message: "too many messages from this device; slow down", retryable: true, httpStatus: 429 },
  TOO_MANY_IN_FLIGHT: { message: "too many requests in flight from this device", retryable: true, httpStatus: 429 },
  POLICY_MAX_PER_PAYMENT: { message: "payment exceeds the per-payment maximum", retryable: false, httpStatus: 403 },
  POLICY_BUDGET_EXCEEDED: { message: "payment exceeds a spending budget", retryable: false, httpStatus: 403 },
  POLICY_PAYEE_NOT_ALLOWED: { message: "payee is not on the allow-list", retryable: false, httpStatus: 403 },
  LIMIT_PER_PAYMENT: { message: "payment exceeds the device's server-side per-payment limit", retryable: false, httpStatus: 403 },
  LIMIT_PER_HOUR: { message: "payment exceeds the device's server-side spending limit over the last hour", retryable: true, httpStatus: 429 },
  LIMIT_PER_DAY: { message: "payment exceeds the device's server-side spending limit over the last day", retryable: true, httpStatus: 429 },
  LIMIT_PAYEE_NOT_ALLOWED: { message: "payee is not on the device's server-side allow-list", retryable: false, httpStatus: 403 },
  LIMIT_DEPOSIT: { message: "channel deposit exceeds the device's server-side daily spending limit", retryable: false, httpStatus: 403 },
  TIMEOUT: { message: "no answer in time", retryable: true, httpStatus: 503 },
  SERVICE_UNAVAILABLE: { message: "service is unavailable", retryable: true, httpStatus: 503 },
  INTERNAL: { message: "internal error", retryable: true, httpStatus: 500 }
};
var ERROR_CODES = Object.freeze(Object.keys(ERRORS));
var MqpayError = class extends Error {
  code;
  retryable;
  detail;
  constructor(code, detail) {
    const entry = ERRORS[code];
    super(detail === void 0 ? entry.message : `${entry.message}: ${detail}`);
    this.name = "MqpayError";
    this.code = code;
    this.retryable = entry.retryable;
    this.detail = detail;
  }
};
function assert(condition, what) {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}

// shared/hex.ts
var BYTE_TO_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
var NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}
function toHex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_HEX[bytes[i]];
  return out;
}
function nibble(code) {
  return code < 128 ? NIBBLE[code] : -1;
}
function fromHex(text, bytes) {
  if (typeof text !== "string" || text.length % 2 !== 0) throw new MqpayError("ENCODING_INVALID", "not hex");
  if (bytes !== void 0 && text.length !== bytes * 2) {
    throw new MqpayError("ENCODING_INVALID", `expected ${bytes} bytes of hex, got ${text.length / 2}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = nibble(text.charCodeAt(i * 2));
    const low = nibble(text.charCodeAt(i * 2 + 1));
    if (high < 0 || low < 0) throw new MqpayError("ENCODING_INVALID", "not hex");
    out[i] = high << 4 | low;
  }
  return out;
}
function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// shared/limits.ts
var AMOUNT_MICRO_MAX = (1n << 64n) - 1n;
var DEVICE_ID_LENGTH_MAX = 32;
var CHANNEL_ID_BYTES = 32;
var PUBLIC_KEY_BYTES = 32;
var SECRET_KEY_BYTES = 32;
var SIGNATURE_BYTES = 64;
var REQUEST_ID_LENGTH_MAX = 64;
var PUBLIC_KEY_CACHE_ENTRIES_MAX = 1e4;
var IN_FLIGHT_REQUESTS_PER_DEVICE_MAX = 32;
var CHANNEL_DURATION_S_MAX = 366 * 24 * 3600;
var VOUCHER_SEQ_MAX = (1n << 63n) - 1n;
var OFFER_LIFETIME_S_MAX = 31 * 86400;

// shared/ids.ts
var DEVICE_ID_PATTERN = new RegExp(`^[a-z0-9][a-z0-9_.-]{0,${DEVICE_ID_LENGTH_MAX - 1}}$`);
var REQUEST_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.:-]{1,${REQUEST_ID_LENGTH_MAX}}$`);
var RESERVED_DEVICE_IDS = ["operator"];
function isDeviceId(value) {
  return typeof value === "string" && DEVICE_ID_PATTERN.test(value) && !RESERVED_DEVICE_IDS.includes(value);
}
function checkDeviceId(value) {
  if (!isDeviceId(value)) throw new MqpayError("DEVICE_ID_INVALID", JSON.stringify(value));
  return value;
}

// shared/keys.ts
import * as noble2 from "@noble/ed25519";

// shared/crypto.ts
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify
} from "node:crypto";
import * as noble from "@noble/ed25519";

// shared/signature-rule.ts
var CURVE_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
var SMALL_ORDER_POINTS_HEX = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
];
var SMALL_ORDER_POINTS = SMALL_ORDER_POINTS_HEX.map((hex) => fromHex(hex, 32));
function isSmallOrderEncoding(point) {
  return SMALL_ORDER_POINTS.some((small) => bytesEqual(small, point));
}
var CURVE_ORDER_BYTES = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", 32);
function lessThan(a, b) {
  for (let i = 31; i >= 0; i--) {
    const x = a[i];
    const y = b[i];
    if (x !== y) return x < y;
  }
  return false;
}
function isCanonicalPoint(point) {
  if (point.length !== PUBLIC_KEY_BYTES) return false;
  const last = point[31];
  let allOnes = (last & 127) === 127;
  for (let i = 1; allOnes && i < 31; i++) allOnes = point[i] === 255;
  const low = point[0];
  if (allOnes && low >= 237) return false;
  if (last >> 7 === 1) {
    const yIsOne = low === 1 && (last & 127) === 0 && point.subarray(1, 31).every((byte) => byte === 0);
    const yIsMinusOne = allOnes && low === 236;
    if (yIsOne || yIsMinusOne) return false;
  }
  return true;
}
function isCanonicalScalar(scalar) {
  return scalar.length === 32 && lessThan(scalar, CURVE_ORDER_BYTES);
}
function passesEncodingRule(signature, publicKey) {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new MqpayError("ENCODING_INVALID", `signature must be ${SIGNATURE_BYTES} bytes`);
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new MqpayError("ENCODING_INVALID", `public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  const r2 = signature.subarray(0, 32);
  if (!isCanonicalScalar(signature.subarray(32, 64))) return false;
  if (!isCanonicalPoint(publicKey) || isSmallOrderEncoding(publicKey)) return false;
  if (!isCanonicalPoint(r2) || isSmallOrderEncoding(r2)) return false;
  return true;
}

// shared/crypto.ts
noble.hashes.sha512 = (message) => sha512(message);
function sha512(...parts) {
  const hash = createHash("sha512");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}
function checkSecretKey(secretKey) {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new MqpayError("KEY_INVALID", `secret key must be ${SECRET_KEY_BYTES} bytes`);
  }
}
function checkMessage(message) {
  if (!(message instanceof Uint8Array)) throw new MqpayError("ENCODING_INVALID", "message must be bytes");
}
var PKCS8_PREFIX = Uint8Array.from([48, 46, 2, 1, 0, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32]);
var SPKI_PREFIX = Uint8Array.from([48, 42, 48, 5, 6, 3, 43, 101, 112, 3, 33, 0]);
function derOf(prefix, key) {
  const der = Buffer.alloc(prefix.length + key.length);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}
var publicKeyObjects = /* @__PURE__ */ new Map();
function publicKeyObject(publicKey) {
  const id = toHex(publicKey);
  let key = publicKeyObjects.get(id);
  if (key === void 0) {
    key = createPublicKey({ key: derOf(SPKI_PREFIX, publicKey), format: "der", type: "spki" });
    if (publicKeyObjects.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) {
      const oldest = publicKeyObjects.keys().next().value;
      if (oldest !== void 0) publicKeyObjects.delete(oldest);
    }
    publicKeyObjects.set(id, key);
  }
  return key;
}
var privateKeyObjects = /* @__PURE__ */ new WeakMap();
function privateKeyObject(secretKey) {
  checkSecretKey(secretKey);
  let key = privateKeyObjects.get(secretKey);
  if (key === void 0) {
    key = createPrivateKey({ key: derOf(PKCS8_PREFIX, secretKey), format: "der", type: "pkcs8" });
    privateKeyObjects.set(secretKey, key);
  }
  return key;
}
var native = {
  name: "native",
  sign(message, secretKey) {
    checkMessage(message);
    return new Uint8Array(nodeSign(null, message, privateKeyObject(secretKey)));
  },
  verify(signature, message, publicKey) {
    checkMessage(message);
    if (!passesEncodingRule(signature, publicKey)) return false;
    try {
      return nodeVerify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
  publicKeyOf(secretKey) {
    const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" });
    return new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
  }
};
function scalarOfHash(hash) {
  let value = 0n;
  for (let i = hash.length - 1; i >= 0; i--) value = value << 8n | BigInt(hash[i]);
  return value % CURVE_ORDER;
}
function nobleCofactorless(signature, message, publicKey) {
  let A;
  try {
    A = noble.Point.fromBytes(publicKey, false);
  } catch {
    return false;
  }
  const r2 = signature.subarray(0, 32);
  const s = scalarOfHash(signature.subarray(32, 64));
  const k = scalarOfHash(sha512(r2, publicKey, message));
  const recomputed = noble.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return bytesEqual(recomputed.toBytes(), r2);
}
var nobleBackend = {
  name: "noble",
  sign(message, secretKey) {
    checkMessage(message);
    checkSecretKey(secretKey);
    return noble.sign(message, secretKey);
  },
  verify(signature, message, publicKey) {
    checkMessage(message);
    if (!passesEncodingRule(signature, publicKey)) return false;
    return nobleCofactorless(signature, message, publicKey);
  },
  publicKeyOf(secretKey) {
    checkSecretKey(secretKey);
    return noble.getPublicKey(secretKey);
  }
};
var backends = Object.freeze({ native, noble: nobleBackend });
var defaultBackend = native;

// shared/keys.ts
function generateKeyPair(random2) {
  const secretKey = random2(SECRET_KEY_BYTES);
  if (secretKey.length !== SECRET_KEY_BYTES) throw new Error("random source returned the wrong length");
  return { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) };
}
function publicKeyProblem(publicKey) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return "not 32 bytes";
  if (!isCanonicalPoint(publicKey)) return "non-canonical encoding";
  if (isSmallOrderEncoding(publicKey)) return "small-order point";
  let point;
  try {
    point = noble2.Point.fromBytes(publicKey, false);
  } catch {
    return "not a point on the curve";
  }
  if (!point.isTorsionFree()) return "has a low-order component";
  return null;
}
function checkPublicKey(publicKey) {
  const problem = publicKeyProblem(publicKey);
  if (problem !== null) throw new MqpayError("KEY_INVALID", problem);
  return publicKey;
}

// sqlite/statement.ts
var cache = /* @__PURE__ */ new WeakMap();
function statement(db, sql) {
  let byText = cache.get(db);
  if (byText === void 0) {
    byText = /* @__PURE__ */ new Map();
    cache.set(db, byText);
  }
  let prepared = byText.get(sql);
  if (prepared === void 0) {
    prepared = db.prepare(sql);
    byText.set(sql, prepared);
  }
  return prepared;
}

// shared/amount.ts
function amountOf(micro) {
  if (typeof micro !== "bigint") throw new MqpayError("AMOUNT_INVALID", `not a bigint: ${typeof micro}`);
  if (micro < 0n) throw new MqpayError("AMOUNT_NEGATIVE");
  if (micro > AMOUNT_MICRO_MAX) throw new MqpayError("AMOUNT_OVERFLOW");
  return micro;
}

// broker/store/accounts.ts
var EXTERNAL_ACCOUNT = "external";
var FEES_ACCOUNT_KEY = 2n;
var walletAccount = (device) => `wallet:${device}`;
var escrowAccount = (channel) => `escrow:${toHex(channel)}`;
var fundTransferId = (key) => `fund:${key}`;

// broker/limits.ts
import { availableParallelism } from "node:os";
var VOUCHERS_KEPT_PER_CHANNEL = 3;
var BROKER_PAGE_CACHE_KIB = 65536;
var IN_FLIGHT_MESSAGES_PER_DEVICE_DEFAULT = IN_FLIGHT_REQUESTS_PER_DEVICE_MAX * 64;
var VERIFY_THREADS_DEFAULT = Math.max(1, availableParallelism() - 1);
var LEDGER_BALANCE_MAX = (1n << 63n) - 1n;
var FEE_PPM_MAX = 1e5;
var BACKUP_EVERY_SECONDS_MAX = 7 * 86400;
var JOURNAL_BYTES_MAX = 64 * 1048576;

// broker/store/sqlite/ledger.ts
function ensureAccount(db, name, kind) {
  statement(db, "INSERT INTO accounts (name, kind) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(name, kind);
  return accountKey(db, name);
}
function accountKey(db, name) {
  const row = statement(db, "SELECT id FROM accounts WHERE name = ?").get(name);
  if (row === void 0) throw new Error(`no account ${name}`);
  return row.id;
}
function balanceOf(db, account) {
  const row = statement(db, "SELECT balance FROM accounts WHERE name = ?").get(account);
  if (row === void 0) return null;
  return row.balance < 0n ? row.balance : amountOf(row.balance);
}
function insertTransfer(db, transfer) {
  if (transfer.amount <= 0n) throw new MqpayError("AMOUNT_ZERO");
  statement(
    db,
    `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
     VALUES (?, (SELECT id FROM accounts WHERE name = ?), (SELECT id FROM accounts WHERE name = ?), ?, ?, ?, ?, ?)`
  ).run(transfer.id, transfer.from, transfer.to, transfer.amount, transfer.kind, transfer.channel ?? null, transfer.settlement ?? null, BigInt(transfer.nowMs));
}
function fundInTransaction(db, input) {
  if (input.amount <= 0n) throw new MqpayError("AMOUNT_ZERO");
  const wallet = walletAccount(input.device);
  const before = balanceOf(db, wallet);
  if (before === null) throw new MqpayError("DEVICE_UNKNOWN", input.device);
  const transferId = fundTransferId(input.key);
  const earlier = statement(db, "SELECT a.name AS wallet, t.amount, t.kind FROM transfers t JOIN accounts a ON a.id = t.to_account WHERE t.id = ?").get(transferId);
  if (earlier !== void 0) {
    if (earlier.kind !== "fund" || earlier.wallet !== wallet || earlier.amount !== input.amount) {
      throw new MqpayError("IDEMPOTENCY_CONFLICT", `key ${input.key} was used for another transfer`);
    }
    return { kind: "already", balance: before };
  }
  const external = balanceOf(db, EXTERNAL_ACCOUNT) ?? 0n;
  if (-external + input.amount > LEDGER_BALANCE_MAX) throw new MqpayError("AMOUNT_OVERFLOW", "total funding would pass 2^63-1 micro-units");
  insertTransfer(db, { id: transferId, from: EXTERNAL_ACCOUNT, to: wallet, amount: input.amount, kind: "fund", nowMs: input.nowMs });
  const after = balanceOf(db, wallet);
  assert(after !== null && after === before + input.amount, "the wallet grew by exactly the funded amount");
  return { kind: "funded", balance: after };
}
function fundWallet(db, device, amount, key, nowMs) {
  return db.transaction(() => fundInTransaction(db, { device, amount, key, nowMs })).immediate();
}

// broker/store/sqlite/device-keys.ts
function recordEnrolledKey(db, device, publicKey, nowMs) {
  statement(db, "INSERT INTO device_keys (device, public_key, since_ms) VALUES (?, ?, ?)").run(device, publicKey, BigInt(nowMs));
}

// broker/store/sqlite/devices.ts
function toDevice(row) {
  return { id: row.id, publicKey: new Uint8Array(row.public_key), status: row.status, createdAtMs: Number(row.created_at_ms) };
}
function addDeviceInTransaction(db, id, publicKey, nowMs) {
  checkDeviceId(id);
  checkPublicKey(publicKey);
  if (getDevice(db, id) !== null) throw new MqpayError("DEVICE_EXISTS", id);
  statement(db, "INSERT INTO devices (id, public_key, status, created_at_ms) VALUES (?, ?, ?, ?)").run(id, publicKey, "active", BigInt(nowMs));
  recordEnrolledKey(db, id, publicKey, nowMs);
  ensureAccount(db, walletAccount(id), "wallet");
  return { id, publicKey, status: "active", createdAtMs: nowMs };
}
function addDevice(db, id, publicKey, nowMs) {
  checkDeviceId(id);
  checkPublicKey(publicKey);
  return db.transaction(() => addDeviceInTransaction(db, id, publicKey, nowMs)).immediate();
}
function getDevice(db, id) {
  const row = statement(db, "SELECT id, public_key, status, created_at_ms FROM devices WHERE id = ?").get(id);
  return row === void 0 ? null : toDevice(row);
}

// broker/store/sqlite/channels.ts
function insertChannel(db, channel) {
  const result = statement(
    db,
    `INSERT INTO channels (id, payer, payee, payer_wallet, payee_wallet, escrow_account, deposit, expires_at_s, state, revision, opened_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?)`
  ).run(channel.id, channel.payer, channel.payee, channel.payerWallet, channel.payeeWallet, channel.escrowAccount, channel.deposit, channel.expiresAtSeconds, BigInt(channel.nowMs));
  const num = BigInt(result.lastInsertRowid);
  statement(db, "INSERT INTO certificates (channel, revision, certificate, signature) VALUES (?, 1, ?, ?)").run(num, channel.certificate, channel.certificateSignature);
  return num;
}
function insertVoucher(db, channel, seq, total, signature, nowMs) {
  statement(db, "INSERT INTO vouchers (channel, seq, total, signature, accepted_at_ms) VALUES (?, ?, ?, ?, ?)").run(channel, seq, total, signature, BigInt(nowMs));
}
function setLatestVoucher(db, channel, seq, total, voucher, signature, redeeming) {
  const changed = statement(db, `UPDATE channels SET latest_seq = ?, latest_total = ?, latest_signature = ?, latest_voucher = ?, latest_revision = revision
    WHERE num = ? AND latest_seq < ? AND state = 'open' AND (? OR closing_deadline_ms IS NULL)`).run(seq, total, signature, voucher, channel, seq, redeeming ? 1n : 0n).changes;
  if (changed === 1) return;
  const row = statement(db, "SELECT state, closing_deadline_ms, latest_seq FROM channels WHERE num = ?").get(channel);
  if (row?.state === "closed") throw new MqpayError("CHANNEL_CLOSED");
  if (row?.closing_deadline_ms !== null && row?.closing_deadline_ms !== void 0 && !redeeming) throw new MqpayError("CHANNEL_CLOSING");
  if (row !== void 0 && row.latest_seq >= seq) throw new MqpayError("VOUCHER_SEQ_NOT_INCREASING", `latest seq is ${row.latest_seq}`);
  assert(false, "an accepted voucher moves its channel's latest forward");
}

// broker/store/sqlite/open-database.ts
import { mkdirSync } from "node:fs";
import { join } from "node:path";

// sqlite/open.ts
import Database from "better-sqlite3";
var BUSY_TIMEOUT_MS = 5e3;
function openSqlite(path, options) {
  const readonly = options.readonly ?? false;
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.defaultSafeIntegers(true);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (options.cacheKib !== void 0) db.pragma(`cache_size = -${options.cacheKib}`);
  if (!readonly) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    migrate(db, options);
  }
  return db;
}
function migrate(db, options) {
  const current = Number(db.pragma("user_version", { simple: true }));
  const latest = options.migrations.length;
  if (current > latest) throw new Error(`${options.what} schema version ${current} is newer than this mqpay (${latest})`);
  for (let version = current; version < latest; version++) {
    const sql = options.migrations[version];
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

// shared/currency.ts
var DEFAULT_CURRENCY = "EUR";
var CURRENCY_META_KEY = "currency";
var CURRENCY_PATTERN = /^[A-Z]{3}$/;
function isCurrencyCode(value) {
  return typeof value === "string" && CURRENCY_PATTERN.test(value);
}
function checkCurrencyCode(value) {
  if (!isCurrencyCode(value)) throw new MqpayError("CURRENCY_INVALID", JSON.stringify(value));
  return value;
}

// broker/store/sqlite/ledger-currency.ts
function storedCurrency(db) {
  const row = statement(db, "SELECT value FROM meta WHERE key = ?").get(CURRENCY_META_KEY);
  return row === void 0 ? null : checkCurrencyCode(row.value);
}
function settleLedgerCurrency(db, wanted) {
  const asked = wanted === void 0 ? void 0 : checkCurrencyCode(wanted);
  const compare = (stored) => {
    if (asked !== void 0 && asked !== stored) throw new MqpayError("CURRENCY_MISMATCH", `${stored}, not ${asked} (a ledger's currency never changes)`);
    return stored;
  };
  const known = storedCurrency(db);
  if (known !== null) return compare(known);
  return db.transaction(() => {
    const stored = storedCurrency(db);
    if (stored !== null) return compare(stored);
    const chosen = asked ?? DEFAULT_CURRENCY;
    const inserted = statement(db, "INSERT INTO meta (key, value) VALUES (?, ?)").run(CURRENCY_META_KEY, chosen).changes;
    assert(inserted === 1, "the currency row is written once");
    return chosen;
  }).immediate();
}

// broker/store/sqlite/migrations.ts
var MIGRATIONS = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at_ms INTEGER NOT NULL,
    -- Time of the last connect token accepted: each new one must be later (replay protection
    -- that survives restarts, unlike a cache of nonces).
    last_token_ms INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  -- Accounts have integer keys: a settlement touches one escrow per changed channel, and
  -- integer lookups keep an epoch over 100k channels well inside a second. The name is what
  -- people and the API see: 'wallet:{device}', 'escrow:{channel hex}', 'fees', 'external'.
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('wallet', 'escrow', 'fees', 'external')),
    balance INTEGER NOT NULL DEFAULT 0,
    CHECK (kind = 'external' OR balance >= 0),
    CHECK (kind <> 'external' OR balance <= 0)
  ) STRICT;
  INSERT INTO accounts (id, name, kind) VALUES (1, 'external', 'external'), (2, 'fees', 'fees');

  CREATE TABLE channels (
    num INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),
    payer TEXT NOT NULL REFERENCES devices(id),
    payee TEXT NOT NULL REFERENCES devices(id),
    payer_wallet INTEGER NOT NULL REFERENCES accounts(id),
    payee_wallet INTEGER NOT NULL REFERENCES accounts(id),
    escrow_account INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    deposit INTEGER NOT NULL CHECK (deposit > 0),
    expires_at_s INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    latest_seq INTEGER NOT NULL DEFAULT 0 CHECK (latest_seq >= 0),
    latest_total INTEGER NOT NULL DEFAULT 0,
    latest_signature BLOB,
    settled_total INTEGER NOT NULL DEFAULT 0,
    opened_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER,
    CHECK (payer <> payee),
    CHECK (0 <= settled_total AND settled_total <= latest_total AND latest_total <= deposit)
  ) STRICT;
  CREATE INDEX channels_unsettled ON channels(num) WHERE latest_total > settled_total;
  CREATE INDEX channels_open_by_expiry ON channels(expires_at_s) WHERE state = 'open';
  CREATE INDEX channels_by_payer ON channels(payer, state);
  CREATE INDEX channels_by_payee ON channels(payee, state);

  -- The latest certificate per channel, apart from the hot channel row.
  CREATE TABLE certificates (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    revision INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64)
  ) STRICT;

  CREATE TABLE transfers (
    id TEXT PRIMARY KEY,
    from_account INTEGER NOT NULL REFERENCES accounts(id),
    to_account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    kind TEXT NOT NULL CHECK (kind IN ('fund', 'deposit', 'topup', 'settle', 'fee', 'refund')),
    channel INTEGER REFERENCES channels(num),
    settlement TEXT,
    created_at_ms INTEGER NOT NULL,
    CHECK (from_account <> to_account)
  ) STRICT;
  CREATE INDEX transfers_by_settlement ON transfers(settlement, channel) WHERE settlement IS NOT NULL;
  CREATE INDEX transfers_by_channel ON transfers(channel) WHERE channel IS NOT NULL;

  CREATE TRIGGER transfers_apply AFTER INSERT ON transfers BEGIN
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account;
  END;
  CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;

  CREATE TABLE vouchers (
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    signature BLOB NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE double_signs (
    channel BLOB NOT NULL,
    seq INTEGER NOT NULL,
    accepted_total INTEGER NOT NULL,
    conflicting_total INTEGER NOT NULL,
    voucher BLOB NOT NULL,
    signature BLOB NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq, conflicting_total)
  ) STRICT, WITHOUT ROWID;

  -- The latest receipt per channel (each acknowledges every total below it).
  CREATE TABLE receipts (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    signature BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE requests (
    device TEXT NOT NULL,
    id TEXT NOT NULL,
    method TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device, id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE settlements (
    id TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('epoch', 'threshold', 'close', 'expiry', 'manual')),
    channels INTEGER NOT NULL CHECK (channels >= 1),
    amount INTEGER NOT NULL CHECK (amount > 0),
    fee INTEGER NOT NULL CHECK (fee >= 0),
    created_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX settlements_by_time ON settlements(created_at_ms);

  CREATE TABLE settlement_lines (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (settlement, account)
  ) STRICT, WITHOUT ROWID;
  `,
  // 2: a stored request answer remembers what was asked (a digest of method and params), so a
  // request id reused for another request is IDEMPOTENCY_CONFLICT rather than the old answer.
  // Answers stored before it have an empty digest and match any retry, as they did then.
  // The epoch counter lives in meta ('epoch_last'); no table is needed for it.
  `
  ALTER TABLE requests ADD COLUMN digest TEXT NOT NULL DEFAULT '';
  `,
  // 3: nothing accepted is lost [docs/DESIGN.md rule 11].
  // - A close by the payer, an operator or an expiry opens a dispute window: the channel stays
  //   'open' in `state` (so every CHECK and index on open channels still holds) with a deadline
  //   in `closing_deadline_ms`; the API shows it as 'closing'. `close_requested_by` says who
  //   asked ('payer', 'payee', 'operator', 'operator-immediate', 'expiry'), also once closed.
  // - Evidence: the channel's latest accepted voucher as its full signed bytes (the signature
  //   was already kept) and the certificate revision it was judged against; each settlement
  //   keeps the exact voucher it settled, per channel, in `settlement_vouchers`.
  // - `meta.evidence_from_settlement` is the settlements rowid from which evidence is kept:
  //   settlements committed before this migration have none and cannot be re-verified; nor can
  //   a later settlement of a voucher accepted before it (`channels.legacy_seq`).
  `
  ALTER TABLE channels ADD COLUMN closing_deadline_ms INTEGER;
  ALTER TABLE channels ADD COLUMN closing_started_ms INTEGER;
  ALTER TABLE channels ADD COLUMN close_requested_by TEXT
    CHECK (close_requested_by IS NULL OR close_requested_by IN ('payer', 'payee', 'operator', 'operator-immediate', 'expiry'));
  ALTER TABLE channels ADD COLUMN latest_voucher BLOB CHECK (latest_voucher IS NULL OR length(latest_voucher) = 82);
  ALTER TABLE channels ADD COLUMN latest_revision INTEGER;
  CREATE INDEX channels_closing_by_deadline ON channels(closing_deadline_ms) WHERE state = 'open' AND closing_deadline_ms IS NOT NULL;

  CREATE TABLE settlement_vouchers (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    voucher BLOB NOT NULL CHECK (length(voucher) = 82),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    revision INTEGER NOT NULL,
    PRIMARY KEY (settlement, channel)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX settlement_vouchers_by_channel ON settlement_vouchers(channel);
  CREATE INDEX double_signs_by_channel ON double_signs(channel);

  INSERT INTO meta (key, value) VALUES ('evidence_from_settlement', (SELECT COALESCE(MAX(rowid), 0) + 1 FROM settlements));
  -- A channel whose latest voucher was accepted before this migration has no bytes for it: a
  -- settlement of that voucher keeps no evidence, and the audit knows why (legacy_seq).
  ALTER TABLE channels ADD COLUMN legacy_seq INTEGER;
  UPDATE channels SET legacy_seq = latest_seq WHERE latest_seq > 0;
  `,
  // 4: the TLS client certificate recorded at enrolment (SHA-256, 64 lower-case hex). With mutual
  // TLS, a device with a recorded certificate must present exactly that one.
  `
  CREATE TABLE device_certificates (
    device TEXT PRIMARY KEY REFERENCES devices(id),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')
  ) STRICT, WITHOUT ROWID;
  `,
  // 5: payee-signed offers: each seller's current offer, its signed bytes and signature as it
  // sent them, so the service serves them again after a restart (aedes keeps retained messages
  // in memory only). One row per seller; a newer issue time replaces it (a conditional UPDATE).
  // Expired rows are deleted by the service's sweep and never served.
  `
  CREATE TABLE offers (
    seller TEXT PRIMARY KEY REFERENCES devices(id),
    offer BLOB NOT NULL CHECK (length(offer) = 86),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    issued_at_ms INTEGER NOT NULL CHECK (issued_at_ms >= 0),
    expires_at_s INTEGER NOT NULL CHECK (expires_at_s >= 0),
    stored_at_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX offers_by_expiry ON offers(expires_at_s);
  `,
  // 6: key rotation [docs/DESIGN.md rule 12]: every key a device ever had, so a key once used (by
  // this or another device) is never accepted again and a voucher signed with a retired key can
  // be named for what it is (KEY_ROTATED). `certificate_history` keeps a channel's certificate as
  // it was just before a rotation re-issued it with another key: the evidence of a voucher judged
  // under revision r is checked with the first kept certificate of revision >= r, else the
  // channel's current one (top-ups between rotations do not change the keys).
  `
  CREATE TABLE device_keys (
    device TEXT NOT NULL REFERENCES devices(id),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    since_ms INTEGER NOT NULL,
    retired_at_ms INTEGER,
    PRIMARY KEY (device, public_key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX device_keys_by_key ON device_keys(public_key);
  INSERT INTO device_keys (device, public_key, since_ms) SELECT id, public_key, created_at_ms FROM devices;

  CREATE TABLE certificate_history (
    channel INTEGER NOT NULL REFERENCES channels(num),
    revision INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (channel, revision)
  ) STRICT, WITHOUT ROWID;
  `,
  // 7: money has a currency and a way out [docs/DESIGN.md rule 13].
  // - `meta.currency`: the ledger's ISO 4217 code (shared/currency.ts). A new ledger gets it when
  //   first opened (`openDatabase`, from `ledger init --currency` or the default); a ledger that
  //   already holds devices or transfers gets the default here. Triggers make it write-once: a
  //   second insert, an update or a delete of the row aborts.
  // - Transfer kinds `payout` (a wallet or the fees account to external) and `move` (wallet to
  //   wallet, an operator's recovery). SQLite cannot alter a CHECK, so `transfers` is rebuilt
  //   with the wider one, its rows copied as they are, and its indexes and triggers re-created.
  `
  INSERT INTO meta (key, value) SELECT 'currency', 'EUR'
    WHERE EXISTS (SELECT 1 FROM devices) OR EXISTS (SELECT 1 FROM transfers);
  CREATE TRIGGER meta_currency_once BEFORE INSERT ON meta
    WHEN NEW.key = 'currency' AND EXISTS (SELECT 1 FROM meta WHERE key = 'currency') BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;
  CREATE TRIGGER meta_currency_no_update BEFORE UPDATE ON meta
    WHEN OLD.key = 'currency' OR NEW.key = 'currency' BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;
  CREATE TRIGGER meta_currency_no_delete BEFORE DELETE ON meta WHEN OLD.key = 'currency' BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;

  CREATE TABLE transfers_v5 (
    id TEXT PRIMARY KEY,
    from_account INTEGER NOT NULL REFERENCES accounts(id),
    to_account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    kind TEXT NOT NULL CHECK (kind IN ('fund', 'deposit', 'topup', 'settle', 'fee', 'refund', 'payout', 'move')),
    channel INTEGER REFERENCES channels(num),
    settlement TEXT,
    created_at_ms INTEGER NOT NULL,
    CHECK (from_account <> to_account)
  ) STRICT;
  INSERT INTO transfers_v5 (rowid, id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
    SELECT rowid, id, from_account, to_account, amount, kind, channel, settlement, created_at_ms FROM transfers;
  DROP TABLE transfers;
  ALTER TABLE transfers_v5 RENAME TO transfers;
  CREATE INDEX transfers_by_settlement ON transfers(settlement, channel) WHERE settlement IS NOT NULL;
  CREATE INDEX transfers_by_channel ON transfers(channel) WHERE channel IS NOT NULL;
  -- The export reads transfers by time.
  CREATE INDEX transfers_by_time ON transfers(created_at_ms);
  -- Money in and out of the ledger (the totals view, the audit) without a scan of every transfer.
  CREATE INDEX transfers_in_and_out ON transfers(kind, amount) WHERE kind IN ('fund', 'payout');

  CREATE TRIGGER transfers_apply AFTER INSERT ON transfers BEGIN
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account;
  END;
  CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  `,
  // 8: server-side spending limits [docs/DESIGN.md rule 12]. `device_limits` holds the limits an
  // operator set for one device (NULL: the broker's default applies); `allow_payees` is a JSON
  // array of device ids, NULL for any payee; `version` goes up at every write (rows are never
  // deleted), so the voucher path re-reads and re-parses a long allow-list only when it changed.
  // `device_spend` holds what each payer's vouchers raised its channel totals by, per minute
  // (`minute` = ms since the epoch / 60,000), written in the same group commit as the voucher,
  // so the rolling hour and day survive a restart.
  `
  CREATE TABLE device_limits (
    device TEXT PRIMARY KEY REFERENCES devices(id),
    max_per_payment INTEGER CHECK (max_per_payment IS NULL OR max_per_payment > 0),
    max_per_hour INTEGER CHECK (max_per_hour IS NULL OR max_per_hour > 0),
    max_per_day INTEGER CHECK (max_per_day IS NULL OR max_per_day > 0),
    allow_payees TEXT CHECK (allow_payees IS NULL OR json_valid(allow_payees)),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE device_spend (
    device TEXT NOT NULL REFERENCES devices(id),
    minute INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (device, minute)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX device_spend_by_minute ON device_spend(minute);
  `,
  // 9: the voucher log follows channels [docs/DESIGN.md rule 11]: each channel keeps its newest
  // 3 vouchers (VOUCHERS_KEPT_PER_CHANNEL when this shipped; broker/store/sqlite/voucher-log.ts
  // drops the oldest as each is logged). This compacts a log kept before it; no evidence is in
  // the log alone (channels.latest_*, settlement_vouchers, double_signs, certificate_history).
  `
  DELETE FROM vouchers WHERE (channel, seq) IN (
    SELECT channel, seq FROM (SELECT channel, seq, row_number() OVER (PARTITION BY channel ORDER BY seq DESC) AS newer FROM vouchers)
    WHERE newer > 3);
  `,
  // 10: hash-chain ticks (protocol v3). `chains` holds each channel's current chain: the
  // payer-signed checkpoint (its own 109-byte encoding, MQPAY-HC), the certificate revision it
  // was judged against, and the highest link a tick revealed (the root at index 0). The
  // checkpoint is also a row of `vouchers` (its seq and total, the chain's start), so seqs stay
  // one space; the channel's latest_total is checkpoint total + highest index x price while
  // latest_seq is the chain's seq. `settlement_ticks` keeps what each settlement of a chain paid
  // for: the checkpoint, its signature and the highest preimage, so `ledger check
  // --verify-signatures` re-verifies it (one signature, index hashes to the root).
  `
  CREATE TABLE chains (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    checkpoint BLOB NOT NULL CHECK (length(checkpoint) = 109),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    revision INTEGER NOT NULL,
    chain_length INTEGER NOT NULL CHECK (chain_length >= 1),
    price INTEGER NOT NULL CHECK (price >= 1),
    start_total INTEGER NOT NULL CHECK (start_total >= 0),
    highest_index INTEGER NOT NULL CHECK (0 <= highest_index AND highest_index <= chain_length),
    highest_link BLOB NOT NULL CHECK (length(highest_link) = 32)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE settlement_ticks (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    checkpoint BLOB NOT NULL CHECK (length(checkpoint) = 109),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    tick_index INTEGER NOT NULL CHECK (tick_index >= 0),
    preimage BLOB NOT NULL CHECK (length(preimage) = 32),
    revision INTEGER NOT NULL,
    PRIMARY KEY (settlement, channel)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX settlement_ticks_by_channel ON settlement_ticks(channel);
  `
];

// broker/store/sqlite/open-database.ts
var DATABASE_FILE = "mqpay.db";
function openDatabase(dataDir, options = {}) {
  mkdirSync(dataDir, { recursive: true, mode: 448 });
  const readonly = options.readonly ?? false;
  const db = openSqlite(options.file ?? join(dataDir, DATABASE_FILE), { migrations: MIGRATIONS, what: "broker database", readonly, cacheKib: BROKER_PAGE_CACHE_KIB });
  if (readonly) return db;
  try {
    settleLedgerCurrency(db, options.currency);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

// broker/store/sqlite/voucher-log.ts
function appendVoucher(db, voucher, keptPerChannel = VOUCHERS_KEPT_PER_CHANNEL) {
  insertVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.signature, voucher.nowMs);
  setLatestVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.voucher, voucher.signature, voucher.redeeming);
  compactVoucherLog(db, voucher.channel, keptPerChannel);
}
function compactVoucherLog(db, channel, keptPerChannel) {
  statement(db, `DELETE FROM vouchers WHERE channel = @channel AND seq < (
      SELECT seq FROM vouchers WHERE channel = @channel ORDER BY seq DESC LIMIT 1 OFFSET @offset)`).run({ channel, offset: BigInt(keptPerChannel - 1) });
}

// broker/store/sqlite/settle.ts
var DELTA = "(latest_total - settled_total)";
var FEE = `((${DELTA} / 1000000) * @ppm + ((${DELTA} % 1000000) * @ppm) / 1000000)`;
var CHANGED = "latest_total > settled_total AND (@only IS NULL OR num = @only)";
var SQL_SETTLE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'settle:' || @id || ':' || num, escrow_account, payee_wallet, ${DELTA} - ${FEE}, 'settle', num, @id, @now
  FROM channels WHERE ${CHANGED}`;
var SQL_FEE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'fee:' || @id || ':' || num, escrow_account, @fees, ${FEE}, 'fee', num, @id, @now
  FROM channels WHERE ${CHANGED} AND ${FEE} > 0`;
var SQL_EVIDENCE = `INSERT INTO settlement_vouchers (settlement, channel, seq, total, voucher, signature, revision)
  SELECT @id, c.num, c.latest_seq, c.latest_total, c.latest_voucher, c.latest_signature, c.latest_revision
  FROM transfers t JOIN channels c ON c.num = t.channel
  WHERE t.settlement = @id AND t.kind = 'settle' AND c.latest_voucher IS NOT NULL AND c.latest_signature IS NOT NULL AND c.latest_revision IS NOT NULL`;
var SQL_EVIDENCE_TICKS = `INSERT INTO settlement_ticks (settlement, channel, seq, total, checkpoint, signature, tick_index, preimage, revision)
  SELECT @id, c.num, h.seq, c.latest_total, h.checkpoint, h.signature, h.highest_index, h.highest_link, h.revision
  FROM transfers t JOIN channels c ON c.num = t.channel JOIN chains h ON h.channel = c.num AND h.seq = c.latest_seq
  WHERE t.settlement = @id AND t.kind = 'settle' AND c.latest_voucher IS NULL`;
var SQL_MARK = `UPDATE channels SET settled_total = latest_total WHERE ${CHANGED}`;
function settleInTransaction(db, input) {
  if (!Number.isInteger(input.feePpm) || input.feePpm < 0 || input.feePpm > FEE_PPM_MAX) throw new MqpayError("MESSAGE_INVALID", "fee ppm out of range");
  if (statement(db, "SELECT 1 FROM settlements WHERE id = ?").get(input.id) !== void 0) return { kind: "already" };
  const params = { id: input.id, now: BigInt(input.nowMs), ppm: BigInt(input.feePpm), only: input.only ?? null };
  if (input.feePpm > 0) statement(db, SQL_FEE).run({ ...params, fees: FEES_ACCOUNT_KEY });
  const settled = statement(db, SQL_SETTLE).run(params).changes;
  if (settled === 0) return { kind: "nothing" };
  const marked = statement(db, SQL_MARK).run({ only: params.only }).changes;
  assert(marked === settled, "every settled channel is marked settled, and no other");
  const totals = statement(db, "SELECT COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(CASE kind WHEN 'fee' THEN amount ELSE 0 END), 0) AS fee FROM transfers WHERE settlement = ?").get(input.id);
  statement(db, "INSERT INTO settlements (id, reason, channels, amount, fee, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)").run(input.id, input.reason, BigInt(settled), totals.amount, totals.fee, params.now);
  statement(db, SQL_EVIDENCE).run({ id: input.id });
  statement(db, SQL_EVIDENCE_TICKS).run({ id: input.id });
  statement(db, "INSERT INTO settlement_lines (settlement, account, amount) SELECT settlement, to_account, SUM(amount) FROM transfers WHERE settlement = ? GROUP BY to_account").run(input.id);
  const lines = new Map(settlementLines(db, input.id).map((line) => [line.account, line.amount]));
  return { kind: "settled", result: { id: input.id, reason: input.reason, createdAtMs: input.nowMs, channelCount: settled, amount: amountOf(totals.amount), fee: amountOf(totals.fee), lines, only: input.only ?? null } };
}
function settlementLines(db, id) {
  return statement(db, "SELECT a.name AS account, l.amount FROM settlement_lines l JOIN accounts a ON a.id = l.account WHERE l.settlement = ? ORDER BY a.name").all(id).map((row) => ({ account: row.account, amount: row.amount }));
}

// shared/binary.ts
var U64_MAX = (1n << 64n) - 1n;
function domainTag(name) {
  assert(name.length === 8 && /^[A-Z0-9-]+$/.test(name), "domain tag of 8 upper-case bytes");
  return Uint8Array.from(name, (c) => c.charCodeAt(0));
}

// shared/certificate.ts
var CERTIFICATE_TAG = domainTag("MQPAY-CC");
var CURRENCY_BYTES = 3;
var ID_FIELD_BYTES = 1 + DEVICE_ID_LENGTH_MAX;
var CERTIFICATE_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 2 * (ID_FIELD_BYTES + PUBLIC_KEY_BYTES) + 8 + CURRENCY_BYTES + 8 + 4;
var CERTIFICATE_V1_BYTES = CERTIFICATE_BYTES - CURRENCY_BYTES;

// bench/epoch.ts
var random = (n) => new Uint8Array(randomBytes(n));
function buildLedger(channels) {
  const dir = mkdtempSync(join2(tmpdir(), "mqpay-epoch-"));
  const db = openDatabase(dir);
  const devices = 1e3;
  const nowMs = Date.now();
  for (let i = 0; i < devices; i++) {
    addDevice(db, `payer-${i}`, generateKeyPair(random).publicKey, nowMs);
    addDevice(db, `payee-${i}`, generateKeyPair(random).publicKey, nowMs);
    fundWallet(db, `payer-${i}`, amountOf(1000000000000n), `fund-${i}`, nowMs);
  }
  const deposit = amountOf(1000000n);
  const ids = [];
  const nums = [];
  db.transaction(() => {
    for (let c = 0; c < channels; c++) {
      const id = random(32);
      ids.push(id);
      const payer = `payer-${c % devices}`;
      const payee = `payee-${c * 7 % devices}`;
      const escrowKey = ensureAccount(db, escrowAccount(id), "escrow");
      const num = insertChannel(db, {
        id,
        payer,
        payee,
        payerWallet: accountKey(db, walletAccount(payer)),
        payeeWallet: accountKey(db, walletAccount(payee)),
        escrowAccount: escrowKey,
        deposit,
        expiresAtSeconds: BigInt(Math.floor(nowMs / 1e3) + 3600),
        certificate: new Uint8Array(CERTIFICATE_BYTES),
        certificateSignature: new Uint8Array(64),
        nowMs
      });
      nums.push(num);
      insertTransfer(db, { id: `deposit:${c}`, from: walletAccount(payer), to: escrowAccount(id), amount: deposit, kind: "deposit", channel: num, nowMs });
    }
  }).immediate();
  return { dir, db, ids, nums, nowMs };
}
var VOUCHERS_PER_TRANSACTION = 1024;
function ledgerAfterVouchers(channels, vouchers) {
  const { dir, db, nums, nowMs } = buildLedger(channels);
  const bytes = random(82);
  const signature = random(64);
  const rounds = Math.ceil(vouchers / channels);
  let logged = 0;
  for (let round = 1; round <= rounds; round++) {
    for (let start = 0; start < channels && logged < vouchers; start += VOUCHERS_PER_TRANSACTION) {
      db.transaction(() => {
        for (let c = start; c < Math.min(channels, start + VOUCHERS_PER_TRANSACTION) && logged < vouchers; c++, logged++) {
          appendVoucher(db, { channel: nums[c] ?? 0n, seq: BigInt(round), total: amountOf(BigInt(round) * 1000n), voucher: bytes, signature, redeeming: false, nowMs });
        }
      }).immediate();
    }
  }
  const vouchersLogged = Number(db.prepare("SELECT count(*) AS n FROM vouchers").get().n);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { dir, vouchersLogged };
}
function timeEpochOnCopy(ledgerDir, channels) {
  const dir = mkdtempSync(join2(tmpdir(), "mqpay-epoch-run-"));
  copyFileSync(join2(ledgerDir, DATABASE_FILE), join2(dir, DATABASE_FILE));
  const db = openDatabase(dir);
  const nowMs = Date.now();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const epoch = db.transaction(() => settleInTransaction(db, { id: "bench-epoch", reason: "epoch", nowMs, feePpm: 0 })).immediate();
  const epochMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (epoch.kind !== "settled" || epoch.result.channelCount !== channels) throw new Error("epoch did not settle every channel");
  db.pragma("wal_checkpoint(TRUNCATE)");
  const databaseBytes = statSync(join2(dir, DATABASE_FILE)).size;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { epochMs, epochCpuMs: (used.user + used.system) / 1e3, databaseBytes };
}
var median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] ?? 0 : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
function benchEpochOfVouchers(channels, few, many, runs) {
  const ledgers = [ledgerAfterVouchers(channels, few), ledgerAfterVouchers(channels, many)];
  const timed = [[], []];
  try {
    for (let run = 0; run < runs; run++) ledgers.forEach((ledger, index) => timed[index]?.push(timeEpochOnCopy(ledger.dir, channels)));
  } finally {
    for (const ledger of ledgers) rmSync(ledger.dir, { recursive: true, force: true });
  }
  const summary = (index) => {
    const list = timed[index] ?? [];
    return { vouchersLogged: ledgers[index].vouchersLogged, runs: list, epochMs: median(list.map((r2) => r2.epochMs)), epochCpuMs: median(list.map((r2) => r2.epochCpuMs)), databaseBytes: median(list.map((r2) => r2.databaseBytes)) };
  };
  return { few: summary(0), many: summary(1) };
}

// ../../tmp/walhdr/epoch-runs.ts
var r = benchEpochOfVouchers(1e5, 1e5, 1e6, Number(process.env.RUNS ?? 5));
var f = (x) => Math.round(x);
console.log(JSON.stringify({
  timeRatio: (r.many.epochMs / r.few.epochMs).toFixed(3),
  cpuRatio: (r.many.epochCpuMs / r.few.epochCpuMs).toFixed(3),
  sizeRatio: (r.many.databaseBytes / r.few.databaseBytes).toFixed(3),
  few: r.few.runs.map((x) => `${f(x.epochMs)}/${f(x.epochCpuMs)}`).join(" "),
  many: r.many.runs.map((x) => `${f(x.epochMs)}/${f(x.epochCpuMs)}`).join(" ")
}));
