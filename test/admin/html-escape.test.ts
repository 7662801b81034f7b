import t from 'tap';
import { escapeHtml, html, SafeHtml } from '../../daemon/admin/html-escape.js';

t.test('escapeHtml escapes the five characters that break out of text or quoted attributes', async (t) => {
  t.equal(
    escapeHtml(`<script>alert("x")</script> & 'y'`),
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
  );
  t.equal(escapeHtml(null), '');
  t.equal(escapeHtml(42), '42');
});

t.test('html escapes every interpolated value, arrays too, but not nested html', async (t) => {
  const evil = '"><img src=x onerror=alert(1)>';
  const out = html`<input value="${evil}"><ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`;
  t.type(out, SafeHtml);
  t.equal(
    out.value,
    '<input value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"><ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>',
  );
  t.equal(html`${false}${undefined}${null}x`.value, 'x', 'absent values render as nothing');
});
