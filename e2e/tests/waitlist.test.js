// As a client who finds a session full: join its waiting list, see my
// place in "Mon compte", receive the offer of a freed seat by mail (read
// from the log mailer), follow its link and pay it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ADMIN, mailedLink, register, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

/// Calls the API as a third party would (Bearer token, JSON).
async function call(path, { token, method = 'GET', body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(`${env.api.base}${path}`, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/// The configured admin, registered and verified through its mailed link.
async function adminToken() {
  await call('/api/auth/register', { method: 'POST', body: ADMIN });
  const link = await mailedLink(env.api, ADMIN.email, 'verifier-email');
  const mailed = new URL(link).hash.replace('#token=', '');
  const first = await call('/api/auth/login', { method: 'POST', body: ADMIN });
  const verified = await call('/api/auth/verify-email', {
    method: 'POST',
    token: first.body.token,
    body: { token: mailed },
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  const login = await call('/api/auth/login', { method: 'POST', body: ADMIN });
  assert.equal(login.body.user.role, 'admin');
  return login.body.token;
}

test('join the list of a full session, get the offer by mail, pay it', async () => {
  await withPage(env.browser, 'waitlist', async (page, errors) => {
    const email = 'attente@example.com';
    await register(page, env.api.base, email);

    // The fourth demo session is full: no booking, but a waiting list.
    const full = page.locator('article.session').nth(3);
    assert.equal(await full.locator('button.book').isDisabled(), true);
    await full.getByRole('button', { name: "Rejoindre la liste d'attente" }).click();
    await full.getByText("Vous êtes n° 1 sur la liste d'attente").waitFor();

    await page.getByRole('link', { name: 'Mon compte' }).click();
    const entry = page.locator('li.waitlist-entry');
    await entry.waitFor();
    assert.match(await entry.innerText(), /N° 1 dans la file/);

    // An attendee cancels: the seat is offered to the first in line.
    const admin = await adminToken();
    const sessions = await call('/api/sessions');
    const session = sessions.body.find((s) => s.available_places === 0);
    assert.equal(session.waiting, 1);
    const attendees = await call(`/api/admin/sessions/${session.id}/bookings`, { token: admin });
    const seat = attendees.body.find((b) => b.status === 'confirmed');
    const cancelled = await call(`/api/bookings/${seat.id}/cancel`, { method: 'POST', token: admin, body: {} });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));

    const [, path] = await env.api.waitForLog(
      new RegExp(`"to":"${email.replace('.', '\\.')}"[^\\n]*?(/immersion-elite/offre/[0-9a-f-]{36})`),
    );
    await page.goto(`${env.api.base}${path}`);
    await page.waitForURL(/\/local-checkout\//);
    assert.match(await page.locator('#amount').innerText(), /1\u202f997\u00a0€/);
    await page.locator('#pay').click();
    await page.waitForURL(/\/immersion-elite\/merci\?booking_id=/);
    await page.getByText('Votre place est confirmée').waitFor();

    await page.goto(`${env.api.base}/mon-compte`);
    await page.locator('li.booking').first().waitFor();
    assert.match(await page.locator('li.booking').first().innerText(), /Confirmée/);
    await page.getByText("Vous n'êtes sur aucune liste d'attente.").waitFor();
    assert.deepEqual(errors, []);
  });
});
