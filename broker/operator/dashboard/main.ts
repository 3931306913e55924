// Dashboard entry point: ask for the operator token once per browser session (checked against
// the API before it is kept), then run the live dashboard.
import { actionOf, confirmAndRun } from './actions.js';
import { ApiClient } from './api-client.js';
import { DashboardApp } from './dashboard-app.js';
import { byId, h, fill } from './dom.js';
import { deviceOfHash, devicePath } from './device-route.js';
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

/** The overview, or a device's page when the location says #/device/{id}. */
function route(app: DashboardApp): void {
  const device = deviceOfHash(window.location.hash);
  // An action's outcome belongs to the view it was taken on.
  byId('action-result').hidden = true;
  byId('overview').hidden = device !== null;
  byId('device-view').hidden = device === null;
  if (device === null) return app.devicePage.hide();
  if (device !== app.devicePage.device) app.devicePage.show(device);
  window.scrollTo(0, 0);
}

/** The search box: a device id (suggested from the loaded devices) opens its page. */
function wireSearch(app: DashboardApp): void {
  const input = byId<HTMLInputElement>('device-search');
  input.onfocus = () => fill(byId('device-ids'), ...app.deviceIds().map((id) => h('option', { value: id })));
  byId<HTMLFormElement>('search-form').onsubmit = (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (id !== '') window.location.hash = devicePath(id);
  };
}

/** Every [data-action] button, wherever it is drawn: confirm, act, then re-read what changed. */
function wireActions(api: ApiClient, app: DashboardApp): (event: MouseEvent) => void {
  return (event) => {
    const button = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
    if (button === null || button === undefined) return;
    const action = actionOf(api, button);
    if (action === null) return;
    void confirmAndRun(action).then((acted) => {
      if (acted) app.refreshAfterAction();
    });
  };
}

function run(token: string): void {
  byId('token-gate').hidden = true;
  byId('dashboard').hidden = false;
  const api = new ApiClient(token, () => {
    app.stop();
    tokenStore.clear();
    askForToken('The broker no longer accepts the token; enter it again.');
  });
  const app: DashboardApp = new DashboardApp(api, showStatus);
  const settle = byId<HTMLButtonElement>('settle-now');
  const signOut = byId<HTMLButtonElement>('sign-out');
  settle.hidden = false;
  signOut.hidden = false;
  byId('search-form').hidden = false;
  const onClick = wireActions(api, app);
  const onHash = (): void => route(app);
  document.addEventListener('click', onClick);
  window.addEventListener('hashchange', onHash);
  wireSearch(app);
  route(app);
  signOut.onclick = () => {
    app.stop();
    tokenStore.clear();
    document.removeEventListener('click', onClick);
    window.removeEventListener('hashchange', onHash);
    settle.hidden = true;
    signOut.hidden = true;
    byId('search-form').hidden = true;
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
