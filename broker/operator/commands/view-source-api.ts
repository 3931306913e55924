// CLI views from a running broker's operator API. Problem answers become MqpayError with the
// API's stable code, so the CLI prints "error CODE: detail" as for local errors.
import { MqpayError, isErrorCode } from '../../../shared/errors.js';
import type { ChannelView, DeviceView, SettlementDetailView, SettlementView, WalletView } from '../http/resource-views.js';
import type { PageRequest, ViewPage, ViewSource } from './view-source-types.js';

export interface ApiCaller {
  get<T>(path: string): Promise<T>;
  /** A POST of an operator action, with a JSON body when it takes one (a payout, a move). */
  post<T>(path: string, body?: unknown): Promise<T>;
  /** A GET of a non-JSON answer (the CSV export), as text. */
  text(path: string): Promise<string>;
}

/** `base` without a trailing slash, e.g. http://127.0.0.1:8080. */
export function apiCaller(base: string, token: string): ApiCaller {
  const send = async (method: 'GET' | 'POST', path: string, body: unknown): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      throw new MqpayError('SERVICE_UNAVAILABLE', `cannot reach ${base}: ${(error as Error).message}`);
    }
    if (response.ok) return response;
    const problem = ((await response.json().catch(() => null)) ?? {}) as { code?: unknown; detail?: unknown };
    throw new MqpayError(isErrorCode(problem.code) ? problem.code : 'INTERNAL', `HTTP ${response.status}: ${typeof problem.detail === 'string' ? problem.detail : response.statusText}`);
  };
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => (await (await send(method, path, body)).json().catch(() => null)) as T;
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body), text: async (path) => (await send('GET', path, undefined)).text() };
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
