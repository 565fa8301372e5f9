// As a new member: subscribe through the local gateway, enter /app, cancel
// at the period's end (still in), then cancel now in the local Customer
// Portal and land on the blocked screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { register, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

test('without a subscription, /app shows the blocked screen', async () => {
  await withPage(env.browser, 'blocked-anonymous', async (page, errors) => {
    await page.goto(`${env.api.base}/app`);
    await page.getByRole('heading', { name: 'Accès réservé aux abonnés' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

test('subscribe, enter the members area, cancel in the portal, get blocked', async () => {
  await withPage(env.browser, 'subscribe-cancel', async (page, errors) => {
    await register(page, env.api.base, 'membre@example.com');

    await page.goto(`${env.api.base}/abonnement`);
    // The configured prices (the local gateway's: 29 € and 290 €).
    await page.locator('#price-monthly', { hasText: '€' }).waitFor();
    assert.match(await page.locator('#price-monthly').innerText(), /^29\s€ \/ mois$/);
    assert.match(await page.locator('#price-yearly').innerText(), /^290\s€ \/ an$/);
    assert.match(await page.locator('#yearly-saving').innerText(), /^soit 58\s€ d'économie par an$/);
    await page.locator('#plan-monthly').click();
    await page.waitForURL(/\/local-checkout\/cs_local_sub_/);
    await page.getByText('Abonnement mensuel').waitFor();
    await page.locator('#pay').click();
    await page.waitForURL(/\/abonnement\/merci$/);

    await page.goto(`${env.api.base}/app`);
    await page.getByRole('heading', { name: 'Espace membres' }).waitFor();

    // Mon compte shows the plan and its renewal date.
    await page.goto(`${env.api.base}/mon-compte`);
    await page.locator('.plan').waitFor();
    assert.equal(await page.locator('.plan').innerText(), 'Formule : Mensuel · actif');
    assert.match(await page.locator('.period').innerText(), /^Renouvellement le \d{1,2}(er)? \S+ \d{4}\.$/);

    // Cancelling at the period's end keeps access until then, and says so.
    await page.goto(`${env.api.base}/app`);
    await page.locator('#manage').click();
    await page.waitForURL(/\/local-portal\//);
    assert.equal(await page.locator('#status').innerText(), 'active');
    await page.getByRole('button', { name: 'Résilier à la fin de la période' }).click();
    await page.locator('#cancel-scheduled').getByText('oui').waitFor();
    await page.locator('#return').click();
    await page.waitForURL(/\/mon-compte$/);
    await page.locator('.period').waitFor();
    assert.equal(await page.locator('.plan').innerText(), 'Formule : Mensuel · actif');
    assert.match(await page.locator('.period').innerText(), /^Résilié : l'accès se termine le \d{1,2}(er)? \S+ \d{4}\.$/);
    await page.goto(`${env.api.base}/app`);
    await page.getByRole('heading', { name: 'Espace membres' }).waitFor();

    await page.locator('#manage').click();
    await page.waitForURL(/\/local-portal\//);
    await page.locator('#cancel-now').click();
    await page.locator('#status').getByText('canceled').waitFor();
    await page.locator('#return').click();
    await page.waitForURL(/\/mon-compte$/);
    await page.getByText('Aucun abonnement.').or(page.locator('.plan', { hasText: 'inactif' })).waitFor();

    await page.goto(`${env.api.base}/app`);
    await page.getByRole('heading', { name: 'Accès réservé aux abonnés' }).waitFor();
    assert.equal(await page.locator('.reason').innerText(), 'Votre abonnement a été résilié.');
    assert.deepEqual(errors, []);
  });
});
