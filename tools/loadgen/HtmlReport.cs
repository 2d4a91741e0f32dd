using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadGen;

/// <summary>A self-contained HTML page (inline SVG drawn by inline JS, no network) with the run's charts.</summary>
public static class HtmlReport
{
    public static string Render(Report r)
    {
        var data = new
        {
            timeline = r.Timeline.Select(t => new[] { t.Second, t.Connected, t.Connecting, t.NewConnections, t.Messages, t.Errors }),
            prompts = r.Prompts.Select(p => new
            {
                id = p.Id,
                cdf = Histogram.FromData(p.Latency).Cdf().Select(c => new[] { c.Value / 1000.0, c.Fraction }),
            }),
            connect = Histogram.FromData(r.ConnectTime).Cdf().Select(c => new[] { c.Value / 1000.0, c.Fraction }),
        };
        string json = JsonSerializer.Serialize(data).Replace("</", "<\\/", StringComparison.Ordinal);
        string summary = WebUtility.HtmlEncode(Summary.Render(r));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $$"""
            <!doctype html>
            <html><head><meta charset="utf-8"><title>loadgen {{WebUtility.HtmlEncode(r.Scenario)}} report</title>
            <style>
            body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
            pre{background:#f6f6f6;padding:12px;overflow:auto}svg{background:#fff;border:1px solid #ddd}
            .legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
            </style></head><body>
            <h1>loadgen {{WebUtility.HtmlEncode(r.Scenario)}} — {{WebUtility.HtmlEncode(r.Target)}}</h1>
            <pre>{{summary}}</pre>
            <h2>Sockets over time</h2><div id="sockets"></div>
            <h2>Throughput per second (messages received, new connections)</h2><div id="throughput"></div>
            <h2>Publish → receive latency CDF per prompt</h2><div id="cdf"></div>
            <h2>Connect time CDF</h2><div id="connect"></div>
            <script>
            const D = {{json}};
            const COLORS = ['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
            function chart(el, series, xLabel, yLabel, opts) {
              opts = opts || {};
              const W = 860, H = 300, L = 60, B = 40, T = 10, R = 20;
              let xs = [], ys = [];
              series.forEach(s => s.points.forEach(p => { xs.push(p[0]); ys.push(p[1]); }));
              if (!xs.length) { document.getElementById(el).textContent = 'no data'; return; }
              const x0 = opts.logX ? Math.max(0.01, Math.min(...xs)) : Math.min(0, ...xs), x1 = Math.max(...xs, x0 + 1e-9);
              const y0 = 0, y1 = opts.yMax || Math.max(1, ...ys);
              const fx = v => opts.logX ? L + (Math.log10(Math.max(v, x0)) - Math.log10(x0)) / ((Math.log10(x1) - Math.log10(x0)) || 1) * (W - L - R)
                                        : L + (v - x0) / ((x1 - x0) || 1) * (W - L - R);
              const fy = v => H - B - (v - y0) / ((y1 - y0) || 1) * (H - B - T);
              let svg = `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">`;
              for (let i = 0; i <= 4; i++) {
                const yv = y0 + (y1 - y0) * i / 4, y = fy(yv);
                svg += `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${L - 6}" y="${y + 4}" font-size="11" text-anchor="end">${+yv.toFixed(2)}</text>`;
                const xv = opts.logX ? Math.pow(10, Math.log10(x0) + (Math.log10(x1) - Math.log10(x0)) * i / 4) : x0 + (x1 - x0) * i / 4;
                svg += `<text x="${fx(xv)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${+xv.toPrecision(3)}</text>`;
              }
              svg += `<text x="${(W + L) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">${xLabel}</text>`;
              svg += `<text x="14" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${yLabel}</text>`;
              series.forEach((s, i) => {
                const c = COLORS[i % COLORS.length];
                const d = s.points.map((p, j) => (j ? 'L' : 'M') + fx(p[0]).toFixed(1) + ' ' + fy(p[1]).toFixed(1)).join(' ');
                svg += `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.6"${opts.step ? ' shape-rendering="crispEdges"' : ''}/>`;
              });
              svg += '</svg><div class="legend">' + series.map((s, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${s.name}</span>`).join('') + '</div>';
              document.getElementById(el).innerHTML = svg;
            }
            const t = D.timeline;
            chart('sockets', [{ name: 'connected', points: t.map(p => [p[0], p[1]]) }, { name: 'connecting', points: t.map(p => [p[0], p[2]]) }], 'seconds', 'sockets');
            chart('throughput', [{ name: 'messages/s', points: t.map(p => [p[0], p[4]]) }, { name: 'new connections/s', points: t.map(p => [p[0], p[3]]) }, { name: 'errors/s', points: t.map(p => [p[0], p[5]]) }], 'seconds', 'per second');
            chart('cdf', D.prompts.map(p => ({ name: p.id, points: p.cdf })), 'latency (ms, log scale)', 'fraction of sockets', { logX: true, yMax: 1 });
            chart('connect', [{ name: 'connect time', points: D.connect }], 'ms (log scale)', 'fraction', { logX: true, yMax: 1 });
            </script></body></html>

            """);
        return sb.ToString();
    }
}
