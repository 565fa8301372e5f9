// As an account's owner: confirm the address from the mailed link, get a
// new password from "Mot de passe oublié" (every other session then ends),
// change it from "Mon compte". Mails go through the outbox and the log
// mailer; the links are read from the api's log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { mailedLink, register, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

// On purpose: a used link (400), a revoked session (401), a short password (422).
const unexpected = (errors) => errors.filter((e) => !/status of (400|401|422) /.test(e));

test('the verification link confirms the address, and Mon compte stops asking', async () => {
  await withPage(env.browser, 'owner-verify', async (page, errors) => {
    await register(page, env.api.base, 'verifie@example.com', { next: '/mon-compte' });
    await page.getByRole('heading', { name: 'Adresse e-mail à confirmer' }).waitFor();
    await page.getByRole('button', { name: "Renvoyer l'e-mail" }).click();
    await page.getByText("Un nouvel e-mail vient d'être envoyé.").waitFor();

    // The second mail's link: the first one stopped working when it was sent.
    await page.goto(await mailedLink(env.api, 'verifie@example.com', 'verifier-email', { count: 2 }));
    await page.getByText('est confirmée.').waitFor();
    assert.match(await page.locator('p.done').innerText(), /verifie@example\.com/);

    // A link followed twice says so, in French.
    await page.reload();
    await page.getByText("Ce lien n'est plus valable").waitFor();

    await page.getByRole('link', { name: 'Mon compte' }).first().click();
    await page.getByRole('heading', { name: 'Mes réservations' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Adresse e-mail à confirmer' }).count(), 0);
    assert.deepEqual(unexpected(errors), []);
  });
});

test('forgot password: the mailed link sets a new one and signs every session out', async () => {
  await withPage(env.browser, 'owner-elsewhere', async (elsewhere, elsewhereErrors) => {
    await register(elsewhere, env.api.base, 'oubli@example.com', { password: 'ancien mot de passe' });

    await withPage(env.browser, 'owner-reset', async (page, errors) => {
      await page.goto(`${env.api.base}/connexion`);
      await page.getByRole('link', { name: 'Mot de passe oublié ?' }).click();
      await page.waitForURL(/\/mot-de-passe-oublie$/);
      await page.getByLabel('E-mail').fill('oubli@example.com');
      await page.getByRole('button', { name: 'Recevoir un lien' }).click();
      await page.getByText('Si un compte existe avec cette adresse').waitFor();

      await page.goto(await mailedLink(env.api, 'oubli@example.com', 'mot-de-passe/nouveau'));
      await page.getByLabel('Nouveau mot de passe').fill('court');
      await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
      await page.getByText('Le mot de passe doit faire au moins 10 caractères.').waitFor();
      await page.getByLabel('Nouveau mot de passe').fill('un nouveau mot de passe');
      await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
      await page.getByText('Votre mot de passe est changé').waitFor();

      await page.getByRole('link', { name: 'Se connecter' }).last().click();
      await page.getByLabel('E-mail').fill('oubli@example.com');
      await page.getByLabel('Mot de passe').fill('un nouveau mot de passe');
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(/\/immersion-elite$/);
      await page.getByRole('link', { name: 'Mon compte' }).waitFor();
      assert.deepEqual(unexpected(errors), []);
    });

    // The other browser's session ended with the reset.
    await elsewhere.goto(`${env.api.base}/mon-compte`);
    await elsewhere.getByText('Connectez-vous pour continuer.').first().waitFor();
    assert.deepEqual(unexpected(elsewhereErrors), []);
  });
});

test('Mon compte changes the password after checking the current one', async () => {
  await withPage(env.browser, 'owner-change', async (page, errors) => {
    await register(page, env.api.base, 'change@example.com', {
      password: 'premier mot de passe',
      next: '/mon-compte',
    });
    await page.getByLabel('Mot de passe actuel').fill('pas le bon mot de passe');
    await page.getByLabel('Nouveau mot de passe').fill('second mot de passe');
    await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
    await page.getByText('Le mot de passe actuel est incorrect.').waitFor();
    await page.getByLabel('Mot de passe actuel').fill('premier mot de passe');
    await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
    await page.getByText('Mot de passe changé : vos autres sessions sont fermées.').waitFor();
    // This session stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Mes réservations' }).waitFor();
    assert.deepEqual(unexpected(errors), []);
  });
});
