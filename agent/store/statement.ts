// Row helpers for the agent's store; prepared statements come from sqlite/statement.ts.
export { statement } from '../../sqlite/statement.js';

/** BLOB columns come back as Buffers; core code works on plain Uint8Arrays. */
export const bytesOf = (value: Buffer): Uint8Array => new Uint8Array(value);
export const bytesOrNull = (value: Buffer | null): Uint8Array | null => (value === null ? null : new Uint8Array(value));
