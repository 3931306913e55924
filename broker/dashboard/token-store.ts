// The operator token lives in sessionStorage: asked once, forgotten when the tab closes.
const KEY = 'mqpay.operatorToken';

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};
