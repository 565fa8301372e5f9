// As the admin: create a session and see it on the public page, edit it,
// delete one without bookings (and be told why one with bookings cannot
// be), download the attendees' CSV; then the subscribers and resources.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import {
  ADMIN, mailedLink, register, signInAsAdmin as signInAsAdminTo, useApiAndBrowser, withPage,
} from './harness.js';

const env = useApiAndBrowser({ before, after });

async function signInAsAdmin(page) {
  await signInAsAdminTo(page, env.api);
  await openSessions(page);
}

/// From any admin page, the sessions screen through the admin menu.
async function openSessions(page) {
  await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Sessions' }).click();
  await page.waitForURL(/\/admin\/immersion-sessions$/);
}

// Chromium logs every 4xx answer; these tests cause 422 and 409 on purpose
// (and check the message shown), so only those are set aside.
const unexpected = (errors) => errors.filter((e) => !/status of (422|409) /.test(e));

const row = (page, text) => page.locator('tbody tr', { hasText: text });

async function fillSession(page, { starts, ends, location, price, places }) {
  await page.getByLabel('Premier jour').fill(starts);
  await page.getByLabel('Dernier jour').fill(ends);
  await page.getByLabel('Lieu').fill(location);
  await page.getByLabel('Prix (€)').fill(price);
  await page.getByLabel('Places', { exact: true }).fill(places);
}

test('the admin manages sessions: create, see it public, edit, delete, attendees CSV', async () => {
  await withPage(env.browser, 'admin-sessions', async (page, errors) => {
    await signInAsAdmin(page);
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr').count(), 8);
    assert.equal(await row(page, '8 / 8').locator('.status').innerText(), 'Complète');

    // The API's validation comes back in French, next to the form.
    await page.getByRole('button', { name: 'Nouvelle session' }).click();
    // Dates over a public holiday are warned of as they are typed.
    await fillSession(page, { starts: '2031-12-22', ends: '2031-12-26', location: 'Lyon', price: '1997', places: '8' });
    assert.equal(
      await page.locator('.session-form .warning').innerText(),
      "Jour férié pendant la session : 25 décembre 2031 (Noël). Il ne compte pas dans la feuille d'émargement ni dans les heures prévues.",
    );
    await fillSession(page, { starts: '2031-06-13', ends: '2031-06-09', location: 'Lyon', price: '1997', places: '8' });
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('Le dernier jour ne peut pas précéder le premier.').waitFor();
    await page.getByLabel('Dernier jour').fill('2031-06-13');
    await page.getByLabel('Premier jour').fill('2031-06-09');
    assert.equal(await page.locator('.session-form .warning').count(), 0);
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await row(page, 'Lyon').waitFor();
    assert.equal(await row(page, 'Lyon').locator('.dates').innerText(), '9 juin - 13 juin 2031');
    assert.equal(await row(page, 'Lyon').locator('.status').innerText(), 'Ouverte');

    // It is on the public page.
    await page.getByRole('link', { name: 'Immersion Élite' }).first().click();
    const card = page.locator('article.session', { hasText: 'Lyon' });
    await card.waitFor();
    assert.equal(await card.locator('.dates').innerText(), '9 juin - 13 juin 2031');
    assert.equal(await card.locator('.remaining').innerText(), '8 places restantes');

    // Edit it.
    await page.getByRole('link', { name: 'Administration' }).click();
    await openSessions(page);
    await row(page, 'Lyon').getByRole('button', { name: 'Modifier' }).click();
    await page.getByLabel('Lieu').fill('Lyon Confluence');
    await page.getByLabel('Places', { exact: true }).fill('10');
    await page.getByLabel('Prix (€)').fill('2 490,50');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await row(page, 'Lyon Confluence').locator('.places', { hasText: '0 / 10' }).waitFor();
    assert.equal(await row(page, 'Lyon Confluence').locator('.price').innerText(), '2\u202f490,50\u00a0€');

    // Deactivate, then delete: it has no bookings.
    await row(page, 'Lyon Confluence').getByRole('button', { name: 'Désactiver' }).click();
    await row(page, 'Lyon Confluence').locator('.status', { hasText: 'Désactivée' }).waitFor();
    page.once('dialog', (d) => d.accept());
    await row(page, 'Lyon Confluence').getByRole('button', { name: 'Supprimer' }).click();
    await row(page, 'Lyon Confluence').waitFor({ state: 'detached' });
    assert.equal(await page.locator('tbody tr').count(), 8);

    // A session with bookings cannot be deleted: the reason is shown.
    page.once('dialog', (d) => d.accept());
    await row(page, '3 / 8').getByRole('button', { name: 'Supprimer' }).click();
    await page.getByText('Cette session a des réservations').waitFor();
    assert.equal(await page.locator('tbody tr').count(), 8);

    // Its attendees, and their CSV.
    await row(page, '3 / 8').getByRole('button', { name: 'Participants' }).click();
    await page.locator('.attendees li').first().waitFor();
    assert.equal(await page.locator('.attendees li').count(), 3);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Télécharger le CSV' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^participants-.*\.csv$/);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
    assert.equal(csv[0], 'booking_id,name,email,status,amount_cents,currency,refunded_cents,created_at');
    assert.equal(csv.length, 4);
    assert.ok(csv.slice(1).every((l) => l.includes(',confirmed,199700,EUR,')), csv.join('\n'));
    // The demo attendees are named, in the list too.
    assert.ok(await page.locator('.attendees li .name', { hasText: 'Camille Martin' }).count() === 1);

    // The attendance sheet opens in its own tab: one row per attendee by
    // last name, a signature box per half-day of the five days.
    const [sheet] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('link', { name: "Feuille d'émargement" }).click(),
    ]);
    await sheet.waitForLoadState();
    await sheet.getByRole('heading', { name: /Feuille d'émargement/ }).waitFor();
    assert.deepEqual(await sheet.locator('td.attendee').allInnerTexts(), [
      'BERNARD Hugo',
      'DUBOIS Léa',
      'MARTIN Camille',
    ]);
    assert.equal(await sheet.locator('tbody tr').first().locator('td.sign').count(), 10);
    assert.equal(await sheet.locator('thead th[colspan="2"]').count(), 5);
    // Headed with the session's trainer.
    assert.equal(await sheet.locator('.trainer').innerText(), 'Claire Fontaine');
    await sheet.close();
    assert.deepEqual(unexpected(errors), []);
  });
});

test('the admin sees the subscribers and edits the members resources', async () => {
  await withPage(env.browser, 'admin-members', async (page, errors) => {
    await page.goto(`${env.api.base}/connexion?suite=/admin/abonnements`);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Mot de passe').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(/\/admin\/abonnements$/);
    await page.locator('table.subscribers tbody tr', { hasText: ADMIN.email }).waitFor();
    await page.getByLabel('Afficher').selectOption('actifs');
    await page.getByText('Aucun compte.').or(page.locator('table.subscribers')).first().waitFor();

    await page.getByRole('link', { name: 'Ressources' }).click();
    await page.waitForURL(/\/admin\/ressources$/);
    await page.getByRole('button', { name: 'Nouvelle ressource' }).click();
    await page.getByLabel('Titre').fill('Replay du module 1');
    await page.getByLabel('Type').selectOption('video');
    await page.getByLabel('Adresse (lien, vidéo, document)').fill('ftp://exemple');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText("L'adresse doit commencer par https:// ou http://.").waitFor();
    await page.getByLabel('Adresse (lien, vidéo, document)').fill('https://video.example.com/1');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    // Saved (the list shows it), or refused for another reason: then say
    // why (the first refusal's line may still be on screen a moment).
    const saved = page.locator('.admin-resources li', { hasText: 'Replay du module 1' });
    const refused = page.locator('.resource-form .error', { hasNotText: "L'adresse doit" });
    await saved.or(refused).first().waitFor();
    assert.equal(await refused.count(), 0, `refused: ${await refused.allInnerTexts()}`);
    await saved.waitFor();

    // Admins always enter the members area, and see it there.
    await page.getByRole('link', { name: 'Espace membres' }).click();
    await page.getByRole('link', { name: 'Replay du module 1' }).waitFor();
    // The demo's resources are there too; an admin without a subscription
    // is not offered a portal that could only fail.
    await page.getByText("Bienvenue dans l'espace membres").waitFor();
    assert.equal(await page.locator('#manage').count(), 0);
    assert.deepEqual(unexpected(errors), []);
  });
});

test('the admin makes a verified member admin and takes it back, never their own role', async () => {
  const email = 'future.admin@example.com';
  await withPage(env.browser, 'admin-roles-member', async (page) => {
    await register(page, env.api.base, email, { next: '/mon-compte' });
    await page.getByRole('heading', { name: 'Adresse e-mail à confirmer' }).waitFor();
    await page.goto(await mailedLink(env.api, email, 'verifier-email'));
    await page.getByText('est confirmée.').waitFor();
  });
  await withPage(env.browser, 'admin-roles', async (page, errors) => {
    await page.goto(`${env.api.base}/connexion?suite=/admin/abonnements`);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Mot de passe').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(/\/admin\/abonnements$/);
    const member = page.locator('table.subscribers tbody tr', { hasText: email });
    await member.getByRole('button', { name: 'Rendre admin' }).click();
    await member.getByRole('button', { name: 'Retirer le rôle admin' }).waitFor();
    assert.match(await member.locator('td.role').innerText(), /^Admin/);
    // The admin's own row offers nothing (the buttons above show once the
    // page knows who it is for).
    const own = page.locator('table.subscribers tbody tr', { hasText: ADMIN.email });
    assert.equal(await own.locator('button.role').count(), 0);
    await member.getByRole('button', { name: 'Retirer le rôle admin' }).click();
    await member.getByRole('button', { name: 'Rendre admin' }).waitFor();
    assert.match(await member.locator('td.role').innerText(), /^Membre/);
    assert.deepEqual(unexpected(errors), []);
  });
});

test('at phone width the admin screens are cards: nothing cut off, every action reachable', async () => {
  await withPage(env.browser, 'admin-phone', async (page, errors) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${env.api.base}/connexion?suite=/admin/immersion-sessions`);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Mot de passe').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(/\/admin\/immersion-sessions$/);
    const rows = page.locator('table.admin-sessions tbody tr');
    await rows.first().waitFor();

    const fits = () => page.evaluate(() => {
      const root = document.documentElement;
      return { scroll: root.scrollWidth, client: root.clientWidth };
    });
    let { scroll, client } = await fits();
    assert.ok(scroll <= client, `the page scrolls sideways: ${scroll} > ${client}`);
    // Every cell of every card is inside the screen, and says what it is.
    const outside = await rows.evaluateAll((trs) => trs.flatMap((tr) => [...tr.querySelectorAll('td, button')]
      .filter((el) => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; })
      .map((el) => el.textContent)));
    assert.deepEqual(outside, []);
    const label = await rows.first().locator('td.status').evaluate((td) => getComputedStyle(td, '::before').content);
    assert.equal(label, '"Statut"');

    // Each action of a card can be clicked where it is.
    const card = rows.first();
    for (const name of ['Modifier', 'Désactiver', 'Supprimer', 'Participants']) {
      await card.getByRole('button', { name }).click({ trial: true });
    }
    await card.getByRole('button', { name: 'Participants' }).click();
    await page.locator('section.attendees li').first().waitFor();
    await card.getByRole('button', { name: 'Modifier' }).click();
    await page.getByRole('form', { name: 'Modifier la session' }).waitFor();
    ({ scroll, client } = await fits());
    assert.ok(scroll <= client, `with the form open: ${scroll} > ${client}`);

    await page.getByRole('link', { name: 'Abonnés' }).click();
    await page.locator('table.subscribers tbody tr').first().waitFor();
    ({ scroll, client } = await fits());
    assert.ok(scroll <= client, `subscribers: ${scroll} > ${client}`);
    assert.deepEqual(unexpected(errors), []);
  });
});

test('the dashboard shows the figures and draws them from the demo data', async () => {
  await withPage(env.browser, 'admin-dashboard', async (page, errors) => {
    await page.goto(`${env.api.base}/connexion?suite=/admin`);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Mot de passe').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('heading', { name: 'Tableau de bord' }).waitFor();
    const stats = await page.evaluate(async () => (await fetch('/api/admin/stats')).json());

    // The figures are the API's, in French.
    const figure = (name) => page.locator('.figures div', { hasText: name }).locator('dd').innerText();
    const euros = (cents) => new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' })
      .format(cents / 100).replace(',00', '');
    assert.equal(await figure('Places vendues'), String(stats.seats_sold_upcoming));
    assert.equal(await figure("Chiffre d'affaires du mois"), euros(stats.revenue_this_month_cents));

    // Revenue: twelve bars, as high as each month's revenue (the demo's
    // paid seats fall in this month: the last bar is the tallest).
    const revenue = page.getByRole('img', { name: /^Chiffre d'affaires par mois/ });
    const heights = await revenue.locator('rect').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
    assert.equal(heights.length, 12);
    assert.equal(stats.revenue_by_month.length, 12);
    const top = Math.max(...stats.revenue_by_month.map((m) => m.revenue_cents));
    assert.ok(top > 0, 'the demo has revenue');
    stats.revenue_by_month.forEach((m, i) => {
      assert.equal(heights[i], Math.floor(Math.max(m.revenue_cents, 0) * 180 / top), m.month);
    });
    // Fill: one row per coming session, the paid part as wide as its share.
    const fill = page.getByRole('img', { name: /^Remplissage de \d+ sessions/ });
    const rows = fill.locator('g.fill-row');
    assert.equal(await rows.count(), stats.upcoming.length);
    const first = stats.upcoming[0];
    const paid = Number(await rows.first().locator('rect.paid').getAttribute('width'));
    assert.equal(paid, Math.floor(Math.min(first.confirmed, first.max_places) * 340 / first.max_places));
    assert.equal(await rows.first().locator('text').last().textContent(), `${first.confirmed} / ${first.max_places}`);
    assert.deepEqual(unexpected(errors), []);
  });
});
