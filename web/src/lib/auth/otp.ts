/**
 * The step-up prompt: a call answered 401 `otp-required` asks the user for a code (the prompt
 * component is mounted once in the app) and is sent again with it in `X-OTP`.
 */
import { useSyncExternalStore } from 'react';

export interface OtpRequest {
  /** Why the code is asked for again (the problem's detail after a wrong code), else null. */
  error: string | null;
  answer: (code: string | null) => void;
}

let pending: OtpRequest | null = null;
const waiting: (() => void)[] = [];
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());

/** Ask for a code; null when the user cancels. One prompt at a time: later asks queue. */
export async function askForOtp(error: string | null): Promise<string | null> {
  while (pending) await new Promise<void>((resolve) => waiting.push(resolve));
  return new Promise((resolve) => {
    pending = {
      error,
      answer: (code) => {
        pending = null;
        notify();
        waiting.shift()?.();
        resolve(code);
      },
    };
    notify();
  });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useOtpRequest(): OtpRequest | null {
  return useSyncExternalStore(subscribe, () => pending, () => pending);
}
