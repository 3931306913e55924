// The OpenAPI document and the router come from one route table: every route is documented
// (method, path parameters, body, success statuses, auth), the document has nothing the router
// does not serve, every $ref resolves, and every documented operation is really served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../broker/operator/http/route-table.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

type Operation = {
  operationId: string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, unknown>;
};

let broker: OpsBroker;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  broker = await startOpsBroker();
  const answer = await broker.api('GET', '/api/openapi.json', { token: null });
  expect(answer.status).toBe(200);
  doc = answer.json;
});
afterAll(async () => {
  await broker.stop();
});

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refsIn(inner, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and documents every route of the table, with its parameters, body, answers and auth', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path} documented`).toBeDefined();
      if (operation === undefined) continue;
      expect(operation.operationId).toBe(route.operationId);
      const pathNames = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      expect(operation.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathNames);
      expect(operation.parameters.filter((p) => p.in === 'path').every((p) => p.required)).toBe(true);
      expect(operation.requestBody !== undefined).toBe(route.body !== null);
      for (const answer of route.responses) expect(operation.responses[String(answer.status)], `${route.path} ${answer.status}`).toBeDefined();
      expect(operation.security.length === 0).toBe(route.access === 'public');
      if (route.access === 'operator') expect(operation.responses['401']).toBeDefined();
      if (route.body !== null) expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '413', '415']));
    }
  });

  it('documents nothing the router does not serve', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
    expect(new Set(ROUTES.map((route) => route.operationId)).size).toBe(ROUTES.length);
  });

  it('resolves every $ref inside the document', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const [, section, name] = /^#\/components\/(\w+)\/(\w+)$/.exec(ref) ?? [];
      expect(doc.components[section ?? '']?.[name ?? ''], ref).toBeDefined();
    }
  });

  it('every documented operation is served (never "no route" or 405)', async () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        if (path === '/api/events') continue; // a stream: opened in ops-events.test.ts
        const concrete = path.replace('{id}', 'x').replace('{device}', 'x').replace('{file}', 'dashboard.css');
        const answer = await broker.api(method.toUpperCase(), concrete, method === 'post' ? { body: {} } : {});
        expect(answer.status, `${method} ${path}`).not.toBe(405);
        expect(answer.json?.detail ?? '', `${method} ${path}`).not.toMatch(/^no route/);
      }
    }
  });
});
