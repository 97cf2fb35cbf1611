// A user in headless Chromium: connects Zoho CRM and Google through the emulators' consent
// pages, chooses settings (first with a mistake, to see the error next to the field), saves,
// presses "Sync now" and reads the status. A screenshot of each step goes to SHOTS_DIR.
//
// Run by tests/tests/settings_browser.rs, which starts the app, the emulators and moto, and
// checks afterwards what the sync did. Environment:
//   BASE_URL         the app (the local HTTP adapter), e.g. http://127.0.0.1:40123
//   SHOTS_DIR        where screenshots go (created)
//   PLAYWRIGHT_CORE  path of the playwright-core package (scripts/browser-deps.sh installs it)
//   CHROMIUM         the browser binary (default /usr/bin/chromium)
//   GROUP_NAME, VIEW_NAME  the Google group and the Zoho list to choose
// Exits non-zero with a message on stderr when what the user sees is not right.

'use strict';
const fs = require('fs');
const path = require('path');

const env = (name, fallback) => {
  const value = process.env[name] || fallback;
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const baseUrl = env('BASE_URL');
const shotsDir = env('SHOTS_DIR');
const { chromium } = require(env('PLAYWRIGHT_CORE'));
const groupName = env('GROUP_NAME');
const viewName = env('VIEW_NAME');

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  fs.mkdirSync(shotsDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    // Playwright gives every launch a fresh temporary profile (--user-data-dir).
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const steps = [];
  let page;
  try {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(20000);
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    let shot = 0;
    const snap = async (name) => {
      // The pages work without script: none may carry one.
      check((await page.$$('script')).length === 0, `the ${name} page has no script`);
      shot += 1;
      const file = path.join(shotsDir, `${String(shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      steps.push(file);
    };

    // 1. The home page offers to connect.
    await page.goto(`${baseUrl}/`);
    await snap('home');
    // 2. Connect: Zoho's consent, then Google's, both approve at once in the emulators.
    await page.click('#connect');
    await page.waitForSelector('#status-token');
    check((await page.textContent('h1')).includes('Connected'), 'after both consents the page says Connected');
    await snap('connected');

    // 3. On to the settings, with the user's own groups and lists.
    await page.click('#settings');
    await page.waitForURL(/\/settings$/);
    const groups = await page.$$eval('#google_group option', (os) => os.map((o) => o.textContent));
    check(groups.includes(groupName), `the Google group "${groupName}" is offered: ${groups}`);
    const views = await page.$$eval('#zoho_cvid option', (os) => os.map((o) => o.textContent));
    check(views.includes(viewName), `the Zoho list "${viewName}" is offered: ${views}`);
    check(await page.isVisible('#map-another-field'), 'a row to map another field is offered');
    await snap('settings');

    // 4. Fill it in, but forget the Zoho list: the error shows next to it and nothing is saved.
    await page.selectOption('#google_group', { label: groupName });
    await page.check('#direction-two_way');
    await page.check('#conflict_policy-google_wins');
    await page.selectOption('#frequency', { label: 'Every 15 minutes' });
    await page.check('#deletion-unlink_and_keep');
    await page.selectOption('#extra_zoho_0', 'Other_Phone');
    await page.selectOption('#extra_google_0', 'phoneNumbers.other');
    await page.click('#save');
    await page.waitForSelector('#zoho_cvid-error');
    const listError = await page.textContent('#zoho_cvid-error');
    check(/choose the Zoho CRM list/.test(listError), `the list's error says what to do: ${listError}`);
    check((await page.getAttribute('#zoho_cvid', 'aria-describedby')) === 'zoho_cvid-error', 'the list control points at its error');
    check((await page.inputValue('#frequency')) === '15m', 'the form keeps what was chosen');
    await snap('error-next-to-field');

    // 5. Choose the list and save: the page comes back with the status and "Sync now".
    await page.selectOption('#zoho_cvid', { label: viewName });
    await page.click('#save');
    await page.waitForSelector('#notice');
    check((await page.textContent('#notice')).includes('Settings saved'), 'the save is confirmed');
    check(await page.isVisible('#sync-now'), '"Sync now" is offered once saved');
    check((await page.textContent('#last-sync')).trim() === 'never', 'no sync has run yet');
    check((await page.inputValue('#extra_zoho_0')) === 'Other_Phone', 'the extra pair is saved');
    await snap('saved');

    // 6. Sync now, then the status shows the run.
    await page.click('#sync-now');
    await page.waitForURL(/sync=started/);
    const lastSync = (await page.textContent('#last-sync')).trim();
    check(lastSync !== 'never', `the status shows the last sync: ${lastSync}`);
    const state = (await page.textContent('#state')).trim();
    check(state === 'idle', `the sync is not stuck or blocked: ${state}`);
    const statusText = await page.textContent('#status');
    check(/success|partial/.test(statusText), `the last run's outcome is shown: ${statusText.slice(0, 300)}`);
    await snap('synced');

    check(pageErrors.length === 0, `no page errors: ${pageErrors}`);
    process.stdout.write(JSON.stringify({ screenshots: steps, last_sync: lastSync, state }) + '\n');
  } catch (e) {
    if (page) {
      const file = path.join(shotsDir, 'failure.png');
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      process.stderr.write(`at ${page.url()} (screenshot ${file})\n`);
    }
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write(`browser flow failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
