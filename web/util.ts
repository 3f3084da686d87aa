/** Small page helpers: element lookup, ids, and how numbers and times read. */

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
};

export function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** A userId from a person's name: letters, digits, '.', '_' and '-' only, plus a random suffix. */
export function userIdFrom(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 40);
  const id = `${base || 'guest'}-${randomId(6)}`;
  return ID_PATTERN.test(id) ? id : `guest-${randomId(6)}`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function describeEta(seconds: number): string {
  if (seconds <= 60) return 'Less than a minute to go';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `About ${plural(minutes, 'minute', 'minutes')} to go`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `About ${plural(hours, 'hour', 'hours')}${rest ? ` ${rest} min` : ''} to go`;
}

export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

export function listSeats(ids: string[]): string {
  if (ids.length <= 1) return ids.join('');
  return `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
}

/** An amount in minor units as money: 15800 EUR -> "€158.00". */
export function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}
