// Devices: list (with online/offline), one, enrol, disable (closing a live session), enable.
import * as z from 'zod';
import { MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import { checkDeviceId } from '../../../shared/ids.js';
import { publicKeyFromHex } from '../../../shared/keys.js';
import { normalCertificateSha256 } from '../../store/sqlite/device-certificates.js';
import type { OperatorContext } from './operator-context.js';
import { pageOf, pageQuery, pageSchema } from './paging.js';
import { viewDevice, type DeviceView } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { deviceActionView, deviceRekeyView, deviceView } from './view-schemas.js';

export const deviceIdText = z.string().max(64).transform((id) => checkDeviceId(id)).describe('device id: 1-32 of [a-z0-9_.-]');
const idParams = z.strictObject({ id: deviceIdText });
const enrolBody = z.strictObject({
  id: deviceIdText,
  publicKey: z.string().max(128).transform((hex) => publicKeyFromHex(hex)).describe('ed25519 public key, 64 hex characters; checked at enrolment'),
  certSha256: z.string().max(128).transform((text) => normalCertificateSha256(text)).optional()
    .describe('SHA-256 of the TLS client certificate the device must present under mutual TLS (hex, colons allowed)'),
});

const rekeyBody = z.strictObject({
  publicKey: z.string().max(128).transform((hex) => publicKeyFromHex(hex)).describe('the new ed25519 public key, 64 hex characters; checked as at enrolment, and never one a device had before'),
});

async function deviceOrThrow(ops: OperatorContext, id: string): Promise<DeviceView> {
  const row = await ops.app.reads.device(id);
  if (row === null) throw new MqpayError('DEVICE_UNKNOWN', id);
  return viewDevice(row, ops.app.mqtt.online, ops.app.currency);
}

async function setStatus(ops: OperatorContext, id: string, status: 'active' | 'disabled') {
  // Disabling also opens the dispute window of every channel where the device pays, in the same
  // unit of work [docs/DESIGN.md rule 12].
  const { closing } = await ops.app.service.setDeviceStatus(id, status);
  const channelsClosing = closing.length;
  // A disabled device's live session is closed; the CONNECT check then refuses it (DEVICE_DISABLED).
  const disconnected = status === 'disabled' ? ops.app.mqtt.disconnect(id) : false;
  ops.logger.info({ device: id, status, disconnected, channelsClosing }, 'device status set by operator');
  ops.publishEvent({ type: status === 'disabled' ? 'device.disabled' : 'device.enabled', device: id });
  for (const row of closing) {
    if (row.closingDeadlineMs !== null) ops.publishEvent({ type: 'channel.closing', channel: toHex(row.id), closesAtMs: row.closingDeadlineMs });
  }
  return json(200, { device: await deviceOrThrow(ops, id), disconnected, channelsClosing });
}

// An operator's re-key of a lost device [docs/DESIGN.md rule 12]: the service replaces the key
// and re-issues the device's open channels' certificates in one unit of work (and reports
// `device.rekeyed`); then the live session, authenticated with the old key, is closed.
async function rekey(ops: OperatorContext, id: string, publicKey: Uint8Array) {
  const certificates = await ops.app.service.rekey(id, publicKey);
  const disconnected = ops.app.mqtt.disconnect(id);
  ops.logger.info({ device: id, certificates, disconnected }, 'device re-keyed by operator');
  return json(200, { device: await deviceOrThrow(ops, id), disconnected, certificates });
}

export const deviceRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/devices', operationId: 'listDevices', tag: 'devices', access: 'operator',
    summary: 'Enrolled devices in id order, with wallet balance and whether each is connected now',
    params: NONE, query: pageQuery, body: null,
    responses: [{ status: 200, description: 'a page of devices', schema: pageSchema(deviceView) }],
    handle: async ({ ops, query }) => json(200, pageOf(await ops.app.reads.devicesPage(query.limit + 1, query.offset), query, (row) => viewDevice(row, ops.app.mqtt.online, ops.app.currency))),
  }),
  defineRoute({
    method: 'POST', path: '/api/devices', operationId: 'enrolDevice', tag: 'devices', access: 'operator',
    summary: 'Enrol a device with its ed25519 public key (opens its wallet)',
    params: NONE, query: NONE, body: enrolBody, errors: [409],
    responses: [{ status: 201, description: 'enrolled', schema: deviceView }],
    async handle({ ops, body }) {
      await ops.app.service.enrol(body.id, body.publicKey, body.certSha256);
      ops.logger.info({ device: body.id }, 'device enrolled by operator');
      ops.publishEvent({ type: 'device.enrolled', device: body.id });
      return json(201, await deviceOrThrow(ops, body.id));
    },
  }),
  defineRoute({
    method: 'GET', path: '/api/devices/{id}', operationId: 'getDevice', tag: 'devices', access: 'operator',
    summary: 'One device', params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the device', schema: deviceView }],
    handle: async ({ ops, params }) => json(200, await deviceOrThrow(ops, params.id)),
  }),
  defineRoute({
    method: 'POST', path: '/api/devices/{id}/disable', operationId: 'disableDevice', tag: 'devices', access: 'operator',
    summary: 'Disable a device: refuse its connections, close its live session, and open the dispute window of every channel where it pays', params: idParams, query: NONE, body: NONE,
    responses: [{ status: 200, description: 'disabled', schema: deviceActionView }],
    handle: ({ ops, params }) => setStatus(ops, params.id, 'disabled'),
  }),
  defineRoute({
    method: 'POST', path: '/api/devices/{id}/enable', operationId: 'enableDevice', tag: 'devices', access: 'operator',
    summary: 'Enable a disabled device again', params: idParams, query: NONE, body: NONE,
    responses: [{ status: 200, description: 'enabled', schema: deviceActionView }],
    handle: ({ ops, params }) => setStatus(ops, params.id, 'active'),
  }),
  defineRoute({
    method: 'POST', path: '/api/devices/{id}/rekey', operationId: 'rekeyDevice', tag: 'devices', access: 'operator',
    summary: 'Replace a device\'s key (a lost device): re-issues its open channels\' certificates and closes its live session',
    params: idParams, query: NONE, body: rekeyBody, errors: [404, 409],
    responses: [{ status: 200, description: 're-keyed', schema: deviceRekeyView }],
    handle: ({ ops, params, body }) => rekey(ops, params.id, body.publicKey),
  }),
];
