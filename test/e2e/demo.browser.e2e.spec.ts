import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '#libs/database';
import { chromiumBinary, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

/** The reference client in a real browser: the Chromium build shipped in the `@sparticuz/chromium` npm package, driven by Playwright. */
describe('/demo: the legevakt and home-care view', () => {
  let p: TestPlatform;
  let browser: Browser;
  const pid = syntheticPid();
  const decisionId = `DEMO-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    const today = new Date().toISOString().slice(0, 10);
    const post = (body: object) => p.http().post('/api/v1/decision-events').send(body).expect(201);
    await post({
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId,
      occurredAt: new Date().toISOString(),
      sourceSystem: 'epj-demo',
      patient: { system: FNR, value: pid },
      service: { code: '15' },
      period: { start: today },
      extent: { value: 7.5, unit: 'hours-per-week' },
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
    });
    const last = await post({
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `${decisionId}-alarm`,
      occurredAt: new Date().toISOString(),
      sourceSystem: 'epj-demo',
      patient: { system: FNR, value: pid },
      service: { code: '6' },
      period: { start: today },
      performer: { name: 'Trygghetsalarmsentralen', phone: '+47 22 22 22 22' },
    });
    await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', last.body.checkpoint).expect(200);
    const binary = await chromiumBinary();
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, env: { ...process.env, ...binary.env } });
  });
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('looks up a patient as legevakt, pauses a service from the tester panel, and shows the patient audit log', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${p.url}/demo`);
    await page.getByLabel('Legevakt').check();
    await page.getByRole('button', { name: 'Hent token' }).click();
    await page.getByText('Token hentet for legevakt.').waitFor();

    await page.getByLabel(/Fødselsnummer eller D-nummer/).fill(pid);
    await page.getByRole('button', { name: 'Slå opp' }).click();
    const nursing = page.locator(`li.service[data-decision="${decisionId}"]`);
    await nursing.waitFor();
    await expect(nursing.locator('h3').textContent()).resolves.toContain('Helsetjenester i hjemmet');
    await expect(nursing.locator('.status').textContent()).resolves.toBe('Aktiv');
    await expect(nursing.locator('a.phone').textContent()).resolves.toBe('+47 99 99 99 99');
    await expect(nursing.textContent()).resolves.toContain('7,5 t/uke');
    await expect(page.locator('li.service').count()).resolves.toBe(2);
    await expect(page.locator('#result').textContent()).resolves.toMatch(/Kilder: epj-demo \(sist oppdatert \d/);
    // The number is masked once looked up, and never was in a URL.
    await expect(page.getByLabel(/Fødselsnummer eller D-nummer/).inputValue()).resolves.toBe('');
    await expect(page.locator('#result .patient').textContent()).resolves.toBe(`Pasient ${pid.slice(0, 6)}*****`);
    expect(requests.some((u) => u.includes(pid))).toBe(false);

    await page.getByLabel('Syntetisk pasient').fill(pid);
    await page.getByLabel(/Vedtaks-ID/).fill(decisionId);
    await page.getByRole('button', { name: 'Pause (innlagt)' }).click();
    await page.getByText('Lagret (Pause (innlagt)).').waitFor();
    await page.locator(`li.service[data-decision="${decisionId}"] .status`, { hasText: 'Pause' }).waitFor();
    await expect(page.locator(`li.service[data-decision="${decisionId}"]`).textContent()).resolves.toContain('Innlagt på sykehus');

    await page.getByRole('button', { name: /Vis tilgangslogg/ }).click();
    await page.locator('tr.log-entry').first().waitFor();
    await expect(page.locator('tr.log-entry', { hasText: 'Legevakt (demo)' }).count()).resolves.toBeGreaterThanOrEqual(2);
    // The log table fits its panel: the last columns (action, outcome) are within the panel, nothing scrolled out of sight.
    const panel = await page.locator('section.tester').boundingBox();
    for (const header of ['Handling', 'Utfall']) {
      const cell = await page.getByRole('columnheader', { name: header }).boundingBox();
      expect(cell!.x + cell!.width).toBeLessThanOrEqual(panel!.x + panel!.width);
    }
    const action = await page.locator('tr.log-entry td:nth-child(5)').first().boundingBox();
    expect(action!.x + action!.width).toBeLessThanOrEqual(panel!.x + panel!.width);
    await expect(page.locator('#log').evaluate((log) => log.scrollWidth <= log.clientWidth)).resolves.toBe(true);

    await page.screenshot({ path: join(packageRoot(), 'docs/img/demo.png'), fullPage: true });
    await page.close();
  });

  it("reads as the Fastlege role through the demo practice's driftsavtale, shown by name in the patient audit log", async () => {
    const page = await browser.newPage();
    await page.goto(`${p.url}/demo/`);
    await page.getByLabel('Fastlege').check();
    await page.getByRole('button', { name: 'Hent token' }).click();
    await page.getByText(/Token hentet for fastlege \(virksomhet 315000033, leser kommune 313231593 gjennom driftsavtale\)/).waitFor();
    await page.getByLabel(/Fødselsnummer eller D-nummer/).fill(pid);
    await page.getByRole('button', { name: 'Slå opp' }).click();
    await page.locator(`li.service[data-decision="${decisionId}"]`).waitFor();
    await page.getByRole('button', { name: /Vis tilgangslogg/ }).click();
    await page.locator('tr.log-entry', { hasText: 'Fastlegekontoret (demo) (avtale' }).first().waitFor();
    await page.close();
  });

  it('says so clearly when no source has reported for a patient', async () => {
    const page = await browser.newPage();
    await page.goto(`${p.url}/demo/`);
    await page.getByLabel('Hjemmetjeneste').check();
    await page.getByRole('button', { name: 'Hent token' }).click();
    await page.getByText('Token hentet for hjemmetjeneste.').waitFor();
    await page.getByLabel(/Fødselsnummer eller D-nummer/).fill(syntheticPid());
    await page.getByRole('button', { name: 'Slå opp' }).click();
    await expect(page.getByRole('note').textContent()).resolves.toContain('Ingen kildesystemer har rapportert');
    await page.close();
  });
});
