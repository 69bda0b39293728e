import type { ModuleInfo } from './api';

/** Label keys of a module: the server's defaults, overridden per module in this browser. */
export function labelKeys(m: ModuleInfo): Array<{ label: string; key: string }> {
  let custom: Record<string, string> = {};
  try {
    custom = JSON.parse(localStorage.getItem(`sieve-keys-${m.name}`) ?? '{}');
  } catch {
    localStorage.removeItem(`sieve-keys-${m.name}`);
  }
  return m.labels.map((l) => ({ label: l.label, key: custom[l.label] ?? l.key }));
}

export function saveLabelKeys(m: ModuleInfo, keys: Array<{ label: string; key: string }>): void {
  localStorage.setItem(`sieve-keys-${m.name}`, JSON.stringify(Object.fromEntries(keys.map((k) => [k.label, k.key]))));
}

/** Keys with a fixed meaning; a label key may not take one of them. */
export const RESERVED_KEYS = ['s', 'Backspace', 'z', 'ArrowRight', 'ArrowLeft', 'j', 'k', 'c', '?', 'Escape', 'm'];
