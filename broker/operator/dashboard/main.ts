// Dashboard entry point: ask for the operator token once per browser session (checked against
// the API before it is kept), then run the live dashboard.
import { ApiClient } from './api-client.js';
import { DashboardApp } from './dashboard-app.js';
import { byId } from './dom.js';
import type { LiveStatus } from './live-stream.js';

// The operator token lives in sessionStorage: asked once, forgotten when the tab closes.
const TOKEN_KEY = 'mqpay.operatorToken';
const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

const STATUS_TEXT: Record<LiveStatus, [string, string]> = {
  connecting: ['connecting', 'pill-wait'],
  live: ['live', 'pill-live'],
  reconnecting: ['reconnecting', 'pill-wait'],
  down: ['disconnected', 'pill-down'],
};

function showStatus(status: LiveStatus): void {
  const [text, style] = STATUS_TEXT[status];
  const pill = byId('live-status');
  pill.textContent = text;
  pill.className = `pill ${style}`;
}

async function tokenWorks(token: string): Promise<boolean> {
  const response = await fetch('/api/ledger', { headers: { authorization: `Bearer ${token}` } });
  return response.ok;
}

function askForToken(message: string): void {
  byId('dashboard').hidden = true;
  byId('token-gate').hidden = false;
  byId('token-error').textContent = message;
  const form = byId<HTMLFormElement>('token-form');
  form.onsubmit = (event) => {
    event.preventDefault();
    const token = byId<HTMLInputElement>('token-input').value.trim();
    tokenWorks(token).then((ok) => {
      if (!ok) return void (byId('token-error').textContent = 'The broker refused this token.');
      tokenStore.set(token);
      run(token);
    }, () => void (byId('token-error').textContent = 'The broker cannot be reached.'));
  };
}

function run(token: string): void {
  byId('token-gate').hidden = true;
  byId('dashboard').hidden = false;
  const app: DashboardApp = new DashboardApp(new ApiClient(token, () => {
    app.stop();
    tokenStore.clear();
    askForToken('The broker no longer accepts the token; enter it again.');
  }), showStatus);
  const settle = byId<HTMLButtonElement>('settle-now');
  const signOut = byId<HTMLButtonElement>('sign-out');
  settle.hidden = false;
  signOut.hidden = false;
  settle.onclick = () => void app.settleNow().catch(() => undefined);
  signOut.onclick = () => {
    app.stop();
    tokenStore.clear();
    settle.hidden = true;
    signOut.hidden = true;
    askForToken('');
  };
  app.start().catch((error: unknown) => {
    showStatus('down');
    console.error('mqpay dashboard could not load', error);
  });
}

const saved = tokenStore.get();
if (saved === null) askForToken('');
else run(saved);
