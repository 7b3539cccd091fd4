import { expect, test } from '@playwright/test';

// Sessions and 2FA as a person uses them: a reload keeps the session (refresh cookie), 2FA is
// turned on with a code computed here from the shown secret, and signing in then asks for one.
const password = 'correct horse battery staple';

/** RFC 4648 base32 (the secret's alphabet) to bytes. */
function base32(text: string): Uint8Array<ArrayBuffer> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const bytes = new Uint8Array(Math.floor(bits.length / 8));
  bytes.forEach((_, i) => { bytes[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2); });
  return bytes;
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for the 30-second step `offset` steps from now. */
async function totp(secret: string, offset = 0): Promise<string> {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigUint64(0, BigInt(step));
  const key = await crypto.subtle.importKey('raw', base32(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter));
  const at = mac[19]! & 0xf;
  const value = ((mac[at]! & 0x7f) << 24) | (mac[at + 1]! << 16) | (mac[at + 2]! << 8) | mac[at + 3]!;
  return String(value % 1_000_000).padStart(6, '0');
}

test('a reload keeps you signed in; revoke another session; 2FA on, sign in with a code, off with a recovery code', async ({ page, request }) => {
  test.setTimeout(60_000);
  const email = `twofa-${Date.now()}@example.com`;
  await page.goto('/');
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();

  // The token lives in memory only; the HttpOnly refresh cookie brings the session back.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toMatch(/eyJ[\w-]*\.[\w-]*\./);

  // A second session (another device), revoked from this one: its token stops working at once.
  const other = await request.post('/api/auth/login', { data: { email, password } });
  const otherToken = ((await other.json()) as { access_token: string }).access_token;
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  const rows = page.getByTestId('session-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: '(this session)' })).toHaveCount(1);
  await rows.filter({ hasNotText: '(this session)' }).getByRole('button', { name: /^Revoke/ }).click();
  await expect(rows).toHaveCount(1);
  const me = await request.get('/api/auth/me', { headers: { Authorization: `Bearer ${otherToken}` } });
  expect(me.status()).toBe(401);

  // 2FA: the QR code and the secret, a code from it, the ten recovery codes shown once.
  await page.getByRole('button', { name: 'Set up 2FA' }).click();
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await page.getByLabel('Code from the app').fill(await totp(secret));
  await page.getByRole('button', { name: 'Turn on 2FA' }).click();
  const codes = page.getByTestId('recovery-codes').locator('li');
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.first().innerText()).trim();
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await expect(page.getByText('Two-factor authentication is on')).toBeVisible();

  // Sign out (the session ends on the server), then sign in: the password, then a code (the
  // next step's: the one just used is never accepted twice).
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.reload(); // the cookie went with the session: still signed out
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const code = page.getByLabel('Authentication code');
  await expect(code).toBeVisible();
  await code.fill(await totp(secret, 1));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  // Turning it off is a step-up: the password, then the prompt takes a recovery code.
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await page.getByLabel('Password (to turn 2FA off)').fill(password);
  await page.getByRole('button', { name: 'Turn off 2FA' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm with your authenticator' });
  await dialog.getByLabel('Authentication code').fill(recovery);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByRole('button', { name: 'Set up 2FA' })).toBeVisible();
});
