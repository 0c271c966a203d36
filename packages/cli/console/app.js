// The Omnibus console's page: plain DOM, no build step, no dependency. Everything the bus holds
// (subjects, headers, errors, payloads) is put on the page as text (textContent, attribute values
// set by the DOM API): nothing is ever parsed as HTML. The server bounds what it sends.

const main = document.getElementById('main');
const statusPill = document.getElementById('status');

// ---- small helpers ------------------------------------------------------------------------

/** An element: attrs are properties (on*, className, value…) or data-* attributes; children are nodes or text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('data-') || key === 'title' || key === 'for') el.setAttribute(key, String(value));
    else el[key] = value;
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
const figure = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en'));
const time = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
const span = (ms) =>
  ms < 120_000 ? `${Math.round(ms / 1000)} seconds` : `${Math.round(ms / 60_000)} minutes`;
const bytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

function post(path, data) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-omnibus-console': '1' },
    body: JSON.stringify(data),
  });
}

function errorBox(error) {
  return h('p', { className: 'error', 'data-testid': 'error' }, String(error?.message ?? error));
}

/** A total over the groups that report it, saying how many do not (`12 + 1 unknown`); `–` when none does. */
const partial = (total, unknown) =>
  total === null || total === undefined
    ? '–'
    : unknown > 0
      ? `${figure(total)} + ${unknown} unknown`
      : figure(total);

/** A lag-over-time line: `[ms, lag]` points scaled into a small SVG. */
function sparkline(points, width = 180, height = 34) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  if (points.length > 0) {
    const max = Math.max(1, ...points.map((p) => p[1]));
    const t0 = points[0][0];
    const span = Math.max(1, points[points.length - 1][0] - t0);
    const xy = points.map(([t, v]) => {
      const x = points.length === 1 ? width : ((t - t0) / span) * (width - 2) + 1;
      const y = height - 2 - (v / max) * (height - 4);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (xy.length === 1) xy.unshift(`0,${xy[0].split(',')[1]}`);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', xy.join(' '));
    svg.append(line);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `lag now ${points[points.length - 1][1]}, peak ${max} over ${Math.round(span / 1000)} s`;
    svg.append(title);
  }
  return svg;
}

/** Repeats `fn` every `ms` until the page changes (the returned stop is called by the router). */
/** `ms` is a number or a function read before each wait (pages follow the server's interval). */
function every(ms, fn) {
  let timer;
  let stopped = false;
  const run = async () => {
    await fn();
    if (!stopped) timer = setTimeout(run, typeof ms === 'function' ? ms() : ms);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ---- the connection pill (every page) -------------------------------------------------------

function showStatus(health) {
  if (!health) {
    statusPill.textContent = 'unknown';
    statusPill.className = 'pill warn';
    return;
  }
  const text = health.ok
    ? `${health.backend} · connected${health.latencyMs !== undefined ? ` · ${health.latencyMs} ms` : ''}`
    : `${health.backend} · ${health.state !== 'open' ? health.state : health.connectionLost ? 'connection lost' : 'unavailable'}`;
  statusPill.textContent = text;
  statusPill.className = `pill ${health.ok ? 'ok' : 'bad'}`;
  statusPill.title = health.detail ?? '';
}

// ---- pages --------------------------------------------------------------------------------

/** How often a page reads the server: its sampling interval (at least 0.5 s). */
let pollMs = 2000;

function overviewPage(root) {
  return every(
    () => pollMs,
    async () => {
      try {
        const o = await api('api/overview');
        pollMs = Math.max(500, o.intervalMs);
        showStatus(o.health);
        const card = (label, value, testid, small) =>
          h(
            'div',
            { className: 'card' },
            h('div', { className: 'label' }, label),
            h('div', { className: small ? 'value small' : 'value', 'data-testid': testid }, value),
          );
        const r = o.rates;
        root.replaceChildren(
          h('h1', {}, 'Overview'),
          h(
            'div',
            { className: 'cards' },
            card('Backend', o.backend, 'backend'),
            card(
              'Status',
              o.health
                ? o.health.ok
                  ? 'connected'
                  : o.health.connectionLost
                    ? 'connection lost'
                    : o.health.state
                : '–',
              'health',
            ),
            card('Bus', o.url ?? 'this process', 'url', true),
            card('Groups', figure(o.groups.count), 'group-count'),
            card('Total lag', partial(o.groups.lag, o.groups.lagUnknown), 'total-lag'),
            card('Pending', partial(o.groups.pending, o.groups.pendingUnknown), 'total-pending'),
          ),
          h('h2', {}, 'Rates (per second)'),
          h(
            'div',
            { className: 'cards' },
            card('Published', figure(r.published), 'rate-published'),
            card('Delivered', figure(r.delivered), 'rate-delivered'),
            card('Acked', figure(r.acked), 'rate-acked'),
            card('Dead-lettered', figure(r.deadLettered), 'rate-dead-lettered'),
            card('Errors', figure(r.errors), 'rate-errors'),
          ),
          h(
            'p',
            { className: 'note' },
            `${o.ownBus ? `Rates and totals are those of the console's own bus (published ${figure(o.stats.published)}, delivered ${figure(o.stats.delivered)} since it opened), not of your services: start the console inside a service with startConsole({ bus }) to see its traffic.` : `Rates and totals are those of the bus this console runs in (published ${figure(o.stats.published)}, delivered ${figure(o.stats.delivered)}, dead-lettered ${figure(o.stats.deadLettered)} since it opened).`} Lag and pending come from the broker and cover every service. Refreshed every ${pollMs / 1000} s.`,
          ),
          o.groupsError ? errorBox(o.groupsError) : '',
        );
      } catch (error) {
        root.replaceChildren(h('h1', {}, 'Overview'), errorBox(error));
      }
    },
  );
}

function groupsPage(root) {
  const filter = h('input', { type: 'text', placeholder: 'filter by name', 'data-testid': 'group-filter' });
  const body = h('tbody');
  const note = h('p', { className: 'note' });
  root.replaceChildren(
    h('h1', {}, 'Groups'),
    h('div', { className: 'toolbar' }, h('label', {}, 'Group', filter)),
    h(
      'table',
      { 'data-testid': 'groups' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Group'),
          h('th', {}, 'Patterns'),
          h('th', { className: 'num' }, 'Members'),
          h('th', { className: 'num' }, 'Pending'),
          h('th', { className: 'num' }, 'Lag'),
          h('th', { className: 'num' }, 'Redelivered'),
          h('th', {}, 'Lag over time'),
        ),
      ),
      body,
    ),
    note,
  );
  let last;
  const render = () => {
    if (!last) return;
    const text = filter.value.trim().toLowerCase();
    const rows = last.groups.filter((g) => !text || g.group.toLowerCase().includes(text));
    body.replaceChildren(
      ...rows.map((g) =>
        h(
          'tr',
          { 'data-group': g.group },
          h('td', { className: 'mono' }, g.group),
          h('td', { className: 'mono' }, g.patterns.join(', ') || '–'),
          h('td', { className: 'num' }, figure(g.members)),
          h('td', { className: 'num' }, figure(g.pending)),
          h('td', { className: 'num', 'data-testid': 'lag' }, figure(g.lag)),
          h('td', { className: 'num' }, figure(g.redelivered)),
          h('td', {}, sparkline(g.history)),
        ),
      ),
      ...(rows.length === 0
        ? [
            h(
              'tr',
              {},
              h(
                'td',
                { colSpan: 7, className: 'note' },
                filter.value.trim() ? 'No group matches the filter.' : 'No consumer groups.',
              ),
            ),
          ]
        : []),
    );
    note.replaceChildren(
      `– where the broker cannot tell. Lag: not delivered yet; pending: delivered, not settled. Charts cover the last ${span(last.intervalMs * 120)}, refreshed every ${last.intervalMs / 1000} s.`,
      last.error ? errorBox(last.error) : '',
    );
  };
  filter.oninput = render;
  return every(
    () => pollMs,
    async () => {
      try {
        last = await api('api/groups');
        pollMs = Math.max(500, last.intervalMs);
        render();
      } catch (error) {
        note.replaceChildren(errorBox(error));
      }
    },
  );
}

const FILTERS = ['subject', 'group', 'error', 'since', 'until', 'in'];

/** `subject orders.>, error timeout` — what "all matching" means, said in the confirmations. */
function describeFilters(f) {
  const parts = FILTERS.filter((k) => f[k]).map((k) => `${k} ${f[k]}`);
  return parts.length > 0 ? parts.join(', ') : 'no filter (every dead letter in dlq.>)';
}

function filtersFromHash(params) {
  const f = {};
  for (const k of FILTERS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function deadLettersPage(root, params) {
  const filters = filtersFromHash(params);
  const input = (name, placeholder, label = name) =>
    h(
      'label',
      {},
      label,
      h('input', {
        type: 'text',
        name,
        placeholder,
        value: filters[name] ?? '',
        'data-testid': `filter-${name}`,
      }),
    );
  const form = h(
    'form',
    { className: 'filters', 'data-testid': 'filters' },
    input('subject', 'e.g. orders.>', 'original subject'),
    input('group', 'e.g. billing'),
    input('error', 'text in the error'),
    input('since', 'e.g. 2h or 2026-12-06T10:00Z', 'since (UTC)'),
    input('until', '', 'until (UTC)'),
    input('in', 'dlq.>', 'stored in'),
    h('button', { type: 'submit', className: 'primary' }, 'Filter'),
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const el of form.querySelectorAll('input')) if (el.value.trim()) next.set(el.name, el.value.trim());
    location.hash = `#/dead-letters?${next}`;
  };

  const selected = new Set();
  const allMatching = h('input', { type: 'checkbox', 'data-testid': 'select-all-matching' });
  const count = h('span', { 'data-testid': 'selected-count' }, 'none selected');
  const rate = h('input', { type: 'number', min: '0', value: '50', 'data-testid': 'rate' });
  const previewBtn = h('button', { type: 'button', 'data-testid': 'dry-run' }, 'Preview (dry run)');
  const redriveBtn = h(
    'button',
    { type: 'button', className: 'primary', 'data-testid': 'redrive' },
    'Redrive',
  );
  const purgeBtn = h('button', { type: 'button', className: 'danger', 'data-testid': 'purge' }, 'Purge…');
  const jobBox = h('div', { 'data-testid': 'job' });
  const body = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const headBox = h('input', {
    type: 'checkbox',
    title: 'select the rows shown',
    'data-testid': 'select-page',
  });
  const message = h('div');

  const jobBody = (extra) =>
    allMatching.checked
      ? {
          selection: { ...filters },
          // "stored in" narrows where to look, it selects nothing by itself: the server needs `all` then
          ...(Object.keys(filters).every((k) => k === 'in') ? { all: true } : {}),
          ...extra,
        }
      : { selection: { refs: [...selected], ...(filters.in ? { in: filters.in } : {}) }, ...extra };
  let busy = false;
  const refresh = () => {
    const n = allMatching.checked ? 'every dead letter matching the filters' : `${selected.size} selected`;
    count.textContent = allMatching.checked || selected.size > 0 ? n : 'none selected';
    const none = !allMatching.checked && selected.size === 0;
    previewBtn.disabled = none || busy;
    redriveBtn.disabled = none || busy;
    purgeBtn.disabled = none || busy;
  };
  // "all matching" means the filters applied (in the address), never what is typed but not applied
  form.oninput = () => {
    const edited = [...form.querySelectorAll('input')].some(
      (el) => el.value.trim() !== (filters[el.name] ?? ''),
    );
    allMatching.disabled = edited;
    if (edited) allMatching.checked = false;
    count.title = edited ? 'press Filter to apply the filters first' : '';
    refresh();
  };
  allMatching.onchange = refresh;

  root.replaceChildren(
    h('h1', {}, 'Dead letters'),
    form,
    h(
      'div',
      { className: 'panel toolbar' },
      h('label', { className: 'inline' }, allMatching, 'all matching the filters'),
      count,
      h('label', { className: 'inline' }, 'rate (msg/s, 0 = unlimited)', rate),
      previewBtn,
      redriveBtn,
      purgeBtn,
    ),
    jobBox,
    message,
    h(
      'table',
      { 'data-testid': 'dead-letters' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, headBox),
          h('th', {}, 'Dead-lettered at (UTC)'),
          h('th', {}, 'Subject'),
          h('th', {}, 'Group'),
          h('th', { className: 'num' }, 'Attempts'),
          h('th', { className: 'num' }, 'Redrives'),
          h('th', {}, 'Error'),
          h('th', {}, 'Payload'),
        ),
      ),
      body,
    ),
    more,
  );

  const row = (d) => {
    const box = h('input', { type: 'checkbox', 'data-ref': d.ref, checked: selected.has(d.ref) });
    box.onclick = (event) => event.stopPropagation();
    box.onchange = () => {
      if (box.checked) selected.add(d.ref);
      else selected.delete(d.ref);
      refresh();
    };
    const tr = h(
      'tr',
      { className: 'row', 'data-ref': d.ref, 'data-testid': 'dead-letter-row' },
      h('td', {}, box),
      h('td', { className: 'mono nowrap' }, time(d.at)),
      h('td', { className: 'mono clip', title: d.subject }, d.subject),
      h('td', { className: 'mono' }, d.group ?? '–'),
      h('td', { className: 'num' }, figure(d.attempts)),
      h('td', { className: 'num' }, figure(d.redriveCount)),
      h('td', { className: 'clip error', title: d.error ?? d.reason }, d.error ?? d.reason),
      h('td', { className: 'mono clip', title: `${bytes(d.size)}` }, d.preview),
    );
    tr.tabIndex = 0;
    tr.onclick = () => {
      location.hash = `#/dead-letter?ref=${encodeURIComponent(d.ref)}${filters.in ? `&in=${encodeURIComponent(filters.in)}` : ''}`;
    };
    tr.onkeydown = (event) => {
      if (event.key === 'Enter') tr.onclick();
    };
    return tr;
  };

  let shown = [];
  const load = async (after) => {
    const q = new URLSearchParams({ ...filters, limit: '50', ...(after ? { after } : {}) });
    try {
      const page = await api(`api/dead-letters?${q}`);
      shown = after ? [...shown, ...page.items] : page.items;
      body.replaceChildren(...shown.map(row));
      if (shown.length === 0)
        body.append(h('tr', {}, h('td', { colSpan: 8, className: 'note' }, 'No dead letters match.')));
      more.hidden = !page.next;
      more.disabled = false;
      more.onclick = () => {
        more.disabled = true;
        load(page.next);
      };
      message.replaceChildren();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  };
  headBox.onchange = () => {
    for (const d of shown) {
      if (headBox.checked) selected.add(d.ref);
      else selected.delete(d.ref);
    }
    for (const box of body.querySelectorAll('input[type=checkbox]')) box.checked = headBox.checked;
    refresh();
  };

  let poll;
  const runJob = async (path, data) => {
    jobBox.replaceChildren();
    message.replaceChildren();
    busy = true;
    refresh();
    try {
      const first = await post(path, data);
      const bar = h('progress', { max: 1, value: 0, 'data-testid': 'progress' });
      const label = h('div', { 'data-testid': 'job-label' });
      const stop = h('button', { type: 'button' }, 'Stop');
      stop.onclick = () => post(`api/jobs/${first.id}/stop`, {}).catch(() => undefined);
      jobBox.replaceChildren(h('div', { className: 'panel' }, label, bar, stop));
      const verb = first.kind === 'redrive' ? 'redriven' : 'purged';
      const show = (job) => {
        const p = job.progress;
        const ended = job.state !== 'running';
        if (job.dryRun) {
          bar.max = Math.max(1, p.selected);
          bar.value = ended ? p.selected : 0;
          label.textContent = `Dry run: ${p.selected} would be ${verb}${ended ? '.' : '…'}`;
        } else if (job.phase === 'counting') {
          bar.removeAttribute('value'); // indeterminate while the selection is counted
          label.textContent = `Counting the selection… ${p.selected}`;
        } else {
          const total = Math.max(job.total ?? 0, p.selected);
          bar.max = Math.max(1, total);
          bar.value = p.done;
          label.textContent = `${p.done} of ${total} ${verb}${ended ? ` — ${job.state} in ${(job.elapsedMs / 1000).toFixed(1)} s` : '…'}${ended && p.pendingRemoval ? ` (${p.pendingRemoval} republished, their dead letters not removed: run it again to remove them)` : ''}`;
        }
        if (job.error) label.append(errorBox(job.error));
      };
      show(first);
      await new Promise((resolve) => {
        poll = every(250, async () => {
          let job;
          try {
            job = await api(`api/jobs/${first.id}`);
          } catch (error) {
            poll();
            label.append(
              errorBox(`lost track of this ${first.kind}: ${error.message} (was the console restarted?)`),
            );
            resolve();
            return;
          }
          show(job);
          if (job.state !== 'running') {
            poll();
            stop.remove();
            if (job.dryRun && job.listed?.length)
              jobBox.firstChild.append(
                h(
                  'ul',
                  { 'data-testid': 'dry-run-list' },
                  ...job.listed.map((d) => h('li', { className: 'mono' }, `${d.subject}  ${d.id}`)),
                ),
                job.progress.selected > job.listed.length
                  ? h(
                      'p',
                      { className: 'note' },
                      `The first ${job.listed.length} of ${job.progress.selected}.`,
                    )
                  : '',
              );
            resolve();
          }
        });
      });
      if (!data.dryRun) {
        selected.clear();
        allMatching.checked = false;
        await load();
      }
    } catch (error) {
      message.replaceChildren(errorBox(error));
    } finally {
      busy = false;
      refresh();
    }
  };
  const rateValue = () => {
    const n = Number(rate.value);
    if (rate.value.trim() === '' || !Number.isFinite(n) || n < 0) {
      message.replaceChildren(errorBox('rate: a number of messages per second, 0 for unlimited'));
      return undefined;
    }
    return n;
  };
  const what = () =>
    allMatching.checked
      ? `every dead letter matching ${describeFilters(filters)}`
      : `${selected.size} dead letter(s)`;
  previewBtn.onclick = () => {
    const r = rateValue();
    if (r !== undefined) runJob('api/dead-letters/redrive', jobBody({ rate: r, dryRun: true }));
  };
  redriveBtn.onclick = () => {
    const r = rateValue();
    if (r === undefined) return;
    if (allMatching.checked && !confirm(`Redrive ${what()} to their original subjects?`)) return;
    runJob('api/dead-letters/redrive', jobBody({ rate: r }));
  };
  purgeBtn.onclick = () => {
    if (!confirm(`Delete ${what()}? This cannot be undone.`)) return;
    runJob('api/dead-letters/purge', jobBody({ confirm: true }));
  };

  refresh();
  load();
  return () => poll?.();
}

function deadLetterPage(root, params) {
  const ref = params.get('ref') ?? '';
  const where = params.get('in');
  const scope = where ? { in: where } : {};
  root.replaceChildren(h('h1', {}, 'Dead letter'), h('p', { className: 'note' }, 'loading…'));
  (async () => {
    let d;
    try {
      d = await api(
        `api/dead-letters/one?ref=${encodeURIComponent(ref)}${where ? `&in=${encodeURIComponent(where)}` : ''}`,
      );
    } catch (error) {
      root.replaceChildren(
        h('h1', {}, 'Dead letter'),
        errorBox(error),
        h('a', { href: '#/dead-letters' }, '← all dead letters'),
      );
      return;
    }
    const field = (label, value, testid) => [h('dt', {}, label), h('dd', { 'data-testid': testid }, value)];
    const p = d.payload;
    const views = { json: p.json, text: p.text, hex: p.hex };
    const pre = h('pre', { 'data-testid': 'payload' });
    const cut = h('p', { className: 'note', 'data-testid': 'payload-note' });
    const tabs = h('div', { className: 'tabs' });
    const show = (kind) => {
      pre.textContent = views[kind] ?? '';
      for (const b of tabs.children) b.classList.toggle('active', b.dataset.kind === kind);
      const limit = kind === 'hex' ? '4 KiB' : '64 KiB';
      cut.textContent = p.truncated[kind] ? `Showing the first ${limit} of ${bytes(p.size)}` : bytes(p.size);
    };
    for (const kind of ['json', 'text', 'hex'])
      if (views[kind] !== undefined) {
        const b = h(
          'button',
          { type: 'button', 'data-kind': kind, 'data-testid': `tab-${kind}` },
          kind.toUpperCase(),
        );
        b.onclick = () => show(kind);
        tabs.append(b);
      }
    const status = h('div', { 'data-testid': 'detail-status' });
    const redrive = h(
      'button',
      { type: 'button', className: 'primary', 'data-testid': 'redrive-one' },
      'Redrive',
    );
    const purge = h('button', { type: 'button', className: 'danger', 'data-testid': 'purge-one' }, 'Purge…');
    const act = async (path, data, done) => {
      try {
        const job = await post(path, data);
        let view = job;
        redrive.disabled = true;
        purge.disabled = true;
        // until it ends, or the page is left
        while (view.state === 'running' && root.isConnected) {
          await new Promise((r) => setTimeout(r, 150));
          view = await api(`api/jobs/${job.id}`);
        }
        status.textContent = view.error
          ? view.error
          : view.progress.done === 1
            ? done
            : `nothing ${done.split(' ')[0]} (it may be gone already)`;
        const again = view.progress.done !== 1;
        redrive.disabled = !again;
        purge.disabled = !again;
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    };
    redrive.onclick = () =>
      act('api/dead-letters/redrive', { selection: { refs: [d.ref], ...scope } }, `redriven to ${d.subject}`);
    purge.onclick = () => {
      if (confirm('Delete this dead letter? This cannot be undone.'))
        act('api/dead-letters/purge', { selection: { refs: [d.ref], ...scope }, confirm: true }, 'purged');
    };
    root.replaceChildren(
      h('p', {}, h('a', { href: '#/dead-letters' }, '← all dead letters')),
      h('h1', { className: 'mono', 'data-testid': 'detail-subject' }, d.subject),
      h('div', { className: 'toolbar' }, redrive, purge, status),
      h(
        'div',
        { className: 'panel' },
        h(
          'dl',
          { className: 'fields' },
          field('Message id', d.id, 'detail-id'),
          field('Dead-lettered at', `${time(d.at)} UTC`),
          field('Stored in', d.deadLetterSubject),
          field('Group', d.group ?? '–', 'detail-group'),
          field('Attempts', figure(d.attempts)),
          field('Redrives', figure(d.redriveCount)),
          field('Reason', d.reason, 'detail-reason'),
        ),
      ),
      h('h2', {}, 'Error'),
      h('pre', { 'data-testid': 'detail-error' }, d.error ?? '(none)'),
      h('h2', {}, 'Payload'),
      tabs,
      cut,
      pre,
      h('h2', {}, 'Headers'),
      h(
        'table',
        { 'data-testid': 'headers' },
        h(
          'tbody',
          {},
          ...d.headers.map(([k, v]) =>
            h('tr', {}, h('td', { className: 'mono' }, k), h('td', { className: 'mono' }, v)),
          ),
        ),
      ),
      d.more ? h('p', { className: 'note' }, `${d.more} more headers not shown.`) : '',
    );
    show(p.kind);
  })();
  return () => undefined;
}

function tailPage(root, params) {
  const pattern = h('input', {
    type: 'text',
    value: params.get('pattern') ?? '>',
    'data-testid': 'tail-pattern',
  });
  const start = h('button', { type: 'submit', className: 'primary', 'data-testid': 'tail-start' }, 'Start');
  const pause = h('button', { type: 'button', disabled: true, 'data-testid': 'tail-pause' }, 'Pause');
  const clear = h('button', { type: 'button' }, 'Clear');
  const state = h('span', { 'data-testid': 'tail-state' }, 'stopped');
  const body = h('tbody', { 'data-testid': 'tail-rows' });
  const form = h(
    'form',
    { className: 'filters' },
    h('label', {}, 'Pattern', pattern),
    start,
    pause,
    clear,
    state,
  );
  root.replaceChildren(
    h('h1', {}, 'Tail'),
    form,
    h(
      'p',
      { className: 'note' },
      'Live messages on subjects matching the pattern, newest first (the last 500). An ungrouped subscription: it takes nothing away from any group.',
    ),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Published (UTC)'),
          h('th', {}, 'Subject'),
          h('th', {}, 'Id'),
          h('th', { className: 'num' }, 'Attempt'),
          h('th', {}, 'Headers'),
          h('th', {}, 'Payload'),
        ),
      ),
      body,
    ),
  );
  let source;
  let paused = false;
  let held = [];
  let received = 0;
  let skipped = 0;
  const MAX_ROWS = 500;
  const add = (m) => {
    body.prepend(
      h(
        'tr',
        { 'data-testid': 'tail-row' },
        h('td', { className: 'mono' }, time(m.at)),
        h('td', { className: 'mono' }, m.subject),
        h('td', { className: 'mono clip', title: m.id }, m.id),
        h('td', { className: 'num' }, figure(m.attempt)),
        h('td', { className: 'mono clip' }, m.headers.map(([k, v]) => `${k}=${v}`).join(' ')),
        h('td', { className: 'mono clip', title: bytes(m.size) }, m.preview),
      ),
    );
    while (body.children.length > MAX_ROWS) body.lastChild.remove();
  };
  const showState = (text) => {
    state.textContent = `${text} · ${received} received${skipped ? ` · ${skipped} skipped (the page fell behind)` : ''}${paused ? ` · paused, ${held.length} held` : ''}`;
    state.className = paused ? 'paused' : '';
  };
  const stop = () => {
    source?.close();
    source = undefined;
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    stop();
    const p = pattern.value.trim();
    if (!p) return;
    history.replaceState(null, '', `#/tail?pattern=${encodeURIComponent(p)}`);
    body.replaceChildren(); // a new pattern starts a new list
    received = 0;
    skipped = 0;
    held = [];
    paused = false;
    pause.textContent = 'Pause';
    source = new EventSource(`api/tail?pattern=${encodeURIComponent(p)}`);
    showState('connecting');
    source.addEventListener('ready', () => {
      pause.disabled = false;
      showState('live');
    });
    source.addEventListener('message', (event) => {
      const m = JSON.parse(event.data);
      received++;
      if (paused) {
        held.push(m);
        if (held.length > MAX_ROWS) held.shift();
      } else add(m);
      showState('live');
    });
    source.addEventListener('dropped', (event) => {
      skipped += Number(event.data) || 0;
      showState('live');
    });
    const current = source;
    source.onerror = async () => {
      if (current.readyState !== EventSource.CLOSED) return showState('reconnecting');
      // EventSource does not say why: ask once, and read the refusal (a bad pattern, too many tails)
      const probe = new AbortController();
      const res = await fetch(`api/tail?pattern=${encodeURIComponent(p)}`, { signal: probe.signal }).catch(
        () => undefined,
      );
      const reason = res && !res.ok ? (await res.json().catch(() => ({})))?.error?.message : undefined;
      probe.abort();
      showState(reason ? `refused: ${reason}` : 'closed (the console is gone?)');
    };
  };
  pause.onclick = () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      for (const m of held) add(m);
      held = [];
    }
    showState('live');
  };
  clear.onclick = () => body.replaceChildren();
  if (params.get('pattern')) form.requestSubmit();
  return stop;
}

// ---- the router ---------------------------------------------------------------------------

const PAGES = {
  overview: overviewPage,
  groups: groupsPage,
  'dead-letters': deadLettersPage,
  'dead-letter': deadLetterPage,
  tail: tailPage,
};

let leave = () => undefined;

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const name = PAGES[path] ? path : 'overview';
  leave();
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.dataset.page === (name === 'dead-letter' ? 'dead-letters' : name));
  const root = h('section', { 'data-page': name });
  main.replaceChildren(root);
  leave = PAGES[name](root, new URLSearchParams(query ?? '')) ?? (() => undefined);
}

window.addEventListener('hashchange', route);
route();
every(5000, async () => {
  const o = await api('api/overview').catch(() => undefined);
  if (o) showStatus(o.health);
});
