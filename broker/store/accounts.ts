// Account names and kinds of the double-entry ledger, the same in every store adapter: the
// service names accounts, the adapter keys them.
import { toHex } from '../../shared/hex.js';

export type AccountKind = 'wallet' | 'escrow' | 'fees' | 'external';
export type TransferKind = 'fund' | 'deposit' | 'topup' | 'settle' | 'fee' | 'refund' | 'payout' | 'move';
export const TRANSFER_KINDS: readonly TransferKind[] = ['fund', 'deposit', 'topup', 'settle', 'fee', 'refund', 'payout', 'move'];
export const EXTERNAL_ACCOUNT = 'external';
export const FEES_ACCOUNT = 'fees';
/** Keys of the two accounts created by the first migration. */
export const EXTERNAL_ACCOUNT_KEY = 1n;
export const FEES_ACCOUNT_KEY = 2n;

export const walletAccount = (device: string): string => `wallet:${device}`;
export const escrowAccount = (channel: Uint8Array): string => `escrow:${toHex(channel)}`;

/** A funding's transfer id: the caller's idempotency key in its own namespace. */
export const fundTransferId = (key: string): string => `fund:${key}`;

/** A payout's transfer id (wallet or fees to external): the operator's key in its own namespace. */
export const payoutTransferId = (key: string): string => `payout:${key}`;

/** A wallet-to-wallet move's transfer id. */
export const moveTransferId = (key: string): string => `move:${key}`;
