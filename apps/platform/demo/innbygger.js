// Citizen view of the reference client: my services, who looked, and my restriction.
// No person id in any request to the API: the person is the token's (or the represented child's).
const $ = (id) => document.getElementById(id);
const state = { token: undefined };
const date = (d) => (d ? new Date(`${d}T12:00:00Z`).toLocaleDateString('nb-NO', { timeZone: 'Europe/Oslo' }) : '');
const time = (t) => new Date(t).toLocaleString('nb-NO', { timeZone: 'Europe/Oslo' });
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === 'class' ? (node.className = v) : node.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const api = (path, init = {}) => fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${state.token}` } });
async function problemText(res) {
  try {
    const p = await res.json();
    return `${p.title ?? res.status}${p.detail ? `: ${p.detail}` : ''}`;
  } catch {
    return String(res.status);
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const pid = $('citizen-pid').value;
  const onBehalfOf = $('on-behalf-of').value;
  const res = await fetch('/dev-issuer/citizen-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pid, ...(onBehalfOf ? { onBehalfOf, basis: 'parental-responsibility' } : {}) }),
  });
  if (!res.ok) {
    $('login-status').textContent = `Innloggingen feilet: ${await problemText(res)}`;
    return;
  }
  state.token = (await res.json()).token;
  // The numbers are not left on screen.
  $('citizen-pid').value = '';
  $('on-behalf-of').value = '';
  $('login-status').textContent = onBehalfOf ? 'Logget inn. Du ser barnets opplysninger.' : 'Logget inn.';
  await refresh();
});

async function refresh() {
  await Promise.all([services(), accessLog()]);
}

async function services() {
  const res = await api('/api/v1/me/service-overview');
  if (!res.ok) {
    $('services').replaceChildren(el('p', { class: 'error', role: 'alert' }, `Kunne ikke hente tjenestene: ${await problemText(res)}`));
    return;
  }
  const overview = await res.json();
  const parts = [];
  if (overview.onBehalfOf) parts.push(el('p', { class: 'notice', role: 'note' }, `Du ser opplysningene som ${overview.onBehalfOf.text.toLowerCase()}.`));
  if (overview.municipalities.length === 0) parts.push(el('p', {}, 'Ingen kommune har registrert tjenester til deg.'));
  $('municipality').replaceChildren(...overview.municipalities.map((m) => el('option', { value: m.dataController.orgnr }, m.dataController.name)));
  for (const m of overview.municipalities) {
    parts.push(
      el(
        'section',
        { class: 'municipality', 'aria-labelledby': `m-${m.dataController.orgnr}` },
        el('h3', { id: `m-${m.dataController.orgnr}` }, m.dataController.name),
        el('p', { class: 'help' }, `Dataansvarlig: ${m.dataController.name} (org.nr. ${m.dataController.orgnr})`),
        m.restriction ? el('p', { class: 'notice restriction', role: 'note' }, el('strong', {}, 'Sperret: '), m.restriction.text) : [],
        el(
          'ul',
          { class: 'services', 'aria-label': `Tjenester i ${m.dataController.name}` },
          m.services.map((s) =>
            el(
              'li',
              { class: `service ${s.status}` },
              el('h4', {}, s.service.display),
              el('p', { class: 'status-text' }, s.statusText),
              el(
                'dl',
                {},
                el('dt', {}, 'Periode'),
                el('dd', {}, `fra ${date(s.period.start)}${s.period.end ? ` til ${date(s.period.end)}` : ''}`),
                el('dt', {}, 'Kontakt'),
                el(
                  'dd',
                  {},
                  s.contact
                    ? [s.contact.name, s.contact.phone ? [', telefon ', el('a', { href: `tel:${s.contact.phone.replaceAll(' ', '')}`, class: 'phone' }, s.contact.phone)] : []]
                    : 'Ikke oppgitt',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  $('services').replaceChildren(...parts);
}

async function accessLog() {
  const res = await api('/api/v1/me/access-log');
  if (!res.ok) {
    $('access-log').replaceChildren(el('p', { class: 'error', role: 'alert' }, `Kunne ikke hente loggen: ${await problemText(res)}`));
    return;
  }
  const { entries } = await res.json();
  if (entries.length === 0) {
    $('access-log').replaceChildren(el('p', {}, 'Ingen har sett opplysningene dine ennå.'));
    return;
  }
  $('access-log').replaceChildren(
    el(
      'table',
      { class: 'log-table' },
      el('caption', {}, 'Oppslag i tjenestene dine, nyeste først'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Tid', 'Virksomhet', 'Rolle', 'Formål', 'Resultat'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        entries.map((e) =>
          el(
            'tr',
            { class: e.breakTheGlass ? 'log-entry btg' : 'log-entry' },
            el('td', {}, time(e.at)),
            el('td', {}, e.organisation ? `${e.organisation.name} (org.nr. ${e.organisation.orgnr})` : '–'),
            el('td', {}, e.role),
            el('td', {}, e.breakTheGlass ? [el('strong', { class: 'btg-label' }, 'Nødtilgang. '), e.purposeText] : e.purposeText),
            el('td', {}, e.outcomeText),
          ),
        ),
      ),
    ),
  );
}

async function restriction(path, body) {
  const res = await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  $('restriction-status').textContent = res.ok ? (path.endsWith('lift') ? 'Sperringen er opphevet.' : 'Delingen er sperret.') : `Ikke utført: ${await problemText(res)}`;
  if (res.ok) await services();
}
$('restriction-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!state.token) return;
  await restriction('/api/v1/me/restrictions', { municipality: $('municipality').value, scope: new FormData(e.target).get('scope') });
});
$('lift').addEventListener('click', async () => {
  if (!state.token) return;
  await restriction('/api/v1/me/restrictions/lift', { municipality: $('municipality').value });
});
