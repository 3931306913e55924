// The protocol core, pure: no I/O, no clock, no randomness of its own.
export * from './amount.js';
export * from './certificate.js';
export * from './connect-token.js';
export * from './crypto.js';
export * from './errors.js';
export * from './hex.js';
export * from './ids.js';
export * from './keys.js';
export * from './limits.js';
export * from './receipt.js';
export * from './schemas.js';
export * from './signature-rule.js';
export * from './topics.js';
export * from './voucher.js';
export * from './voucher-rules.js';
export * from './time.js';
export * from './ops-events.js';
