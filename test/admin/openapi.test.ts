/**
 * The OpenAPI document against the routes the server really has (issue #14: it said "200 Default
 * Response" everywhere, had no errors, marked public routes as needing auth and listed 27 HTML pages).
 */
import t from 'tap';
import { PASSWORD, signIn, startPanel } from '../support/panel.js';

interface Op {
  responses: Record<
    string,
    { description?: string; content?: { 'application/json'?: { schema?: { required?: string[] } } } }
  >;
  security?: unknown[];
}

t.test('the document lists exactly the API routes, with real statuses, errors and security', async (t) => {
  const { app, server } = await startPanel(t);
  const spec = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
    paths: Record<string, Record<string, Op>>;
  }>();
  const toDoc = (url: string) => url.replace(/:(\w+)/g, '{$1}');
  const documented = new Set(
    Object.entries(spec.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`)),
  );
  const api = server.routes.filter(
    (r) => r.url.startsWith('/api/v1/') && !['/api/v1/openapi.json', '/api/v1/docs'].includes(r.url),
  );
  const expected = new Set([
    ...api.map((r) => `${r.method} ${toDoc(r.url)}`),
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
  ]);
  t.same([...documented].sort(), [...expected].sort(), 'every API route, and nothing else (no HTML page)');

  for (const r of api) {
    const op = spec.paths[toDoc(r.url)]![r.method.toLowerCase()]!;
    const codes = Object.keys(op.responses);
    t.notOk(
      codes.some((c) => op.responses[c]!.description === 'Default Response'),
      `${r.method} ${r.url}: no "Default Response"`,
    );
    t.same(
      op.security,
      r.access === 'public' ? [] : [{ bearer: [] }, { session: [] }],
      `${r.method} ${r.url}: security follows access "${r.access}"`,
    );
    t.ok(codes.includes('400') && codes.includes('500'), `${r.method} ${r.url}: 400 and 500 documented`);
    if (r.access !== 'public') t.ok(codes.includes('401') && codes.includes('403'), `${r.method} ${r.url}: 401/403`);
    if (r.url.includes(':org')) t.ok(codes.includes('404'), `${r.method} ${r.url}: 404`);
    t.same(
      op.responses['400']!.content?.['application/json']?.schema?.required,
      ['code', 'message', 'details'],
      'error body is the catalogue shape',
    );
  }
  for (const p of ['/healthz', '/readyz', '/metrics']) t.same(spec.paths[p]!.get!.security, [], `${p} is public`);
  t.same(spec.paths['/api/v1/session']!.post!.security, [], 'sign-in is public');
  t.ok(spec.paths['/api/v1/session']!.post!.responses['429'], 'sign-in documents 429');

  // The documented success status is what the route answers.
  const alice = await signIn(app, 'alice');
  const headers = { cookie: alice.cookie, 'x-csrf-token': alice.csrf };
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers,
    payload: { kind: 'number', number: '+15554440001' },
  });
  t.equal(created.statusCode, 201);
  t.ok(
    spec.paths['/api/v1/orgs/{org}/blocked']!.post!.responses['201'] &&
      !spec.paths['/api/v1/orgs/{org}/blocked']!.post!.responses['200'],
    'documented as 201',
  );
  t.match(
    created.json(),
    { value: '+15554440001', createdBy: 'alice', mode: 'reject' },
    'the response schema does not strip the entry',
  );
  const bad = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers,
    payload: { kind: 'nope' },
  });
  t.same(Object.keys(bad.json()).sort(), ['code', 'details', 'message'], 'a real error has the documented shape');
  t.equal(bad.json<{ details: { field: unknown } }>().details.field, 'kind');
  const tok = await app.inject({ method: 'POST', url: '/api/v1/me/tokens', headers, payload: { name: 'x' } });
  t.match(tok.json(), { token: /^cs_/, name: 'x', state: 'active' }, 'token answer keeps the secret and its fields');
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/session', payload: { name: 'sam', password: PASSWORD } }))
      .statusCode,
    200,
  );
});

t.test('/api/v1/docs: a readable page of the same document, public, no inline script', async (t) => {
  const { app } = await startPanel(t);
  const page = await app.inject({ method: 'GET', url: '/api/v1/docs' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, '<code>POST /api/v1/orgs/{org}/blocked</code> <span class="tag">sign-in or token</span>');
  t.match(page.body, '<code>POST /api/v1/session</code> <span class="tag">public</span>');
  t.match(page.body, /<code>201<\/code> Created/);
  t.notMatch(page.body, /<script>/);
  t.notMatch(page.body, '/blocked/{id}/unblock</code> <span class="tag">public', 'no page route leaks in');
});

t.test(
  'response schemas list every field a handler returns: the check verdict and its rule come out whole',
  async (t) => {
    const { app, ctx } = await startPanel(t);
    const spec = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<
              string,
              {
                content: {
                  'application/json': {
                    schema: { properties: Record<string, { properties?: Record<string, unknown> }> };
                  };
                };
              }
            >;
          }
        >
      >;
    }>();
    const alice = await signIn(app, 'alice');
    const headers = { cookie: alice.cookie, 'x-csrf-token': alice.csrf };
    const blocked = await app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/blocked',
      headers,
      payload: { kind: 'number', number: '+15554440002', name: 'Spam Co', reason: 'robocalls', mode: 'voicemail' },
    });
    t.equal(blocked.statusCode, 201);
    await ctx.feed.poll(); // the screening index learns the new entry from the change feed
    // With a verstat, so that the optional attestation field is filled too.
    const check = (
      await app.inject({
        method: 'GET',
        url: '/api/v1/orgs/acme/check?number=%2B15554440002&verstat=TN-Validation-Passed-A',
        headers,
      })
    ).json<{ rule: Record<string, unknown> }>();
    t.match(check, {
      action: 'voicemail',
      normalized: '+15554440002',
      rule: { kind: 'exact', value: '+15554440002', name: 'Spam Co', reason: 'robocalls', mode: 'voicemail' },
    });
    const schema = spec.paths['/api/v1/orgs/{org}/check']!.get!.responses['200']!.content['application/json'].schema;
    t.same(
      Object.keys(check).sort(),
      Object.keys(schema.properties).sort(),
      'the verdict fields are the documented ones',
    );
    t.same(
      Object.keys(check.rule).sort(),
      Object.keys(schema.properties.rule!.properties ?? {}).sort(),
      'every documented rule field is filled here, and none is dropped',
    );
  },
);
