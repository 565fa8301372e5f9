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

test('a session has its own page, from its card and from a deep link, with its programme', async () => {
  await withPage(env.browser, 'session-page', async (page, errors) => {
    await page.goto(`${env.api.base}/immersion-elite`);
    const card = page.locator('article.session').nth(1);
    const dates = await card.locator('.dates').innerText();
    await card.locator('.dates a').click();
    await page.waitForURL(/\/immersion-elite\/[0-9a-f-]{36}$/);
    const url = page.url();
    await page.getByRole('heading', { name: 'Immersion Élite à Paris' }).waitFor();
    const programme = page.getByRole('region', { name: 'Programme' });
    const paragraphs = await programme.locator('p').allInnerTexts();
    assert.equal(paragraphs.length, 3);
    assert.match(paragraphs[0], /^Cinq jours en petit groupe/);
    assert.match(paragraphs[1], /Mercredi et jeudi/);
    // The card beside it: same dates, price, places and booking button.
    const shown = page.locator('article.session');
    assert.equal(await shown.count(), 1);
    assert.equal(await shown.locator('.dates').innerText(), dates);
    assert.equal(await shown.locator('.price').innerText(), '1\u202f997\u00a0€');
    assert.equal(await shown.locator('.remaining').innerText(), '2 places restantes');
    assert.equal(await page.title(), `Immersion Élite · ${dates} · Paris`);
    // Back to the catalog: the site's title again.
    await page.getByRole('link', { name: '← Toutes les sessions' }).click();
    await page.locator('article.session').first().waitFor();
    assert.equal(await page.title(), 'Immersion Élite');

    // Opened directly (a shared link): the server already names the session
    // in the page it sends, for link previews.
    const res = await page.goto(url);
    const html = await res.text();
    assert.match(html, new RegExp(`<title>Immersion Élite · ${dates} · Paris</title>`));
    assert.match(html, /<meta name="description" content="[^"]*Cinq jours en petit groupe/);
    assert.match(html, /<div id="boot">.*<h1>Immersion Élite à Paris<\/h1>/s);
    await programme.waitFor();
    assert.equal(await programme.locator('p').count(), 3);
    // The app took over from the server's first screen: one of each.
    assert.equal(await page.locator('#boot').count(), 0);
    assert.equal(await page.locator('h1').count(), 1);
    // Signed out, booking asks to sign in and comes back to this page.
    await page.getByRole('button', { name: 'Réserver maintenant' }).click();
    await page.waitForURL(`${env.api.base}/connexion?suite=${new URL(url).pathname}`);

    await page.goto(`${env.api.base}/immersion-elite/00000000-0000-4000-8000-000000000000`);
    await page.getByRole('heading', { name: 'Session introuvable' }).waitFor();
    assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
  });
});

test('signing in never leads off the site, whatever the link says', async () => {
  await withPage(env.browser, 'no-open-redirect', async (page) => {
    await register(page, env.api.base, 'redirige@example.com');
    await page.getByRole('button', { name: 'Déconnexion' }).click();
    await page.getByRole('link', { name: 'Connexion' }).waitFor();
    for (const next of ['//example.com', '/\\example.com', '/\t/example.com', 'https://example.com']) {
      await page.goto(`${env.api.base}/connexion?suite=${encodeURIComponent(next)}`);
      await page.getByLabel('E-mail').fill('redirige@example.com');
      await page.getByLabel('Mot de passe').fill('un mot de passe solide');
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(`${env.api.base}/immersion-elite`);
      await page.getByRole('button', { name: 'Déconnexion' }).click();
      await page.getByRole('link', { name: 'Connexion' }).waitFor();
    }
  });
});

test('a client route opened directly serves the app', async () => {
  await withPage(env.browser, 'direct-route', async (page) => {
    const res = await page.goto(`${env.api.base}/connexion`);
    assert.equal(res.status(), 200);
    await page.getByLabel('E-mail').waitFor();
    // The app's module goes out gzipped to a browser that takes it.
    const wasm = (await res.text()).match(/href="(\/assets\/web-[0-9a-f]+\.wasm)"/)[1];
    const module = await page.request.get(`${env.api.base}${wasm}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(module.headers()['content-encoding'], 'gzip');
    assert.equal(module.headers()['content-type'], 'application/wasm');
    assert.equal((await module.body()).subarray(0, 4).toString('latin1'), '\0asm');
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

    // The invoice: linked from the booking and listed with the others; its
    // page (a tab of its own, to print) shows the number and the amount.
    await page.getByRole('link', { name: 'Mon compte' }).click();
    const booking = page.locator('li.booking', { hasText: 'Confirmée' });
    await booking.waitFor();
    const listed = page.getByRole('region', { name: 'Mes factures' }).getByRole('link', { name: /^Facture n° / });
    await listed.waitFor();
    const number = (await listed.innerText()).replace('Facture n° ', '');
    assert.match(number, /^\d{4}-\d{6}$/);
    const [invoice] = await Promise.all([
      page.context().waitForEvent('page'),
      booking.getByRole('link', { name: 'Facture' }).click(),
    ]);
    await invoice.waitForLoadState();
    assert.equal(await invoice.locator('#number').innerText(), number);
    assert.equal(await invoice.locator('#total').innerText(), '1\u202f997\u00a0€');
    assert.match(await invoice.locator('.bill-to').innerText(), /nouvelle@example\.com/);
    assert.match(await invoice.locator('tr.vat').innerText(), /TVA non applicable/);
    await invoice.close();
    assert.deepEqual(errors, []);
  });
});
