/**
 * A self-contained page that fetches /api/openapi.json and lists every route with its
 * parameters, body schema and answers. No external scripts: it works offline.
 */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Helpdesk API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:1rem 2rem;color:#1f2937}
h1{margin-bottom:0}.op{border:1px solid #e5e7eb;border-radius:6px;margin:.5rem 0}
summary{cursor:pointer;padding:.4rem .6rem;display:flex;gap:.6rem;align-items:center}
.m{font-weight:700;text-transform:uppercase;width:4.5rem;font-family:monospace}
.get{color:#2563eb}.post{color:#16a34a}.put{color:#d97706}.delete{color:#dc2626}.patch{color:#7c3aed}
.p{font-family:monospace}.s{color:#6b7280}.body{padding:0 1rem 1rem}pre{background:#f9fafb;padding:.5rem;overflow:auto;font-size:12px}
.role{font-size:11px;background:#fee2e2;color:#991b1b;border-radius:3px;padding:0 4px}
</style></head><body>
<h1>Helpdesk API</h1><p id="intro"></p><div id="ops">Loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/api/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('intro').textContent = doc.info.description;
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    (byTag[op.tags[0]] ||= []).push({ path, method, op });
  }
  let html = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of ops) {
      const params = (op.parameters || []).map((p) => '<li><code>' + esc(p.name) + '</code> (' + esc(p.in) + (p.required ? ', required' : '') + ')</li>').join('');
      const body = op.requestBody ? '<h4>Body</h4><pre>' + esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2)) + '</pre>' : '';
      const answers = Object.entries(op.responses).map(([c, r]) => '<li><b>' + esc(c) + '</b> ' + esc(r.description) + '</li>').join('');
      html += '<details class="op"><summary><span class="m ' + method + '">' + method + '</span><span class="p">' + esc(path) + '</span><span class="s">' + esc(op.summary) + '</span>' + (op['x-required-role'] ? '<span class="role">admin</span>' : '') + '</summary><div class="body">' + (op.description ? '<p>' + esc(op.description) + '</p>' : '') + (params ? '<h4>Parameters</h4><ul>' + params + '</ul>' : '') + body + '<h4>Answers</h4><ul>' + answers + '</ul></div></details>';
    }
  }
  document.getElementById('ops').innerHTML = html;
});
</script></body></html>`;
}
