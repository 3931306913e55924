// Public routes: health, the dashboard page and its assets, and this API's OpenAPI document.
import * as z from 'zod';
import { HttpProblem } from './problem.js';
import { defineRoute, json, type Reply, type Route, NONE } from './route.js';
import { DASHBOARD_FILES, type DashboardFile, type StaticAssets } from './static-assets.js';

const ASSETS = Object.keys(DASHBOARD_FILES).filter((name) => name !== 'index.html') as [DashboardFile, ...DashboardFile[]];
/** The dashboard runs only its own script and style, and talks only to this origin. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

function file(assets: StaticAssets, name: DashboardFile): Reply {
  const found = assets.read(name);
  if (found === null) throw new HttpProblem('SERVICE_UNAVAILABLE', 'the dashboard is not built: run `npm run build`');
  return { kind: 'raw', status: 200, contentType: found.contentType, body: found.body, headers: PAGE_HEADERS };
}

export const siteRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/healthz', operationId: 'health', tag: 'site', access: 'public',
    summary: 'Liveness', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'ok', contentType: 'text/plain' }],
    handle: () => ({ kind: 'raw', status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' }),
  }),
  defineRoute({
    method: 'GET', path: '/', operationId: 'dashboard', tag: 'site', access: 'public',
    summary: 'The live dashboard (asks for the operator token once per browser session)', params: NONE, query: NONE, body: null, errors: [503],
    responses: [{ status: 200, description: 'the dashboard page', contentType: 'text/html' }],
    handle: ({ ops }) => file(ops.assets, 'index.html'),
  }),
  defineRoute({
    method: 'GET', path: '/assets/{file}', operationId: 'dashboardAsset', tag: 'site', access: 'public',
    summary: "The dashboard's script and style", params: z.strictObject({ file: z.enum(ASSETS) }), query: NONE, body: null, errors: [503],
    responses: [{ status: 200, description: 'the file', contentType: 'text/javascript, text/css or application/json' }],
    handle: ({ ops, params }) => file(ops.assets, params.file),
  }),
  defineRoute({
    method: 'GET', path: '/api/openapi.json', operationId: 'openapi', tag: 'site', access: 'public',
    summary: 'This OpenAPI 3.1 document', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'the document' }],
    handle: ({ ops }) => json(200, ops.openapi()),
  }),
];
