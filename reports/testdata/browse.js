// Opens a report in headless Chromium (playwright-core, system chromium)
// and prints one JSON line: console errors, network requests, the
// rendered HTML and the number of table cells. A full-page screenshot is
// saved, and one of the top of the page (the 1280 x 800 viewport).
// usage: node browse.js <chromium> <report.html> <screenshot.png> <user-data-dir> [<top.png>]
const { chromium } = require('playwright-core');
const url = require('url');
(async () => {
  const [exe, page_, shot, udd, top] = process.argv.slice(2);
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: exe, headless: true, viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const consoleErrors = [], requests = [];
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text()); });
  page.on('pageerror', e => consoleErrors.push(String(e)));
  const target = url.pathToFileURL(page_).href;
  page.on('request', r => { if (r.url() !== target) requests.push(r.url()); });
  await page.goto(target, { waitUntil: 'load' });
  await page.screenshot({ path: shot, fullPage: true });
  if (top) await page.screenshot({ path: top });
  const html = await page.content();
  const cells = await page.$$eval('td[data-value]', tds => tds.length);
  await ctx.close();
  console.log(JSON.stringify({ console: consoleErrors, requests, html, cells }));
})().catch(e => { console.error(e); process.exit(1); });
