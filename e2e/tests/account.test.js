// As a buyer: my booking is confirmed in "Mon compte"; cancelling shows the
// refund rule first, then refunds, gives the seat back and leaves a credit
// note beside the invoice. Also the phone
// width and the keyboard.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { register, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

test('a confirmed booking shows in Mon compte, and cancelling it refunds and frees the seat', async () => {
  await withPage(env.browser, 'account-cancel', async (page, errors) => {
    await register(page, env.api.base, 'annule@example.com');
    // The header now knows who is signed in.
    await page.getByRole('link', { name: 'Mon compte' }).waitFor();

    // The fifth session starts in about two months: past the 14-day cutoff.
    const card = page.locator('article.session').nth(4);
    assert.equal(await card.locator('.remaining').innerText(), '8 places restantes');
    const dates = await card.locator('.dates').innerText();
    await card.getByRole('button', { name: 'Réserver maintenant' }).click();
    await page.waitForURL(/\/local-checkout\//);
    await page.locator('#pay').click();
    await page.getByText('Votre place est confirmée').waitFor();

    await page.getByRole('link', { name: 'Mon compte' }).click();
    await page.waitForURL(/\/mon-compte$/);
    const booking = page.locator('li.booking');
    await booking.waitFor();
    assert.equal(await booking.count(), 1);
    assert.equal(await booking.locator('.dates').innerText(), dates);
    assert.equal(await booking.locator('.status').innerText(), 'Confirmée');
    assert.equal(await booking.locator('.amount').innerText(), '1\u202f997\u00a0€');

    // "Ajouter à mon agenda" downloads the session as a calendar file.
    const bookingId = await booking.getAttribute('data-booking-id');
    const [ics] = await Promise.all([
      page.waitForEvent('download'),
      booking.getByRole('link', { name: 'Ajouter à mon agenda' }).click(),
    ]);
    assert.match(ics.suggestedFilename(), /^immersion-elite-\d{4}-\d{2}-\d{2}\.ics$/);
    const calendar = await readFile(await ics.path(), 'utf8');
    assert.match(calendar, /^BEGIN:VCALENDAR\r\n/);
    assert.match(calendar, new RegExp(`\r\nUID:booking-${bookingId}@127\\.0\\.0\\.1\r\n`));
    assert.match(calendar, /\r\nDTSTART;VALUE=DATE:\d{8}\r\n/);

    // The rule comes before anything is cancelled.
    await booking.getByRole('button', { name: 'Annuler la réservation' }).click();
    const rule = await booking.locator('.refund-rule').innerText();
    assert.match(rule, /remboursée intégralement \(1\u202f997\u00a0€\) jusqu'au \d{1,2}(er)? \S+ \d{4} inclus/);
    // Changing one's mind keeps the seat.
    await booking.getByRole('button', { name: 'Garder ma place' }).click();
    assert.equal(await booking.locator('.status').innerText(), 'Confirmée');
    await booking.getByRole('button', { name: 'Annuler la réservation' }).click();
    await booking.getByRole('button', { name: "Confirmer l'annulation" }).click();
    // The refund is made after the answer: owed at first, made soon after.
    await page.locator('li.booking .status', { hasText: /^Rembours(ée|ement en cours)$/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Annuler la réservation' }).count(), 0);
    await page.reload();
    await page.locator('li.booking .status', { hasText: 'Remboursée' }).waitFor();
    // The refund left a credit note beside the invoice it corrects.
    const invoices = page.getByRole('region', { name: 'Mes factures' });
    const note = invoices.locator('li.credit-note');
    await note.waitFor();
    assert.match(await note.getByRole('link').innerText(), /^Avoir n° AV-\d{4}-\d{6}$/);
    assert.equal(await note.locator('.amount').innerText(), '−1 997 €');
    assert.equal(await invoices.locator('li.invoice').count(), 1);
    const [credit] = await Promise.all([
      page.context().waitForEvent('page'),
      note.getByRole('link').click(),
    ]);
    await credit.getByRole('heading', { name: /^Avoir n° AV-/ }).waitFor();
    assert.match(await credit.locator('.corrects').innerText(), /^Facture corrigée : n° \d{4}-\d{6}\nMotif : Annulation de la réservation$/);
    await credit.close();

    await page.getByRole('link', { name: 'Immersion Élite' }).click();
    const again = page.locator('article.session').nth(4);
    await again.locator('.remaining').waitFor();
    assert.equal(await again.locator('.remaining').innerText(), '8 places restantes');
    assert.deepEqual(errors, []);
  });
});

test('Mon compte without an account offers to sign in; with one, says there is no subscription', async () => {
  await withPage(env.browser, 'account-empty', async (page, errors) => {
    await page.goto(`${env.api.base}/mon-compte`);
    await page.getByRole('link', { name: 'Connectez-vous' }).click();
    await page.waitForURL(/\/connexion\?suite=\/mon-compte$/);
    await page.getByRole('link', { name: 'Inscription' }).click();
    await page.getByLabel('Prénom').fill('Inès');
    await page.getByLabel('Nom', { exact: true }).fill('Vide');
    await page.getByLabel('E-mail').fill('vide@example.com');
    await page.getByLabel('Mot de passe').fill('un mot de passe solide');
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await page.getByRole('link', { name: 'Mon compte' }).click();
    await page.getByText('Aucune réservation pour le moment.').waitFor();
    await page.getByText('Aucun abonnement.').waitFor();
    await page.getByText('Aucune facture pour le moment.').waitFor();
    // The names given at registration, and the invoice details, editable.
    const details = page.getByRole('form', { name: 'Mes coordonnées' });
    assert.equal(await details.getByLabel('Prénom').inputValue(), 'Inès');
    assert.equal(await details.getByLabel('Nom', { exact: true }).inputValue(), 'Vide');
    await details.getByLabel('Entreprise (facultatif)').fill('Vide & Fils');
    await details.getByRole('button', { name: 'Enregistrer' }).click();
    await details.getByText('Coordonnées enregistrées.').waitFor();
    await page.reload();
    assert.equal(
      await page.getByRole('form', { name: 'Mes coordonnées' }).getByLabel('Entreprise (facultatif)').inputValue(),
      'Vide & Fils',
    );
    // Signing out returns to the catalog, signed out.
    await page.getByRole('button', { name: 'Déconnexion' }).click();
    await page.getByRole('link', { name: 'Connexion' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

test('at phone width nothing overflows, and booking works from the keyboard', async () => {
  await withPage(env.browser, 'phone-keyboard', async (page, errors) => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${env.api.base}/immersion-elite`);
    await page.locator('article.session').first().waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0);
    // Tab to the first booking button and press Enter: signed out, so the
    // app asks to sign in first and comes back to the catalog after.
    let focused = '';
    for (let i = 0; i < 30 && focused !== 'Réserver maintenant'; i += 1) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
    }
    assert.equal(focused, 'Réserver maintenant');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/connexion\?suite=\/immersion-elite$/);
    let id = '';
    for (let i = 0; i < 10 && id !== 'email'; i += 1) {
      await page.keyboard.press('Tab');
      id = await page.evaluate(() => document.activeElement?.id ?? '');
    }
    assert.equal(id, 'email');
    assert.deepEqual(errors, []);
  });
});

test('an account without names gives them at its first booking, then books', async () => {
  await withPage(env.browser, 'names-first', async (page, errors) => {
    // An account from before names were asked: made through the API alone.
    await page.goto(`${env.api.base}/immersion-elite`);
    const made = await page.evaluate(async () => {
      const res = await fetch('/api/auth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ancien@example.com', password: 'un mot de passe solide' }),
      });
      localStorage.setItem('immersion.signed_in', '1');
      return res.status;
    });
    assert.equal(made, 201);
    await page.reload();
    const card = page.locator('article.session').nth(0);
    await card.getByRole('button', { name: 'Réserver maintenant' }).click();
    await page.waitForURL(/\/coordonnees\?suite=%2Fimmersion-elite$/);
    await page.getByRole('heading', { name: 'Vos coordonnées' }).waitFor();
    await page.getByLabel('Prénom').fill('Anne');
    await page.getByLabel('Nom', { exact: true }).fill('Cien');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.waitForURL(/\/immersion-elite$/);
    await page.locator('article.session').nth(0).getByRole('button', { name: 'Réserver maintenant' }).click();
    await page.waitForURL(/\/local-checkout\//);
    assert.deepEqual(errors.filter((e) => !/status of 409/.test(e)), []);
  });
});
