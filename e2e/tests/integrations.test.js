// As the admin, on the administration's own bundle: issue an API key
// (its secret shown once, then used and revoked), register a webhook
// endpoint on a receiver of the test's own, read its delivery log after
// a failed attempt, resend, and rotate, turn off and delete it.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { ADMIN, signInAsAdmin, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

// 422 (a form refused on purpose) and the 401 of the revoked key, asked
// from the page, are expected.
const unexpected = (errors) => errors.filter((e) => !/status of (422|401) /.test(e));

/// A receiver that answers each delivery with the next status of
/// `statuses` (then 200), and lets the test await the n-th delivery.
async function receiver(statuses) {
  const got = [];
  const waiting = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end(res.statusCode === 200 ? 'ok' : 'receiver down');
      for (const w of waiting.splice(0)) w();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const nth = (n) => new Promise((ok) => {
    const check = () => (got.length >= n ? ok(got[n - 1]) : waiting.push(check));
    check();
  });
  return { url: `http://127.0.0.1:${server.address().port}/hook`, nth, close: () => server.close() };
}

/// Standard Webhooks: base64 HMAC-SHA256 of `id.timestamp.body` under the
/// base64 key after `whsec_`.
function signed(secret, { headers, body }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`)
    .digest('base64');
  return headers['webhook-signature'].split(' ').includes(`v1,${mac}`);
}

async function signInAsAdminTo(page, path) {
  await signInAsAdmin(page, env.api);
  await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Intégrations' }).click();
  await page.waitForURL(new RegExp(`${path}$`));
}

test('the admin issues an API key, sees it used, and revokes it', async () => {
  await withPage(env.browser, 'admin-api-keys', async (page, errors) => {
    await signInAsAdminTo(page, '/admin/integrations');
    // The site's bundle never loaded the administration's pages.
    const scripts = await page.evaluate(() => [...document.querySelectorAll('link[rel=preload]')].map((l) => l.href));
    assert.ok(scripts.some((s) => /\/assets\/admin-[0-9a-f]+\.wasm$/.test(s)), scripts.join());

    await page.getByRole('button', { name: 'Nouvelle clé' }).click();
    await page.getByLabel('Nom (à quoi sert-elle ?)').fill('Comptabilité');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('Choisissez au moins une permission.').waitFor();
    await page.getByLabel('sessions:read').check();
    await page.getByLabel('bookings:read').check();
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    const secret = await page.locator('#new-secret').innerText();
    assert.match(secret, /^imm_live_[0-9a-f]{64}$/);
    const row = page.locator('table.api-keys tbody tr', { hasText: 'Comptabilité' });
    await row.waitFor();
    assert.equal(await row.locator('.scopes').innerText(), 'sessions:read bookings:read');
    assert.equal(await row.locator('.last-used').innerText(), 'jamais');
    assert.equal(secret.startsWith(await row.locator('code').innerText()), true);

    // The key works for what its scopes open, and shows as used.
    const call = (key) => page.evaluate(async (k) => (await fetch('/api/admin/sessions', {
      headers: { authorization: `Bearer ${k}` }, credentials: 'omit',
    })).status, key);
    assert.equal(await call(secret), 200);
    await page.getByRole('button', { name: "J'ai copié le secret" }).click();
    assert.equal(await page.locator('#new-secret').count(), 0);
    await page.reload();
    await row.waitFor();
    assert.notEqual(await row.locator('.last-used').innerText(), 'jamais');

    // Revoked: refused at once.
    page.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Révoquer' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await call(secret), 401);
    assert.deepEqual(unexpected(errors), []);
  });
});

test('the admin registers a webhook, reads its delivery log, resends, rotates and deletes it', async () => {
  const hook = await receiver([500]);
  try {
    await withPage(env.browser, 'admin-webhooks', async (page, errors) => {
      await page.goto(`${env.api.base}/connexion?suite=/admin/integrations`);
      await page.getByLabel('E-mail').fill(ADMIN.email);
      await page.getByLabel('Mot de passe').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(/\/admin\/integrations$/);

      await page.getByRole('button', { name: 'Nouveau webhook' }).click();
      await page.getByLabel('Adresse (https)').fill(hook.url);
      await page.getByLabel('Description (facultatif)').fill('CRM');
      await page.getByLabel('session.updated').check();
      await page.getByRole('button', { name: 'Enregistrer' }).click();
      const secret = await page.locator('#new-secret').innerText();
      assert.match(secret, /^whsec_/);
      const endpoint = page.locator('li.endpoint', { hasText: hook.url });
      await endpoint.waitFor();
      assert.equal(await endpoint.locator('.types').innerText(), 'session.updated');
      assert.equal(await endpoint.locator('.state').innerText(), 'Actif');

      // A session changes: the receiver's first answer is a 500.
      const changed = await page.evaluate(async () => {
        const [s] = await (await fetch('/api/admin/sessions')).json();
        const res = await fetch(`/api/admin/sessions/${s.id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ description: 'Programme mis à jour' }),
        });
        return res.status;
      });
      assert.equal(changed, 200);
      const first = await hook.nth(1);
      assert.ok(signed(secret, first), 'signed with the secret shown');
      assert.equal(JSON.parse(first.body).type, 'session.updated');

      // The log shows the failed attempt; "Renvoyer" sends the same event
      // again without waiting for the back-off.
      await endpoint.getByRole('button', { name: 'Journal' }).click();
      const delivery = endpoint.locator('table.deliveries tbody tr');
      await delivery.waitFor();
      assert.equal(await delivery.locator('td').first().innerText(), 'session.updated');
      assert.equal(await delivery.locator('.attempts').innerText(), '1');
      assert.match(await delivery.locator('.last').innerText(), / · 500 · \d+ ms · receiver down$/);
      await delivery.getByRole('button', { name: 'Renvoyer' }).click();
      const second = await hook.nth(2);
      assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
      assert.ok(signed(secret, second));
      // Closed and opened again, the log reads the delivery as done.
      await expectStatus(endpoint, 'Livré');

      // A new secret: shown once; the old one still signs for 24 hours.
      await page.getByRole('button', { name: "J'ai copié le secret" }).click();
      await endpoint.getByRole('button', { name: 'Nouveau secret' }).click();
      const rotated = await page.locator('#new-secret').innerText();
      assert.match(rotated, /^whsec_/);
      assert.notEqual(rotated, secret);
      await endpoint.getByText("L'ancien secret signe aussi jusqu'au").waitFor();

      await endpoint.getByRole('button', { name: 'Désactiver' }).click();
      await endpoint.locator('.state', { hasText: 'Désactivé' }).waitFor();
      await endpoint.getByRole('button', { name: 'Réactiver' }).click();
      await endpoint.locator('.state', { hasText: 'Actif' }).waitFor();

      // A private-network address is refused in production only; a URL
      // that is not one is refused here too, in French.
      await page.getByRole('button', { name: 'Nouveau webhook' }).click();
      await page.getByLabel('Adresse (https)').fill('ftp://example.com/hook');
      await page.getByLabel('booking.confirmed').check();
      await page.getByRole('button', { name: 'Enregistrer' }).click();
      await page.getByText('Cette adresse est refusée').waitFor();
      await page.getByRole('button', { name: 'Annuler' }).click();

      page.once('dialog', (d) => d.accept());
      await endpoint.getByRole('button', { name: 'Supprimer' }).click();
      await endpoint.waitFor({ state: 'detached' });
      await page.getByText('Aucun webhook.').waitFor();
      assert.deepEqual(unexpected(errors), []);
    });
  } finally {
    hook.close();
  }
});

/// Opens the log again (a fresh read each time) until its one delivery
/// shows `status`: the worker records the attempt just after the receiver
/// has answered, and nothing tells the page when.
async function expectStatus(endpoint, status) {
  const cell = endpoint.locator('table.deliveries tbody tr .status');
  for (;;) {
    await endpoint.getByRole('button', { name: 'Journal' }).click();
    await endpoint.getByRole('button', { name: 'Journal' }).click();
    await cell.waitFor();
    if ((await cell.innerText()) === status) return;
  }
}
