// Presence and certificates, then leaving: a trainee pays a seat; once the
// session has taken place, the admin and then the trainer (through the
// link the admin made, without an account) record the trainee's half-days;
// the trainee finds the certificate of completion in "Mon compte", with the
// hours recorded; then deletes the account, password typed again, and the
// presence the law keeps stays on the sheet, anonymised.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { register, signInAsAdmin, useApiAndBrowser, withPage } from './harness.js';

const env = useApiAndBrowser({ before, after });

// These tests type a wrong password on purpose (422).
const unexpected = (errors) => errors.filter((e) => !/status of 422 /.test(e));

/// The Monday of last week, and its Friday, as YYYY-MM-DD.
function lastWeek() {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - 7 - ((d.getUTCDay() + 6) % 7));
  const friday = new Date(d);
  friday.setUTCDate(d.getUTCDate() + 4);
  return [d, friday].map((x) => x.toISOString().slice(0, 10));
}

test('presence recorded by the admin and the trainer gives the certificate; deleting the account keeps it anonymised', async () => {
  const base = env.api.base;
  await withPage(env.browser, 'presence-trainee', async (trainee, traineeErrors) => {
    await register(trainee, base, 'ines@example.com', { first: 'Inès', last: 'Moreau' });
    const card = trainee.locator('article.session').nth(4);
    await card.getByRole('button', { name: 'Réserver maintenant' }).click();
    await trainee.waitForURL(/\/local-checkout\//);
    await trainee.locator('#pay').click();
    await trainee.getByText('Votre place est confirmée').waitFor();
    const [booking] = await (await trainee.request.get(`${base}/api/me/bookings`)).json();
    const sid = booking.session_id;

    await withPage(env.browser, 'presence-admin', async (admin, adminErrors) => {
      await signInAsAdmin(admin, env.api);
      // The session took place last week.
      const [starts_on, ends_on] = lastWeek();
      const moved = await admin.request.patch(`${base}/api/admin/sessions/${sid}`, {
        data: { starts_on, ends_on },
        headers: { Origin: base },
      });
      assert.equal(moved.status(), 200, await moved.text());

      // The admin's sheet, from the sessions screen's link.
      await admin.goto(`${base}/emargement/${sid}`);
      const row = admin.locator('tr', { hasText: 'MOREAU Inès' });
      await row.waitFor();
      const hours = row.locator('td.hours');
      const planned = (await hours.innerText()).split(' / ')[1];
      assert.match(await hours.innerText(), /^0 h \/ \d+ h$/);
      await row.locator('select').nth(0).selectOption({ label: 'Présent' });
      await admin.locator('td.hours', { hasText: `3 h 30 / ${planned}` }).waitFor();

      // A link for the trainer, opened without an account.
      await admin.getByRole('button', { name: 'Lien pour le formateur' }).click();
      const url = await admin.locator('.trainer-link code').innerText();
      assert.match(url, /\/formateur#token=imm_trn_[0-9a-f]{64}$/);
      await withPage(env.browser, 'presence-trainer', async (trainer, trainerErrors) => {
        await trainer.goto(url);
        const line = trainer.locator('tr', { hasText: 'MOREAU Inès' });
        await line.waitFor();
        assert.equal(await line.locator('select').nth(0).inputValue(), 'present');
        await line.locator('select').nth(1).selectOption({ label: 'Présent' });
        await trainer.locator('td.hours', { hasText: `7 h / ${planned}` }).waitFor();
        // The trainer has no admin tools.
        assert.equal(await trainer.getByRole('button', { name: 'Lien pour le formateur' }).count(), 0);
        assert.deepEqual(trainerErrors, []);
      });

      // The trainee's certificate, from "Mon compte".
      await trainee.goto(`${base}/mon-compte`);
      const link = trainee.getByRole('link', { name: 'Attestation de réalisation' });
      await link.waitFor();
      const href = await link.getAttribute('href');
      const certificate = await (await trainee.request.get(`${base}${href}`)).text();
      assert.match(certificate, new RegExp(`7 h réalisées sur ${planned} prévues`));
      assert.match(certificate, /Inès MOREAU/);
      const pdf = await trainee.request.get(`${base}${href}?format=pdf`);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

      // Deleting the account: what it means first, then the password.
      await trainee.getByRole('button', { name: 'Supprimer mon compte…' }).click();
      await trainee.getByText('Factures et avoirs : conservés 10 ans').waitFor();
      assert.equal(await trainee.locator('li.erased-seat').count(), 0, 'a session that took place is not cancelled');
      await trainee.getByLabel('Votre mot de passe, pour confirmer').fill('pas le bon mot de passe');
      await trainee.getByRole('button', { name: 'Supprimer définitivement' }).click();
      await trainee.getByText('Le mot de passe est incorrect.').waitFor();
      await trainee.getByLabel('Votre mot de passe, pour confirmer').fill('un mot de passe solide');
      await trainee.getByRole('button', { name: 'Supprimer définitivement' }).click();
      await trainee.waitForURL(`${base}/`);
      assert.equal((await trainee.request.get(`${base}/api/me`)).status(), 401);

      // The presence stays on the sheet, without the name.
      await admin.reload();
      const kept = admin.locator('tr', { hasText: /erased-[0-9a-f-]+@erased\.invalid/ });
      await kept.waitFor();
      assert.equal(await kept.locator('td.hours').innerText(), `7 h / ${planned}`);
      assert.equal(await admin.locator('tr', { hasText: 'Inès' }).count(), 0);
      assert.deepEqual(unexpected(adminErrors), []);
    });
    assert.deepEqual(unexpected(traineeErrors), []);
  });
});
