// One route of the operator HTTP surface: how it is matched, who may call it, what it accepts
// and answers (zod schemas) and what it does. The router and the OpenAPI document are both
// built from the same list of these (route-table.ts), so they cannot drift apart.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { OperatorContext } from './operator-context.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT';
/** `public`: no token (health, the dashboard's static files, the OpenAPI document). */
export type Access = 'public' | 'operator';

export interface DocResponse {
  readonly status: number;
  readonly description: string;
  /** Default application/json. */
  readonly contentType?: string;
  readonly schema?: z.ZodType;
}

export interface DocHeader {
  readonly name: string;
  readonly description: string;
}

export type Reply =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'raw'; readonly status: number; readonly contentType: string; readonly body: string | Buffer; readonly headers?: Readonly<Record<string, string>> }
  /** The handler took over the response (a stream). */
  | { readonly kind: 'streaming' };

/** The schema of "nothing here": no path parameters, no query, or an empty body. */
export const NONE = z.strictObject({});

export const json = (status: number, body: unknown): Reply => ({ kind: 'json', status, body });

export interface RouteContext<P, Q, B> {
  readonly ops: OperatorContext;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

export interface RouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly method: HttpMethod;
  /** OpenAPI path template, e.g. /api/devices/{id}. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  /** Also accept the token as `?token=` (the live-event stream only). */
  readonly tokenInQuery?: boolean;
  readonly params: P;
  readonly query: Q;
  /** null: the route takes no body. An empty body is parsed as {}. */
  readonly body: B | null;
  readonly headers?: readonly DocHeader[];
  /** Success answers. Error answers (problem+json) are derived, plus `errors` specific to it. */
  readonly responses: readonly DocResponse[];
  readonly errors?: readonly number[];
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Reply | Promise<Reply>;
}

export type Route = RouteDefinition<z.ZodType, z.ZodType, z.ZodType>;

/** Type-checks a route against its own schemas, then erases the types for the table. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(route: RouteDefinition<P, Q, B>): Route {
  return route as unknown as Route;
}
