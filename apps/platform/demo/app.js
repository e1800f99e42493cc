// Reference client: how an end-user system calls the content services correctly.
// The person identifier travels in a request body (POST _search) or a header, never in a URL.
const $ = (id) => document.getElementById(id);
// municipality: set for a partner's role (fastlege), which names the municipality it asks in fpi-municipality.
const state = { token: undefined, municipality: undefined, testerToken: undefined, pid: undefined, checkpoint: undefined };

const STATUS = { active: 'Aktiv', paused: 'Pause', planned: 'Planlagt', ended: 'Avsluttet', cancelled: 'Kansellert' };
const STATUS_EN = { active: 'active', paused: 'paused (temporary cessation)', planned: 'planned', ended: 'ended', cancelled: 'cancelled' };
const date = (d) => (d ? new Date(`${d}T12:00:00Z`).toLocaleDateString('nb-NO', { timeZone: 'Europe/Oslo' }) : '');
const time = (t) => new Date(t).toLocaleString('nb-NO', { timeZone: 'Europe/Oslo' });
const mask = (pid) => `${pid.slice(0, 6)}*****`;
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === 'class' ? (node.className = v) : node.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

async function issue(role) {
  const res = await fetch('/dev-issuer/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role }) });
  if (!res.ok) throw new Error(`token: ${res.status}`);
  return res.json();
}
const token = async (role) => (await issue(role)).token;

async function problemText(res) {
  try {
    const p = await res.json();
    return `${p.title ?? res.status}${p.detail ? `: ${p.detail}` : ''}${p.errors ? ` (${p.errors.map((e) => `${e.pointer} ${e.rule}`).join(', ')})` : ''}`;
  } catch {
    return String(res.status);
  }
}

$('role-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const role = new FormData(e.target).get('role');
  const issued = await issue(role);
  state.token = issued.token;
  // A GP practice is a company of its own (issued.org): it reads the municipality's data under its agreement.
  state.municipality = issued.org ? issued.tenant : undefined;
  $('token-status').textContent = issued.org ? `Token hentet for ${role} (virksomhet ${issued.org}, leser kommune ${issued.tenant} gjennom driftsavtale).` : `Token hentet for ${role}.`;
});

async function lookup() {
  if (!state.token) {
    $('result').replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Hent token først (velg rolle).'));
    return;
  }
  const body = { personId: state.pid, ...($('include-ended').checked ? { include: 'ended' } : {}), ...(state.checkpoint ? { minCheckpoint: state.checkpoint } : {}) };
  const res = await fetch('/api/v1/service-overview/_search', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}`, ...(state.municipality ? { 'fpi-municipality': state.municipality } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const restricted =
      res.status === 403 &&
      (
        await res
          .clone()
          .json()
          .catch(() => ({}))
      ).type === 'urn:fpi:problem:patient-restricted';
    $('result').replaceChildren(
      restricted
        ? el('p', { class: 'error', role: 'alert' }, 'Pasienten har sperret deling av opplysningene. Bare nødtilgang (BTG) kan åpne dem, og pasienten ser et slikt oppslag i sin logg.')
        : el('p', { class: 'error', role: 'alert' }, `Oppslaget feilet: ${await problemText(res)}`),
    );
    return;
  }
  render(await res.json());
}

function render(overview) {
  const parts = [el('p', { class: 'patient' }, `Pasient ${mask(overview.patient.value)}`)];
  if (overview.sources.length === 0) {
    parts.push(el('p', { class: 'notice', role: 'note' }, 'Ingen kildesystemer har rapportert om denne pasienten. Det betyr ikke at pasienten ikke har tjenester.'));
  } else {
    parts.push(
      el(
        'p',
        {},
        'Kilder: ',
        overview.sources.map((s, i) => [i ? ', ' : '', el('span', { title: 'source system, last event received' }, `${s.sourceSystem} (sist oppdatert ${time(s.lastRecordedAt)})`)]),
      ),
    );
  }
  if (overview.services.length === 0 && overview.sources.length > 0) parts.push(el('p', {}, 'Ingen aktive tjenester.'));
  parts.push(
    el(
      'ul',
      { class: 'services', 'aria-label': 'Tjenester' },
      overview.services.map((s) =>
        el(
          'li',
          { class: `service ${s.status}`, 'data-decision': s.decisionId },
          el('h3', {}, s.service.display, ' ', el('span', { class: `status ${s.status}`, title: STATUS_EN[s.status] }, STATUS[s.status] ?? s.status)),
          el(
            'dl',
            {},
            el('dt', {}, 'Omfang'),
            el('dd', {}, s.weeklyHours !== undefined ? `${String(s.weeklyHours).replace('.', ',')} t/uke` : '–'),
            el('dt', {}, 'Periode'),
            el('dd', {}, `fra ${date(s.period.start)}${s.period.end ? ` til ${date(s.period.end)}` : ''}`),
            s.pausedFrom ? [el('dt', {}, 'Pause fra'), el('dd', {}, `${date(s.pausedFrom)}${s.pauseReason ? ` (${s.pauseReason})` : ''}`)] : [],
            el('dt', {}, 'Utførende enhet'),
            el('dd', {}, s.performer?.name ?? '–'),
            el('dt', {}, 'Telefon'),
            el('dd', {}, s.performer?.phone ? el('a', { href: `tel:${s.performer.phone.replaceAll(' ', '')}`, class: 'phone' }, s.performer.phone) : '–'),
            el('dt', {}, 'Kilde'),
            el('dd', {}, `${s.sourceSystem}, vedtak ${s.decisionId}`),
          ),
        ),
      ),
    ),
  );
  $('result').replaceChildren(...parts);
}

$('lookup-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('pid');
  if (!/^[0-9]{11}$/.test(input.value)) return;
  state.pid = input.value;
  state.checkpoint = undefined;
  input.value = '';
  input.placeholder = mask(state.pid); // the number is not left on screen
  await lookup();
});
$('include-ended').addEventListener('change', () => state.pid && lookup());

// Tester panel: sample decision events for a synthetic patient, then the overview again (read your write).
const today = () => new Date().toISOString().slice(0, 10);
function sample(type, pid, decisionId, sourceSystem) {
  const base = { type, eventId: crypto.randomUUID(), decisionId, occurredAt: new Date().toISOString(), sourceSystem, patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: pid } };
  if (type === 'ServiceDecisionGranted') {
    return {
      ...base,
      service: { code: '15' },
      period: { start: today() },
      extent: { value: 6, unit: 'hours-per-week' },
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
    };
  }
  if (type === 'ServicePaused') return { ...base, pausedFrom: today(), reason: 'Innlagt på sykehus' };
  if (type === 'ServiceResumed') return { ...base, resumedFrom: today() };
  return { ...base, endDate: today(), reason: 'Behov opphørt' };
}

document.querySelectorAll('#tester-form button[data-event]').forEach((button) =>
  button.addEventListener('click', async () => {
    const pid = $('t-pid').value;
    const decisionId = $('t-decision').value;
    if (!/^[0-9]{11}$/.test(pid) || !decisionId) {
      $('tester-status').textContent = 'Fyll inn syntetisk pasient og vedtaks-ID.';
      return;
    }
    state.testerToken ??= await token('tester');
    const res = await fetch('/api/v1/decision-events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${state.testerToken}` },
      body: JSON.stringify(sample(button.dataset.event, pid, decisionId, $('t-source').value || 'epj-demo')),
    });
    if (!res.ok) {
      $('tester-status').textContent = `Avvist: ${await problemText(res)}`;
      return;
    }
    const receipt = await res.json();
    $('tester-status').textContent = `Lagret (${button.textContent}).`;
    if (state.pid === pid) {
      state.checkpoint = receipt.checkpoint;
      await lookup();
    }
  }),
);

$('show-log').addEventListener('click', async () => {
  const pid = state.pid ?? $('t-pid').value;
  if (!pid) return;
  state.testerToken ??= await token('tester');
  const res = await fetch('/api/v1/access-log', { headers: { authorization: `Bearer ${state.testerToken}`, 'person-id': pid } });
  if (!res.ok) {
    $('log').replaceChildren(el('p', { class: 'error' }, await problemText(res)));
    return;
  }
  const { entries } = await res.json();
  $('log').replaceChildren(
    el(
      'table',
      {},
      el('caption', {}, `Tilgangslogg for ${mask(pid)}`),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Tid', 'Klient', 'Virksomhet (avtale)', 'Formål', 'Handling', 'Utfall'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        entries.map((e) =>
          el(
            'tr',
            { class: 'log-entry' },
            el('td', {}, time(e.at)),
            el('td', {}, e.clientName ?? e.clientId),
            el('td', {}, e.partner ? `${e.partner.name ?? e.partner.orgnr}${e.partner.agreementId ? ` (avtale ${e.partner.agreementId})` : ''}` : 'kommunen'),
            el('td', {}, e.purposeOfUse ?? ''),
            el('td', {}, e.action),
            el('td', {}, e.outcome),
          ),
        ),
      ),
    ),
  );
});
