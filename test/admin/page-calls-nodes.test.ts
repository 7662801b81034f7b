// Recent calls and the dashboard with several nodes on one PostgreSQL (issue #15): a Node column and
// each node's totals only then; a single-node site's pages are unchanged.
import t from 'tap';
import { renderCallsPage } from '../../daemon/admin/page-calls.js';
import { renderDashboard } from '../../daemon/admin/page-views.js';
import type { ScreenedRow } from '../../daemon/services/screen-recorder.js';
import { adminFrame } from '../support/page-frame.js';

const frame = adminFrame('Recent calls', '/calls');
const row = (id: number, node?: string): ScreenedRow => ({
  id,
  at: 1_764_900_000_000 + id,
  org_id: 1,
  channel: 'call',
  direction: 'inbound',
  from_raw: `+1555000000${id}`,
  to_raw: '+12125550100',
  number: `+1555000000${id}`,
  action: 'reject',
  rule_kind: 'exact',
  rule_id: '1',
  reason: 'blocked',
  adapter: 'fastagi',
  call_id: null,
  fail_mode: null,
  latency_us: 10,
  attestation: null,
  ...(node !== undefined ? { node } : {}),
});
const none = { verdict: '' as const, number: '' };

t.test("recent calls: a Node column with every node's calls; none on one node", async (t) => {
  const site = renderCallsPage(frame, [row(2, 'pbx-b'), row(1, 'pbx-a')], none, 1, 25, 'site').value;
  t.match(site, '<th scope="col">Node</th>');
  t.match(site, '<td data-label="Node">pbx-b</td>');
  t.match(site, '<td data-label="Node">pbx-a</td>');
  t.notMatch(site, /cannot be reached/);
  const single = renderCallsPage(frame, [row(2), row(1)], none, 1, 25).value;
  t.notMatch(single, /Node/, 'a single-node site has no Node column');
  const away = renderCallsPage(frame, [row(1, 'pbx-a')], none, 1, 25, 'node').value;
  t.match(away, '<td data-label="Node">pbx-a</td>');
  t.match(
    away,
    'The shared store cannot be reached: only the calls this node screened are listed.',
    "PostgreSQL away: says the list is this node's",
  );
});

t.test("dashboard: each node's totals only with several nodes", async (t) => {
  const base = { days: [{ day: '2026-12-05', calls: 3, messages: 0 }], top: [], totals: { screened: 5, blocked: 3 } };
  t.notMatch(renderDashboard(base).value, /per node/, 'one node: unchanged');
  const site = renderDashboard({
    ...base,
    scope: 'site',
    nodes: [
      { node: 'pbx-a', screened: 2, blocked: 1 },
      { node: 'pbx-b', screened: 3, blocked: 2 },
    ],
  }).value;
  t.match(site, '<caption>Screened per node</caption>');
  t.match(site, '<td data-label="Node">pbx-b</td><td data-label="Screened">3</td><td data-label="Blocked">2</td>');
  t.notMatch(site, /cannot be reached/);
  const away = renderDashboard({ ...base, scope: 'node', nodes: [{ node: 'pbx-a', screened: 5, blocked: 3 }] }).value;
  t.match(away, "these figures are this node's calls only");
});
