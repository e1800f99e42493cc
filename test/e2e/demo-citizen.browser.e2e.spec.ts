import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumBinary, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

/** WCAG 2.x contrast ratio of two CSS colours `rgb(r, g, b)`. */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = css
      .match(/[0-9.]+/g)!
      .slice(0, 3)
      .map((v) => Number(v) / 255) as [number, number, number];
    const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(bl);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** An element as the page function sees it (the spec is compiled without DOM types). */
type Styled = { parentElement: Styled | null };

/** The text colour of an element and the first opaque background behind it. */
const colours = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((node: Styled) => {
      const clear = (c: string) => /rgba\(.*, 0\)|transparent/.test(c);
      const style = (n: Styled) => (globalThis as unknown as { getComputedStyle(n: Styled): { color: string; backgroundColor: string } }).getComputedStyle(n);
      let bg = 'rgba(0, 0, 0, 0)';
      for (let n: Styled | null = node; n && clear(bg); n = n.parentElement) bg = style(n).backgroundColor;
      return { fg: style(node).color, bg: clear(bg) ? 'rgb(255, 255, 255)' : bg };
    });
const activeId = (page: Page) => page.evaluate('document.activeElement && document.activeElement.id');

/** The citizen view of the reference client in a real browser (Chromium of `@sparticuz/chromium`, driven by Playwright). */
describe('/demo/innbygger.html: the citizen view', () => {
  let p: TestPlatform;
  let browser: Browser;
  const citizen = syntheticPid({ offset: 80 });
  const child = syntheticPid({ offset: 80 });

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    const today = new Date().toISOString().slice(0, 10);
    const post = (pid: string, code: string, name: string, phone: string) =>
      p
        .http()
        .post('/api/v1/decision-events')
        .send({
          type: 'ServiceDecisionGranted',
          eventId: randomUUID(),
          decisionId: `INNB-${randomUUID().slice(0, 8)}`,
          occurredAt: new Date().toISOString(),
          sourceSystem: 'epj-demo',
          patient: { system: FNR, value: pid },
          service: { code },
          period: { start: today },
          performer: { orgnr: '974760673', name, phone },
        })
        .expect(201);
    await post(citizen, '15', 'Hjemmesykepleien sone vest', '+47 99 99 99 99');
    const last = await post(child, '2', 'Avlastning Solsiden', '+47 22 22 22 22');
    await p.http().get('/api/v1/service-overview').set('person-id', child).set('min-checkpoint', last.body.checkpoint).expect(200);
    // The legevakt looked, and a doctor broke the glass: both in the citizen's log, the second highlighted.
    await (await p.as({ scopes: ['read'], purpose: 'ETREAT', purposeDetails: '25', clientName: 'Legevakt (demo)' })).get('/api/v1/service-overview').set('person-id', citizen).expect(200);
    await (await p.as({ scopes: ['read'], purpose: 'BTG', clientName: 'Akuttmottak' })).get('/api/v1/service-overview').set('person-id', citizen).expect(200);
    const binary = await chromiumBinary();
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, env: { ...process.env, ...binary.env } });
  });
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('logs in by keyboard, shows my services by municipality, who looked (emergency access highlighted), and restricts and lifts sharing', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${p.url}/demo/innbygger.html`);
    // Headings in order: one h1, then h2 per panel.
    await expect(page.locator('h1').allTextContents()).resolves.toEqual(['Mine kommunale tjenester']);
    await expect(page.locator('h2').allTextContents()).resolves.toEqual(['Logg inn', 'Tjenestene dine', 'Sperr deling', 'Hvem har sett opplysningene dine']);

    // Keyboard only: type the number, Tab through the form to the button, Enter.
    await page.getByLabel(/Ditt fødselsnummer/).focus();
    await page.keyboard.type(citizen);
    await page.keyboard.press('Tab');
    await expect(activeId(page)).resolves.toBe('on-behalf-of');
    await page.keyboard.press('Tab');
    await expect(activeId(page)).resolves.toBe('login');
    await page.keyboard.press('Enter');
    await page.getByText('Logget inn.', { exact: true }).waitFor();

    const municipality = page.getByRole('region', { name: 'Test kommune' });
    await municipality.getByRole('heading', { level: 3, name: 'Test kommune' }).waitFor();
    await expect(municipality.textContent()).resolves.toContain('Dataansvarlig: Test kommune (org.nr. 313231593)');
    const service = municipality.getByRole('listitem').filter({ hasText: 'Helsetjenester i hjemmet' });
    await expect(service.locator('.status-text').textContent()).resolves.toBe('Du får denne tjenesten nå');
    await expect(service.getByRole('link', { name: '+47 99 99 99 99' }).getAttribute('href')).resolves.toBe('tel:+4799999999');

    const btg = page.locator('tr.log-entry.btg');
    await btg.first().waitFor();
    await expect(btg.count()).resolves.toBe(1);
    await expect(btg.textContent()).resolves.toMatch(/Nødtilgang\. Nødtilgang: helsepersonell åpnet/);
    await expect(page.locator('tr.log-entry', { hasText: 'For å gi deg akutt helsehjelp' }).textContent()).resolves.toContain('Test kommune (org.nr. 313231593)');
    // The log fits its panel.
    const panel = await page.locator('section.wide').boundingBox();
    const last = await page.getByRole('columnheader', { name: 'Resultat' }).boundingBox();
    expect(last!.x + last!.width).toBeLessThanOrEqual(panel!.x + panel!.width);

    // Contrast (WCAG AA, 4.5:1) of the highlighted row, its label, the status text and the header link.
    for (const selector of ['tr.btg td', '.btg-label', '.status-text', '.header-link', '#login']) {
      const { fg, bg } = await colours(page, selector);
      expect({ selector, ok: contrast(fg, bg) >= 4.5 }).toEqual({ selector, ok: true });
    }

    // Restrict sharing in Test kommune, by keyboard: the radio, then the button.
    await page.getByLabel('All deling (bare nødtilgang kan åpne)').check();
    await page.getByRole('button', { name: 'Sperr', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Delingen er sperret.').waitFor();
    await municipality.getByRole('note').filter({ hasText: 'Sperret:' }).waitFor();
    const treat = await p.as({ scopes: ['read'], purpose: 'TREAT' });
    await expect(
      treat
        .get('/api/v1/service-overview')
        .set('person-id', citizen)
        .then((r) => r.status),
    ).resolves.toBe(403);

    // In the legevakt view: the restriction is said plainly; the emergency role opens it; the citizen sees that read highlighted.
    const legevakt = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await legevakt.goto(`${p.url}/demo/`);
    await legevakt.getByLabel('Legevakt').check();
    await legevakt.getByRole('button', { name: 'Hent token' }).click();
    await legevakt.getByText('Token hentet for legevakt.').waitFor();
    await legevakt.getByLabel(/Fødselsnummer eller D-nummer/).fill(citizen);
    await legevakt.getByRole('button', { name: 'Slå opp' }).click();
    await legevakt.getByRole('alert').filter({ hasText: 'Pasienten har sperret deling av opplysningene.' }).waitFor();
    await expect(legevakt.locator('li.service').count()).resolves.toBe(0);
    await legevakt.getByLabel('Nødtilgang').check();
    await legevakt.getByRole('button', { name: 'Hent token' }).click();
    await legevakt.getByText('Token hentet for nodtilgang.').waitFor();
    await legevakt.getByLabel(/Fødselsnummer eller D-nummer/).fill(citizen);
    await legevakt.getByRole('button', { name: 'Slå opp' }).click();
    await legevakt.locator('li.service', { hasText: 'Helsetjenester i hjemmet' }).waitFor();
    await legevakt.close();
    await page.getByLabel(/Ditt fødselsnummer/).fill(citizen);
    await page.getByRole('button', { name: 'Logg inn' }).click();
    await page.locator('tr.log-entry.btg', { hasText: 'nødtilgang (demo)' }).waitFor();
    await expect(page.locator('tr.log-entry.btg').count()).resolves.toBe(2);

    await page.getByRole('button', { name: 'Opphev sperring' }).click();
    await page.getByText('Sperringen er opphevet.').waitFor();
    await expect(
      treat
        .get('/api/v1/service-overview')
        .set('person-id', citizen)
        .then((r) => r.status),
    ).resolves.toBe(200);

    // No person id in any URL the page asked for.
    expect(requests.filter((u) => u.includes(citizen))).toEqual([]);
    await page.close();
  });

  it("a parent sees their child's services, and says so on screen", async () => {
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    await page.goto(`${p.url}/demo/innbygger.html`);
    await page.getByLabel(/Ditt fødselsnummer/).fill(syntheticPid({ offset: 80 }));
    await page.getByLabel(/På vegne av barn/).fill(child);
    await page.getByRole('button', { name: 'Logg inn' }).click();
    await page.getByText('Logget inn. Du ser barnets opplysninger.').waitFor();
    await page.getByRole('note').filter({ hasText: 'Du ser opplysningene som forelder med foreldreansvar.' }).waitFor();
    await page.getByRole('listitem').filter({ hasText: 'Avlastning Solsiden' }).waitFor();
    await expect(page.locator('#services').textContent()).resolves.not.toContain('Hjemmesykepleien sone vest');
    await page.close();
  });
});
