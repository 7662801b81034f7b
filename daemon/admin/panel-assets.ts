/**
 * The panel's stylesheet and script, served from /assets/ (the CSP allows only same-origin script
 * and style, never inline). No build step: plain CSS and a few lines of vanilla JS.
 */
export const PANEL_CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --bg:#fff; --panel:#f6f8fa; --line:#d0d7de; --accent:#0b5cad; --danger:#b42318; --ok:#1a7f37; --focus:#ffbf47; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
:focus-visible { outline:3px solid var(--focus); outline-offset:2px; }
.skip { position:absolute; left:-999px; } .skip:focus { left:8px; top:8px; background:#fff; padding:4px 8px; z-index:2; }
header.top { background:#14325c; color:#fff; padding:8px 16px; display:flex; flex-wrap:wrap; gap:8px 16px; align-items:center; }
header.top a { color:#fff; } header.top .brand { font-weight:700; margin-right:auto; }
header.top form { display:flex; gap:6px; align-items:center; margin:0; }
header.top label { font-size:14px; }
nav.main { background:var(--panel); border-bottom:1px solid var(--line); padding:0 16px; }
nav.main ul { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap:0 2px; }
nav.main a { display:inline-block; padding:10px 5px; font-size:.94rem; text-decoration:none; color:var(--fg); border-bottom:3px solid transparent; }
nav.main a[aria-current="page"] { border-bottom-color:var(--accent); font-weight:600; }
main { padding:16px; max-width:1280px; margin:0 auto; }
h1 { font-size:1.5rem; margin:0 0 12px; }
h2 { font-size:1.15rem; margin:20px 0 8px; }
.notice { padding:10px 12px; border-radius:6px; background:#dafbe1; border:1px solid #aceebb; margin-bottom:12px; }
.error { padding:10px 12px; border-radius:6px; background:#ffebe9; border:1px solid #ffcecb; margin-bottom:12px; }
.empty { padding:24px; text-align:center; color:var(--muted); background:var(--panel); border-radius:8px; }
.muted { color:var(--muted); font-size:14px; }
form.inline { display:inline; margin:0; }
form.search { display:flex; flex-wrap:wrap; gap:8px; align-items:end; margin-bottom:12px; }
.field { display:flex; flex-direction:column; gap:4px; margin-bottom:12px; }
.field label, fieldset legend { font-weight:600; }
input[type=text], input[type=search], input[type=password], input[type=tel], input[type=number], select, textarea {
  font:inherit; padding:8px 10px; border:1px solid #8c959f; border-radius:6px; min-width:0; max-width:100%; background:#fff; }
fieldset { border:1px solid var(--line); border-radius:8px; margin:0 0 12px; padding:8px 12px; }
fieldset label { display:block; padding:4px 0; font-weight:normal; }
.hint { font-weight:normal; color:var(--muted); font-size:14px; }
button, .button { font:inherit; padding:8px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger { background:var(--danger); border-color:var(--danger); }
button.link { background:none; border:none; color:#fff; text-decoration:underline; padding:0; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--panel); font-size:14px; }
.pager { display:flex; gap:12px; align-items:center; margin-top:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px; margin-bottom:16px; }
.card h2 { margin-top:0; }
.actions { display:flex; flex-wrap:wrap; gap:8px; }
.bars text { font-size:11px; fill:var(--muted); }
.legend span { display:inline-block; width:12px; height:12px; vertical-align:middle; margin:0 4px 0 12px; }
.legend .calls { background:#0b5cad; } .legend .msgs { background:#e07b00; }
.field-error { color:var(--danger); font-weight:600; font-size:14px; margin:0; }
[aria-invalid="true"] { border-color:var(--danger) !important; box-shadow:0 0 0 1px var(--danger); }
.error a { color:inherit; }
/* Block and allow forms: only the chosen kind's fieldset shows. No script needed; a browser
   without :has() shows them all, and the server reads only the chosen kind's field. */
.kind-form:has(input[name=kind][value=number]:not(:checked)) .for-number,
.kind-form:has(input[name=kind][value=prefix]:not(:checked)) .for-prefix,
.kind-form:has(input[name=kind][value=contact]:not(:checked)) .for-contact,
.kind-form:has(input[name=kind][value=pattern]:not(:checked)) .for-pattern,
.kind-form:has(input[name=kind][value=unidentified]:not(:checked)) .for-unidentified { display:none; }
.kind-form .field input, .kind-form .field select { max-width:36rem; }
/* Buttons inside table rows: compact, side by side, wrapping rather than running off the table (three at 1280 px). */
td .button, td button { padding:4px 10px; font-size:14px; }
td[data-label="Action"] .actions { flex-wrap:wrap; gap:6px; min-width:9rem; }
.table-wrap { overflow-x:auto; }
/* Plain lists of numbers with a button each (DIDs, a contact's numbers). */
ul.plain { list-style:none; padding:0; margin:0 0 12px; max-width:36rem; }
ul.plain li { display:flex; gap:12px; align-items:center; justify-content:space-between; padding:6px 0; border-bottom:1px solid var(--line); }
input#region { max-width:6rem; text-transform:uppercase; }
form.card .field input:not([type=checkbox]):not([type=radio]):not([type=file]), form.card .field select { max-width:36rem; }
form.bulk { display:flex; flex-wrap:wrap; gap:8px 16px; align-items:center; }
form.bulk label { font-weight:normal; }
.signin { max-width:360px; margin:40px auto; }
.signin input { width:100%; }
.tag { display:inline-block; padding:0 6px; border-radius:10px; font-size:13px; background:var(--panel); border:1px solid var(--line); }
header.top .tag { color:var(--fg); }
/* Times on one line at desktop widths ("Blocked On" wrapped to 2–4 lines at 1280 px). */
@media (min-width: 641px) { td[data-label="Blocked On"], td[data-label="Added On"], td[data-label="Expires"], td[data-label="When"], td[data-label="Received"] { white-space:nowrap; } }
@media (max-width: 640px) {
  main { padding:12px; }
  table.stack thead { position:absolute; left:-9999px; }
  table.stack tr { display:block; border:1px solid var(--line); border-radius:8px; margin-bottom:12px; padding:4px 8px; }
  table.stack td { display:flex; gap:8px; border:none; padding:4px 0; }
  table.stack td::before { content:attr(data-label); font-weight:600; min-width:7.5em; color:var(--muted); }
  header.top .brand { width:100%; }
  header.top form { flex-wrap:wrap; max-width:100%; }
  header.top select { max-width:55vw; }
  /* The twelve links took five rows on a 390 px phone; tighter, they take three or four (targets stay over 24 px). */
  nav.main { padding:0 8px; }
  nav.main a { padding:7px 4px; font-size:.88rem; }
  /* A cell's form (a select and its button) may be wider than the phone: it shrinks and wraps instead. */
  table.stack, table.stack tbody { display:block; }
  table.stack td > * { min-width:0; max-width:100%; }
  table.stack td form.inline { flex-wrap:wrap; }
  table.stack td select { max-width:100%; }
}
`;

/** Asks before a destructive form submits (data-confirm="question"); without JS the server still requires a real form post. */
export const PANEL_JS = `
document.addEventListener('submit', function (ev) {
  var form = ev.target;
  var submitter = ev.submitter;
  var question = (submitter && submitter.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) ev.preventDefault();
});
// Times in the viewer's own zone; the UTC time the server wrote stays in the title (hover).
function localTimes(root) {
  // "2026-11-01 04:00 EST": the server's compact shape, in the viewer's zone (a long locale date
  // made the Blocked callers table wider than 1280 px).
  var fmt = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
  root.querySelectorAll('time[datetime]').forEach(function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d.getTime())) return;
    if (!t.title) t.title = t.textContent;
    var p = {};
    fmt.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    t.textContent = p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ' ' + p.timeZoneName;
    t.setAttribute('data-local', '');
  });
}
// Import: a chosen file is read into the CSV text box (forms post no files without multipart).
function fileInto(ev) {
  var input = ev.target;
  var target = input.getAttribute('data-into') && document.getElementById(input.getAttribute('data-into'));
  if (!target || !input.files || !input.files[0]) return;
  var reader = new FileReader();
  reader.onload = function () { target.value = String(reader.result); };
  reader.readAsText(input.files[0]);
}
// Bulk selection: the "select every row on this page" box, and a live count on the bulk button.
function bulk(root) {
  var all = root.querySelector('input[data-select-all]');
  var boxes = root.querySelectorAll('input[name="ids"]');
  var count = root.querySelector('[data-selected-count]');
  function update() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) n++; });
    if (count) count.textContent = String(n);
    if (all) all.checked = n > 0 && n === boxes.length;
  }
  if (all) all.addEventListener('change', function () { boxes.forEach(function (b) { b.checked = all.checked; }); update(); });
  boxes.forEach(function (b) { b.addEventListener('change', update); });
  update();
}
document.addEventListener('DOMContentLoaded', function () {
  localTimes(document);
  bulk(document);
  document.querySelectorAll('input[type=file][data-into]').forEach(function (i) { i.addEventListener('change', fileInto); });
});
`;
