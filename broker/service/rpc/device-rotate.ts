// device.rotate: a device replaces its own key [docs/DESIGN.md rule 12]. The request is signed by
// the current key (authority) and by the new key (possession); it names the current key, so it
// can apply once, and carries a time the service bounds like a connect token's. The rotation itself
// (the key check, the history, the re-issued certificates) is `rekeyInTransaction`.
import { verify } from '../../../shared/crypto.js';
import { MqpayError } from '../../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../../shared/hex.js';
import { decodeKeyRotation, KEY_ROTATION_BYTES } from '../../../shared/key-rotation.js';
import { checkPublicKey } from '../../../shared/keys.js';
import { KEY_ROTATION_AGE_MS_MAX, SIGNATURE_BYTES } from '../../../shared/limits.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { rekeyInTransaction } from '../rekey.js';
import { signedByRetiredKey } from '../retired-keys.js';
import type { RpcContext } from './context.js';

type RotateParams = RpcParams<'device.rotate'>;

export async function rotateDeviceKey(ctx: RpcContext, device: string, params: RotateParams): Promise<RpcResultInput<'device.rotate'>> {
  const { tx } = ctx.work;
  const bytes = fromHex(params.rotation, KEY_ROTATION_BYTES);
  const signature = fromHex(params.signature, SIGNATURE_BYTES);
  const newSignature = fromHex(params.newSignature, SIGNATURE_BYTES);
  const rotation = decodeKeyRotation(bytes);
  const row = await tx.device(device);
  if (row === null) throw new MqpayError('DEVICE_UNKNOWN');
  if (rotation.device !== device) throw new MqpayError('KEY_ROTATION_INVALID', 'it names another device');
  const skewMs = BigInt(ctx.deps.clock.nowMs()) - rotation.timeMs;
  if (skewMs > BigInt(KEY_ROTATION_AGE_MS_MAX) || skewMs < -BigInt(KEY_ROTATION_AGE_MS_MAX)) throw new MqpayError('KEY_ROTATION_INVALID', `its time is more than ${KEY_ROTATION_AGE_MS_MAX} ms from the service's clock`);
  if (!bytesEqual(rotation.currentKey, row.publicKey)) {
    if (await signedByRetiredKey(tx, device, signature, bytes)) throw new MqpayError('KEY_ROTATED', 'the key it replaces was already rotated away');
    throw new MqpayError('KEY_ROTATION_INVALID', 'it does not name the device\'s current key');
  }
  if (!verify(signature, bytes, row.publicKey)) throw new MqpayError('SIGNATURE_INVALID', 'not signed by the device\'s current key');
  // The new key's own check comes before its signature: a small-order key must say KEY_INVALID.
  const certificates = await rekeyChecked(ctx, device, row.publicKey, rotation.newKey, newSignature, bytes);
  return { device, publicKey: toHex(rotation.newKey), certificates };
}

function rekeyChecked(ctx: RpcContext, device: string, currentKey: Uint8Array, newKey: Uint8Array, newSignature: Uint8Array, bytes: Uint8Array): Promise<number> {
  checkPublicKey(newKey);
  if (!verify(newSignature, bytes, newKey)) throw new MqpayError('SIGNATURE_INVALID', 'not signed by the new key (proof of possession)');
  return rekeyInTransaction(ctx, device, currentKey, newKey, 'device');
}
