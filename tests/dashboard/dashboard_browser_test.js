// tests/dashboard/dashboard_browser_test.js: drives Debian's Chromium (playwright-core with
// executablePath) against the running demo's dashboard. Run by dashboard_browser_test.sh.
'use strict';
const {chromium} = require('playwright-core');

const url = process.env.DASHBOARD_URL;
const shot = process.env.SCREENSHOT;
const started = Date.now();
let passed = 0;
let failed = 0;

function log(msg) {
  console.log('dashboard-browser: [' + ((Date.now() - started) / 1000).toFixed(1) + 's] ' + msg);
}
function check(ok, what) {
  if (ok) {
    passed++;
    log('ok   ' + what);
  } else {
    failed++;
    log('FAIL ' + what);
  }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const errors = [];
  try {
    const page = await browser.newPage({viewport: {width: 1400, height: 1500}});
    // Chromium logs every non-2xx fetch as "Failed to load resource"; the health probes answer
    // 503 by design while the outage lasts, so those (and only those) are expected.
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = (m.location() && m.location().url) || '';
      if (/status of 503/.test(m.text()) && /\/health(\/|$|\?)/.test(where)) return;
      errors.push('console: ' + m.text() + (where ? ' (' + where + ')' : ''));
    });
    page.on('pageerror', (e) => errors.push('page error: ' + e.message));
    page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));

    // ?interval=1: poll every second so the test sees several rounds.
    const resp = await page.goto(url + '/?interval=1');
    const csp = resp.headers()['content-security-policy'] || '';
    check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline') &&
          !csp.includes('unsafe-eval'), 'the page has a strict Content-Security-Policy');

    // Health and alerts before the outage (from t=20 s).
    await page.waitForFunction(() => document.querySelector('#health').dataset.ready &&
                                   document.querySelector('#alerts').dataset.firing !== undefined,
                               null, {timeout: 10000});
    const readyBefore = await page.locator('#health').getAttribute('data-ready');
    const firingBefore = await page.locator('#alerts').getAttribute('data-firing');
    log('before the outage: ready=' + readyBefore + ' firing=' + firingBefore);

    // Charts draw: the default charts get points and a canvas.
    await page.waitForFunction(() => {
      const c = document.querySelectorAll('.chart[data-points]');
      return c.length >= 3 && Array.from(c).some((x) => Number(x.dataset.points) > 1);
    }, null, {timeout: 20000});
    const canvases = await page.locator('.chart canvas').count();
    check(canvases >= 3, 'charts are drawn (' + canvases + ' canvases)');
    const titles = await page.locator('.chart-title').allTextContents();
    log('charts: ' + titles.join(' | '));

    // The Exporters card: the demo exports no trace without OTEL_EXPORTER_OTLP_ENDPOINT, so it
    // has no exporter families and the card says so.
    await page.waitForFunction(() => document.querySelector('#exporters').dataset.exporters !== undefined,
                               null, {timeout: 10000});
    const exporters = await page.locator('#exporter-rows').textContent();
    check(exporters.trim() === 'no exporter configured',
          'the Exporters card says "no exporter configured" (' + exporters.trim() + ')');

    // The Guardrails card: the bad release (t=5 s) fails and the guardrail rolls it back.
    // The card reads the monitors, then the decisions: a trigger between the two reads shows the
    // decision one poll before the monitor's badge, so wait for both.
    await page.waitForFunction(
        () => /^fail route-to-stable: ok$/m.test(document.querySelector('#guardrails').dataset.decisions || '') &&
            Array.from(document.querySelectorAll('#monitors .badge')).some((b) => b.textContent.includes('triggered')),
        null, {timeout: 30000});
    const gr = await page.evaluate(() => ({
      hidden: document.querySelector('#guardrails').hidden,
      state: Array.from(document.querySelectorAll('#monitors .badge')).map((b) => b.textContent).join(','),
      failRows: Array.from(document.querySelectorAll('#decisions tr')).filter((tr) =>
        tr.querySelector('.badge.fail') && tr.textContent.includes('route-to-stable: ok') &&
        tr.textContent.includes('success_rate')).length,
    }));
    check(!gr.hidden && gr.failRows >= 1 && gr.state.includes('triggered'),
          'the Guardrails card shows the fail decision with the rollback (monitor badges ' + gr.state + ')');

    // ... and update between two polls: a chart's newest point moves on.
    await page.waitForFunction(() => Number(document.querySelector('.chart').dataset.points) > 1,
                               null, {timeout: 15000});
    const firstLast = await page.locator('.chart').first().getAttribute('data-last-t');
    const pollsBefore = Number(await page.locator('body').getAttribute('data-polls'));
    await page.waitForFunction((t) => {
      const c = document.querySelector('.chart');
      return c && c.dataset.lastT && c.dataset.lastT !== t;
    }, firstLast, {timeout: 15000});
    const pollsAfter = Number(await page.locator('body').getAttribute('data-polls'));
    check(pollsAfter > pollsBefore, 'the chart updated between polls (' + pollsBefore + ' -> ' +
          pollsAfter + ' polls; last point ' + firstLast + ' -> ' +
          (await page.locator('.chart').first().getAttribute('data-last-t')) + ')');


    // A label value with HTML shows as text (the HtmlLabelProbe alert's note label).
    await page.waitForFunction(
        () => Array.from(document.querySelectorAll('#active td')).some((td) => td.textContent.includes('<img src=x')),
        null, {timeout: 15000});
    const injected = await page.evaluate(() => ({
      img: document.querySelectorAll('#alerts img, #alerts b').length,
      xss: window.__xss === 1,
    }));
    check(injected.img === 0 && !injected.xss, 'a label value with HTML shows as text');

    // A chart whose series label holds HTML (label_replace): the legend shows it as text.
    await page.fill('#promql', 'label_replace(vector(1), "who", "<b>x</b>", "", "")');
    await page.click('#addq');
    await page.waitForFunction(
        () => Array.from(document.querySelectorAll('.legend .label')).some((s) => s.textContent.includes('<b>x</b>')),
        null, {timeout: 10000});
    check(await page.locator('.legend b').count() === 0, 'a series label with HTML shows as text');

    // The outage: readiness fails and VectorStoreOutage fires; the views change.
    await page.waitForFunction(() => document.querySelector('#health').dataset.ready === 'fail',
                               null, {timeout: 30000});
    // Before the outage readiness is pass, or warn when a simulated provider answers slowly.
    check(readyBefore === 'pass' || readyBefore === 'warn',
          'the health view went from ' + readyBefore + ' to fail (readiness)');
    await page.waitForFunction(
        () => (document.querySelector('#alerts').dataset.firing || '').includes('VectorStoreOutage'),
        null, {timeout: 15000});
    check(!(firingBefore || '').includes('VectorStoreOutage'),
          'the alerts view shows VectorStoreOutage firing after the outage started');
    const failRow = await page.locator('#checks .badge.fail').count();
    check(failRow >= 1, 'a failing check is listed (' + failRow + ')');

    // No pile-up: with every range query answered 1.5 s late and a 1 s poll interval, a round
    // waits for its last reply before the next starts, so at most one request per chart is in
    // flight and the round count grows slowly.
    let inflight = 0;
    let maxInflight = 0;
    const isRange = (r) => r.url().includes('/api/v1/query_range');
    page.on('request', (r) => { if (isRange(r)) maxInflight = Math.max(maxInflight, ++inflight); });
    page.on('requestfinished', (r) => { if (isRange(r)) inflight--; });
    page.on('requestfailed', (r) => { if (isRange(r)) inflight--; });
    await page.route('**/api/v1/query_range*', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    const charts = await page.locator('.chart').count();
    const pollsSlowStart = Number(await page.locator('body').getAttribute('data-polls'));
    await page.waitForTimeout(6000);
    const pollsSlow = Number(await page.locator('body').getAttribute('data-polls')) - pollsSlowStart;
    await page.unroute('**/api/v1/query_range*');
    check(maxInflight <= charts && pollsSlow <= 3,
          'no pile-up with slow replies (' + maxInflight + ' range queries in flight at most for ' +
          charts + ' charts; ' + pollsSlow + ' rounds in 6 s at a 1 s interval)');

    // The dashboard marks its requests (X-Vigil-Dashboard): its polling is not traced, so the
    // trace view holds no span of its range queries after a minute of polling.
    const tracez = await page.request.get(url + '/debug/tracez?format=jaeger');
    const traces = await tracez.text();
    check(tracez.ok() && !traces.includes('/api/v1/query_range'),
          'the dashboard\'s own queries leave no spans in /debug/tracez (' +
          (tracez.ok() ? traces.length + ' bytes' : 'HTTP ' + tracez.status()) + ')');

    await page.screenshot({path: shot, fullPage: true});
    log('screenshot: ' + shot);
    check(errors.length === 0, 'no console errors' + (errors.length ? ': ' + errors.join('; ') : ''));
  } catch (e) {
    failed++;
    log('FAIL ' + e.message);
    for (const e2 of errors) log('  ' + e2);
  } finally {
    await browser.close();
  }
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed === 0 ? 0 : 1);
})();
