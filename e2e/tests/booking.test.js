// As a new visitor: browse the sessions in French, register, book a seat,
// pay on the local checkout page and see the seat confirmed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { register, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

test('the catalog shows French dates, prices and remaining places', async () => {
  await withPage(env.browser, 'catalog', async (page, errors) => {
    await page.goto(`${env.api.base}/immersion-elite`);
    const cards = page.locator('article.session');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 8);
    const first = cards.nth(0);
    assert.match(await first.locator('.dates').innerText(), /^\d{1,2}(er)? \S+ - \d{1,2}(er)? \S+ \d{4}$/);
    assert.equal(await first.locator('.price').innerText(), '1\u202f997\u00a0€');
    assert.equal(await first.locator('.remaining').innerText(), '5 places restantes');
    // The fourth is full: "Complet", and it cannot be booked.
    const full = cards.nth(3);
    assert.equal(await full.locator('.remaining').innerText(), 'Complet');
    assert.equal(await full.locator('button.book').isDisabled(), true);
    assert.deepEqual(errors, []);
  });
});

test('a client route opened directly serves the app', async () => {
  await withPage(env.browser, 'direct-route', async (page) => {
    const res = await page.goto(`${env.api.base}/connexion`);
    assert.equal(res.status(), 200);
    await page.getByLabel('E-mail').waitFor();
  });
});

test('links change page without reloading the app, and Back and Forward follow', async () => {
  await withPage(env.browser, 'routing', async (page, errors) => {
    await page.goto(`${env.api.base}/immersion-elite`);
    await page.locator('article.session').first().waitFor();
    // A mark on the window survives only if the document is never reloaded.
    await page.evaluate(() => { window.sameDocument = true; });

    await page.getByRole('link', { name: 'Connexion' }).click();
    await page.waitForURL(/\/connexion$/);
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
    // The menu marks the page shown, for screen readers and the eye.
    const current = (name) => page.getByRole('link', { name, exact: true }).getAttribute('aria-current');
    assert.equal(await current('Connexion'), 'page');
    assert.equal(await current('Inscription'), null);
    await page.getByRole('link', { name: 'Inscription' }).click();
    await page.getByRole('heading', { name: 'Inscription' }).waitFor();
    assert.equal(await current('Inscription'), 'page');
    assert.equal(await current('Connexion'), null);

    await page.goBack();
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
    await page.goBack();
    await page.locator('article.session').first().waitFor();
    assert.equal(new URL(page.url()).pathname, '/immersion-elite');
    await page.goForward();
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
    assert.equal(await page.evaluate(() => window.sameDocument), true);

    // A path the app has no page for gets the not-found page, with a way back.
    await page.goto(`${env.api.base}/nulle-part`);
    await page.getByRole('link', { name: 'Voir les sessions Immersion Élite' }).click();
    await page.locator('article.session').first().waitFor();
    assert.deepEqual(errors, []);
  });
});

test('register, book, pay on the local checkout page, see the seat confirmed', async () => {
  await withPage(env.browser, 'book-and-pay', async (page, errors) => {
    await register(page, env.api.base, 'nouvelle@example.com');

    const card = page.locator('article.session').nth(0);
    await card.getByRole('button', { name: 'Réserver maintenant' }).click();
    await page.waitForURL(/\/local-checkout\//);
    assert.match(await page.locator('#amount').innerText(), /1\u202f997\u00a0€/);
    await page.locator('#pay').click();
    await page.waitForURL(/\/immersion-elite\/merci\?booking_id=/);
    await page.getByText('Votre place est confirmée').waitFor();

    await page.goto(`${env.api.base}/immersion-elite`);
    const after = page.locator('article.session').nth(0);
    await after.locator('.remaining').waitFor();
    assert.equal(await after.locator('.remaining').innerText(), '4 places restantes');
    assert.deepEqual(errors, []);
  });
});
