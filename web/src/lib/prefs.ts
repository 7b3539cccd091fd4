/** Display preferences (theme, time zone): the only thing the app keeps in localStorage. */
import { useSyncExternalStore } from 'react';
import type { TimeZoneChoice } from './format';

export type Theme = 'system' | 'light' | 'dark';
export interface Prefs {
  theme: Theme;
  timeZone: TimeZoneChoice;
}

const KEY = 'tradebot.prefs';
const listeners = new Set<() => void>();

function load(): Prefs {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>;
    return {
      theme: stored.theme === 'light' || stored.theme === 'dark' ? stored.theme : 'system',
      timeZone: stored.timeZone === 'utc' ? 'utc' : 'local',
    };
  } catch {
    return { theme: 'system', timeZone: 'local' };
  }
}

let prefs = load();

export function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function setPrefs(change: Partial<Prefs>): void {
  prefs = { ...prefs, ...change };
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // private mode: the choice lasts this visit
  }
  applyTheme(prefs.theme);
  listeners.forEach((listener) => listener());
}

export function usePrefs(): Prefs {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => prefs,
    () => prefs,
  );
}

export function initialPrefs(): Prefs {
  return prefs;
}
