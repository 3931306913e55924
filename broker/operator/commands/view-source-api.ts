// CLI views from a running broker's operator API. Problem answers become MqpayError with the
// API's stable code, so the CLI prints "error CODE: detail" as for local errors.
import { MqpayError, isErrorCode } from '../../../shared/errors.js';
import type { ChannelView, DeviceView, SettlementDetailView, SettlementView, WalletView } from '../http/resource-views.js';
import type { PageRequest, ViewPage, ViewSource } from './view-source-types.js';

export interface ApiCaller {
  get<T>(path: string): Promise<T>;
  /** A POST (operator actions such as a force-close), with a JSON body when one is given. */
  post<T>(path: string, body?: unknown): Promise<T>;
}

/** `base` without a trailing slash, e.g. http://127.0.0.1:8080. */
export function apiCaller(base: string, token: string): ApiCaller {
  const call = async <T>(method: 'GET' | 'POST', path: string, json?: unknown): Promise<T> => {
      let response: Response;
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (json !== undefined) headers['content-type'] = 'application/json';
      try {
        response = await fetch(`${base}${path}`, { method, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
      } catch (error) {
        throw new MqpayError('SERVICE_UNAVAILABLE', `cannot reach ${base}: ${(error as Error).message}`);
      }
      const body = (await response.json().catch(() => null)) as unknown;
      if (response.ok) return body as T;
      const problem = (body ?? {}) as { code?: unknown; detail?: unknown };
      throw new MqpayError(isErrorCode(problem.code) ? problem.code : 'INTERNAL', `HTTP ${response.status}: ${typeof problem.detail === 'string' ? problem.detail : response.statusText}`);
  };
  return { get: (path) => call('GET', path), post: (path, json) => call('POST', path, json) };
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
