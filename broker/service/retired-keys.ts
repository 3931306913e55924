// Names a signature made with a key the device has rotated away from [docs/DESIGN.md rule 12]:
// only consulted once a signature failed against the current key, so it costs nothing on the
// accepted path. The answer is KEY_ROTATED instead of SIGNATURE_INVALID, which tells the device
// (or its operator) to switch keys rather than suspect a forgery.
import { verify } from '../../shared/crypto.js';
import type { StoreReads } from '../store/port.js';
import { RETIRED_KEYS_CHECKED_MAX } from '../limits.js';

export async function signedByRetiredKey(reads: Pick<StoreReads, 'retiredKeysOf'>, device: string, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const retired = await reads.retiredKeysOf(device, RETIRED_KEYS_CHECKED_MAX);
  return retired.some((publicKey) => verify(signature, message, publicKey));
}
