// A device's server-side spending limits [docs/DESIGN.md rule 12]: read them (own, the broker's
// defaults, and what is enforced) and replace the device's own. The service reads limits from
// the store on every use, so a change counts from the next channel open, top-up or voucher.
import * as z from 'zod';
import type { OperatorContext } from './operator-context.js';
import { deviceLimitsView, limitsBody, viewLimits, type DeviceLimitsView } from './limits-view.js';
import { defineRoute, json, NONE, type Route } from './route.js';
import { deviceIdText } from './routes-devices.js';

const idParams = z.strictObject({ id: deviceIdText });

async function limitsOf(ops: OperatorContext, device: string): Promise<DeviceLimitsView> {
  const { own, effective } = await ops.app.service.deviceLimits(device);
  const defaults = ops.app.service.limitDefaults;
  return { device, own: viewLimits(own), defaults: viewLimits({ ...defaults, allowPayees: null }), effective: viewLimits(effective) };
}

export const deviceLimitRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/devices/{id}/limits', operationId: 'getDeviceLimits', tag: 'devices', access: 'operator',
    summary: "A device's server-side spending limits: its own, the broker's defaults, and those enforced",
    params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the limits', schema: deviceLimitsView }],
    handle: async ({ ops, params }) => json(200, await limitsOf(ops, params.id)),
  }),
  defineRoute({
    method: 'PUT', path: '/api/devices/{id}/limits', operationId: 'setDeviceLimits', tag: 'devices', access: 'operator',
    summary: "Replace a device's own server-side spending limits (absent or null fields take the broker's default)",
    params: idParams, query: NONE, body: limitsBody,
    responses: [{ status: 200, description: 'the limits now', schema: deviceLimitsView }],
    async handle({ ops, params, body }) {
      await ops.app.service.setDeviceLimits(params.id, body);
      const view = await limitsOf(ops, params.id);
      ops.logger.info({ device: params.id, limits: view.own }, 'device limits set by operator');
      return json(200, view);
    },
  }),
];
