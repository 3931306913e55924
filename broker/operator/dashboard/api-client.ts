// fetch() against the operator API with the bearer token; problem+json answers become ApiError
// carrying the stable code. A 401 means the token is wrong or was rotated: the app asks again.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, detail: string) {
    super(detail);
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly limit: number;
  readonly offset: number;
  readonly nextOffset: number | null;
}

export class ApiClient {
  constructor(readonly token: string, private readonly onUnauthorized: () => void) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (response.ok) return (await response.json()) as T;
    const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
    if (response.status === 401) this.onUnauthorized();
    throw new ApiError(response.status, problem.code ?? 'INTERNAL', problem.detail ?? response.statusText);
  }
}
