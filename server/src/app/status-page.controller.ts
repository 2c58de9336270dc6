import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/** `/` until the viewer is built (its `dist` is served in front of this when it exists). */
@ApiExcludeController()
@Controller()
export class StatusPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rewardlab</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1f2328}table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;border-bottom:1px solid #d0d7de;text-align:left}code{background:#f6f8fa;padding:0 .2rem}</style></head>
<body><h1>rewardlab</h1>
<p>The API is at <code>/api</code> (OpenAPI docs: <a href="/api/docs">/api/docs</a>); live metrics stream on the WebSocket <code>/api/ws</code>. The replay viewer appears here once <code>viewer/dist</code> is built.</p>
<table><thead><tr><th>run</th><th>env</th><th>reward</th><th>status</th><th>step</th><th>mean return</th></tr></thead><tbody id="runs"></tbody></table>
<script>
async function refresh() {
  const r = await fetch('/api/runs?limit=20');
  if (!r.ok) return;
  const { runs } = await r.json();
  document.getElementById('runs').innerHTML = runs.map((x) => '<tr><td>' + x.id.slice(0, 8) + '</td><td>' + x.env + '</td><td>' + (typeof x.reward === 'string' ? x.reward : 'custom') + '</td><td>' + x.status + '</td><td>' + x.step + ' / ' + x.steps + '</td><td>' + (x.meanReturn == null ? '' : x.meanReturn.toFixed(2)) + '</td></tr>').join('');
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
`;
  }
}
