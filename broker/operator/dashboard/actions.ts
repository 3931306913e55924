// Operator actions with a confirmation: each asks in a dialog (with an amount for a withdrawal),
// then calls the API and shows the outcome, or the API's error code and message, in the status
// line. Nothing acts without the operator's explicit "Confirm".
import { ApiError, type ApiClient } from './api-client.js';
import { byId } from './dom.js';

export interface ActionRequest {
  readonly title: string;
  readonly message: string;
  /** Asks for an amount (a withdrawal); the confirmed amount is passed to `run`. */
  readonly amount?: boolean;
  readonly run: (amount: string) => Promise<string>;
}

/** Opens the confirmation dialog; resolves with the amount typed (or '') on Confirm, null on Cancel. */
function confirmDialog(request: ActionRequest): Promise<string | null> {
  const dialog = byId<HTMLDialogElement>('confirm-dialog');
  byId('confirm-title').textContent = request.title;
  byId('confirm-message').textContent = request.message;
  const amountRow = byId('confirm-amount-row');
  const amount = byId<HTMLInputElement>('confirm-amount');
  amountRow.hidden = request.amount !== true;
  amount.required = request.amount === true;
  amount.value = '';
  return new Promise((resolve) => {
    const form = byId<HTMLFormElement>('confirm-form');
    const cancel = byId<HTMLButtonElement>('confirm-cancel');
    const finish = (value: string | null): void => {
      form.onsubmit = null;
      cancel.onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      finish(request.amount === true ? amount.value.trim() : '');
    };
    cancel.onclick = () => finish(null);
    dialog.onclose = () => finish(null);
    dialog.showModal();
    (request.amount === true ? amount : byId<HTMLButtonElement>('confirm-ok')).focus();
  });
}

export function showResult(text: string, ok: boolean): void {
  const line = byId('action-result');
  line.textContent = text;
  line.className = ok ? 'action-result ok' : 'action-result bad';
  line.hidden = false;
}

/** Asks, then acts; the status line says what happened or why not. Resolves true when it acted. */
export async function confirmAndRun(request: ActionRequest): Promise<boolean> {
  const amount = await confirmDialog(request);
  if (amount === null) return false;
  try {
    showResult(await request.run(amount), true);
    return true;
  } catch (error) {
    showResult(error instanceof ApiError ? `${error.code}: ${error.message}` : `failed: ${(error as Error).message}`, false);
    return false;
  }
}

/** A fresh idempotency key per withdrawal ([A-Za-z0-9_.:-], at most 64). */
export function newIdempotencyKey(): string {
  return `dashboard-${crypto.randomUUID()}`;
}

/** The actions the buttons name in data-action, against the operator API. */
export function actionOf(api: ApiClient, button: HTMLElement): ActionRequest | null {
  const device = button.dataset.device ?? '';
  const channel = button.dataset.channel ?? '';
  const path = encodeURIComponent(device);
  switch (button.dataset.action) {
    case 'disable': return { title: `Disable ${device}?`, message: 'Its connections are refused, its live session is closed and every channel where it pays starts closing, until it is enabled again.', run: async () => (await api.post(`/api/devices/${path}/disable`), `${device} disabled`) };
    case 'enable': return { title: `Enable ${device}?`, message: 'It may connect and pay again.', run: async () => (await api.post(`/api/devices/${path}/enable`), `${device} enabled`) };
    case 'close-channel': return {
      title: `Force-close channel ${channel.slice(0, 8)}…?`,
      message: 'A dispute window opens: the payee may still redeem a better voucher; then the latest voucher is settled and the rest refunded to the payer.',
      run: async () => {
        const result = await api.post<{ channel: { state: string; closesAt: string | null } }>(`/api/channels/${channel}/close`);
        return `channel ${channel.slice(0, 8)}… ${result.channel.state}${result.channel.closesAt === null ? '' : ` until ${result.channel.closesAt}`}`;
      },
    };
    case 'settle': return {
      title: 'Settle now?', message: 'Every channel with an unsettled voucher is settled now, as an epoch out of turn.',
      run: async () => {
        const result = await api.post<{ settlement: { id: string; amount: string; channels: number } | null }>('/api/settlements');
        return result.settlement === null ? 'nothing was unsettled' : `settled ${result.settlement.amount} over ${result.settlement.channels} channels (${result.settlement.id})`;
      },
    };
    case 'withdraw': return {
      title: `Withdraw from ${device}?`, message: "The amount leaves the device's wallet for outside (a payout, once per request).", amount: true,
      run: async (amount) => {
        const result = await api.post<{ balance?: string }>(`/api/wallets/${path}/payouts`, { amount, idempotencyKey: newIdempotencyKey() });
        return `withdrew ${amount} from ${device}${result.balance === undefined ? '' : `; balance ${result.balance}`}`;
      },
    };
    default: return null;
  }
}
