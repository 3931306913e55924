// Identifiers. A device id is a single MQTT topic level, so it can never contain '/', '+', '#'
// or start with '$'; lower case only, so "Fridge" and "fridge" cannot be two devices.
// Channel ids are 32 random bytes chosen by the payer (client-chosen ids: a retried open reuses
// its id and gets the same channel back).
import { MqpayError } from './errors.js';
import { fromHex, toHex } from './hex.js';
import { CHANNEL_ID_BYTES, DEVICE_ID_LENGTH_MAX, REQUEST_ID_LENGTH_MAX } from './limits.js';

const DEVICE_ID_PATTERN = new RegExp(`^[a-z0-9][a-z0-9_.-]{0,${DEVICE_ID_LENGTH_MAX - 1}}$`);
const REQUEST_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.:-]{1,${REQUEST_ID_LENGTH_MAX}}$`);

/** Ids a device may not take: `operator` is the MQTT username of operator logins. */
export const RESERVED_DEVICE_IDS: readonly string[] = ['operator'];

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value) && !RESERVED_DEVICE_IDS.includes(value);
}

export function checkDeviceId(value: unknown): string {
  if (!isDeviceId(value)) throw new MqpayError('DEVICE_ID_INVALID', JSON.stringify(value));
  return value;
}

export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value);
}

/** Source of randomness, injected so the simulator can replay a fleet from a seed. */
export type RandomBytes = (length: number) => Uint8Array;

export function newChannelId(random: RandomBytes): Uint8Array {
  const id = random(CHANNEL_ID_BYTES);
  if (id.length !== CHANNEL_ID_BYTES) throw new Error('random source returned the wrong length');
  return id;
}

/** Channel ids travel as 64 lower-case hex characters in JSON and topics. */
export function channelIdToHex(id: Uint8Array): string {
  if (id.length !== CHANNEL_ID_BYTES) throw new MqpayError('ENCODING_INVALID', 'channel id must be 32 bytes');
  return toHex(id);
}

export function channelIdFromHex(text: string): Uint8Array {
  return fromHex(text, CHANNEL_ID_BYTES);
}
