// The OpenAPI 3.1 document, generated from the route table (the same list the router serves)
// and the routes' zod schemas, so the document cannot describe a route that does not exist or
// miss one that does. Error answers are derived from what the router can answer for a route.
import * as z from 'zod';
import type { Route } from './route.js';
import { problemView } from './view-schemas.js';

type Json = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(route: Route): Json[] {
  const list: Json[] = [];
  const add = (schema: z.ZodType, where: 'path' | 'query') => {
    const json = schemaOf(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property;
      list.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), ...(description === undefined ? {} : { description }), schema: rest });
    }
  };
  add(route.params, 'path');
  add(route.query, 'query');
  for (const header of route.headers ?? []) list.push({ name: header.name, in: 'header', required: false, description: header.description, schema: { type: 'string' } });
  return list;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input (problem+json; code names the rule, e.g. MESSAGE_INVALID, AMOUNT_INVALID, KEY_INVALID)',
  401: 'missing or wrong operator token (NOT_AUTHORIZED)',
  404: 'no such resource (NOT_FOUND, DEVICE_UNKNOWN, CHANNEL_UNKNOWN)',
  409: 'conflicts with the current state (DEVICE_EXISTS, CHANNEL_CLOSED, IDEMPOTENCY_CONFLICT)',
  413: 'request body too large (MESSAGE_TOO_LARGE)',
  415: 'request body is not application/json (MEDIA_TYPE_UNSUPPORTED)',
  503: 'temporarily unavailable (SERVICE_UNAVAILABLE)',
};

function errorStatuses(route: Route): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  if (route.access === 'operator') statuses.add(401);
  if (Object.keys(schemaOf(route.params, 'input').properties ?? {}).length > 0) statuses.add(404).add(400);
  if (route.body !== null) statuses.add(400).add(413).add(415);
  if (Object.keys(schemaOf(route.query, 'input').properties ?? {}).length > 0) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

function operation(route: Route): Json {
  const responses: Json = {};
  for (const answer of route.responses) {
    const type = answer.contentType ?? 'application/json';
    responses[String(answer.status)] = { description: answer.description, content: { [type]: answer.schema === undefined ? {} : { schema: schemaOf(answer.schema, 'output') } } };
  }
  for (const status of errorStatuses(route)) responses[String(status)] = { $ref: `#/components/responses/Problem${status}` };
  responses.default = { $ref: '#/components/responses/Problem' };
  const security = route.access === 'public' ? [] : route.tokenInQuery === true ? [{ bearer: [] }, { tokenQuery: [] }] : [{ bearer: [] }];
  return {
    operationId: route.operationId, summary: route.summary, tags: [route.tag], security,
    parameters: parameters(route),
    ...(route.body === null ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }),
    responses,
  };
}

function components(): Json {
  const problem = { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  const responses: Json = { Problem: { description: 'error (problem+json with a stable code)', ...problem } };
  for (const [status, text] of Object.entries(ERROR_TEXT)) responses[`Problem${status}`] = { description: text, ...problem };
  return {
    schemas: { Problem: schemaOf(problemView, 'output') },
    responses,
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'the operator token (mqpay broker --operator-token, $MQPAY_OPERATOR_TOKEN, or DATA/operator.token)' },
      tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'the operator token; accepted by /api/events only (EventSource cannot send headers)' },
    },
  };
}

export function openApiDocument(routes: readonly Route[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'mqpay operator API', version,
      description: 'Devices, wallets, channels, settlements, the ledger audit, live events and metrics of one mqpay broker. Amounts are decimal strings of the currency with at most 6 places (micro-units). Errors are application/problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: ['site', 'devices', 'wallets', 'channels', 'settlements', 'ledger', 'dashboard', 'live'].map((name) => ({ name })),
    paths,
    components: components(),
  };
}
