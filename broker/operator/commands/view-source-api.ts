// CLI views and admin actions through a running broker's operator API. Problem answers become
// MqpayError with the API's stable code, so the CLI prints "error CODE: detail" as for local
// errors; an unreachable broker or a refused token is one line naming the URL.
import { MqpayError, isErrorCode } from '../../../shared/errors.js';
import type { ChannelView, DeviceView, SettlementDetailView, SettlementView, WalletView } from '../http/resource-views.js';
import type { PageRequest, ViewPage, ViewSource } from './view-source-types.js';

export interface ApiCaller {
  /** The broker's base URL, as the errors name it. */
  readonly base: string;
  get<T>(path: string): Promise<T>;
  /** A POST, with a JSON body or none (operator actions such as a force-close). */
  post<T>(path: string, body?: object): Promise<T>;
  /** A PUT with a JSON body (replacing a resource, such as a device's limits). */
  put<T>(path: string, body: object): Promise<T>;
  /** A GET of a non-JSON answer (the CSV export), as text. */
  text(path: string): Promise<string>;
}

/** Why fetch could not reach the broker, in an operator's words (undici hides it in `cause`). */
function unreachable(base: string, error: unknown): MqpayError {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  const why = code === 'ECONNREFUSED' ? 'connection refused (is the broker running with --http-port?)'
    : code === 'ENOTFOUND' ? 'no such host'
    : typeof cause?.message === 'string' ? cause.message : (error as Error).message;
  return new MqpayError('SERVICE_UNAVAILABLE', `cannot reach ${base}: ${why}`);
}

function problemError(base: string, status: number, statusText: string, body: unknown): MqpayError {
  const problem = (body ?? {}) as { code?: unknown; detail?: unknown };
  if (status === 401) return new MqpayError('NOT_AUTHORIZED', `${base} refused the operator token (HTTP 401): check --token or $MQPAY_OPERATOR_TOKEN`);
  return new MqpayError(isErrorCode(problem.code) ? problem.code : 'INTERNAL', `HTTP ${status}: ${typeof problem.detail === 'string' ? problem.detail : statusText}`);
}

/** `base` without a trailing slash, e.g. http://127.0.0.1:8080. */
export function apiCaller(base: string, token: string): ApiCaller {
  const send = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: object): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      throw unreachable(base, error);
    }
    if (response.ok) return response;
    throw problemError(base, response.status, response.statusText, await response.json().catch(() => null));
  };
  const call = async <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: object): Promise<T> => (await (await send(method, path, body)).json().catch(() => null)) as T;
  return { base, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body), put: (path, body) => call('PUT', path, body), text: async (path) => (await send('GET', path)).text() };
}

const query = (page: PageRequest): string => `?limit=${page.limit}&offset=${page.offset}`;

export function apiSource(base: string, token: string): ViewSource {
  const api = apiCaller(base, token);
  return {
    devices: (page) => api.get<ViewPage<DeviceView>>(`/api/devices${query(page)}`),
    wallets: (page) => api.get<ViewPage<WalletView>>(`/api/wallets${query(page)}`),
    channels: (page) => api.get<ViewPage<ChannelView>>(`/api/channels${query(page)}`),
    async settlements(page) {
      const list = await api.get<ViewPage<SettlementView>>(`/api/settlements${query(page)}`);
      const items = await Promise.all(list.items.map((item) => api.get<SettlementDetailView>(`/api/settlements/${encodeURIComponent(item.id)}`)));
      return { items, nextOffset: list.nextOffset };
    },
    close: () => undefined,
  };
}
