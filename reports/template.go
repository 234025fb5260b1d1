package reports

import "html/template"

var pageTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f6f8}
td.label,th.label{text-align:left}tr.ref td{color:#666;font-style:italic;background:#fafafa}
tr.ref td.label::after{content:" (reference)";font-size:11px}
.note{color:#555;font-size:12px}.grid{stroke:#e3e3e3}.plot{fill:none;stroke:#ccc}
svg text{font:11px system-ui,sans-serif}svg .title{text-anchor:middle;font-weight:600}
svg .xtick{text-anchor:middle}svg .ytick{text-anchor:end}svg .xlabel{text-anchor:middle}svg .ylabel{text-anchor:middle}
svg .dark{fill:#111;text-anchor:middle}svg .light{fill:#fff;text-anchor:middle}svg .na{fill:#f0f0f0}
svg .bar{fill:#0072B2}svg .empty{text-anchor:middle;fill:#888}
.flex{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.up{color:#0a7d32;font-weight:600}.down{color:#b3261e;font-weight:600}.same{color:#999}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="note">Runs: {{range $i, $r := .Runs}}{{if $i}}, {{end}}<code>{{$r}}</code>{{end}}.
mAP is over the full ranking; mono: queries of X against the candidates of X; cross: X against one other language Y (averaged over Y);
multi: X against the pooled candidates of all languages. Macro-averaged over query languages. RD: rank distance (lower is better).
{{if .License}}Data licenses: {{.License}}.{{end}}
{{if .Degenerate}}<span id="degenerate">Zero or non-finite embeddings (scored lowest, ranked last): {{.Degenerate}}.</span>{{end}}</p>

{{if .Tradeoffs}}<h2 id="glance">At a glance: multi mAP against rank distance</h2>
<p class="note">One point per system: multi mAP (higher is better) against rank distance (lower is better), so up and to the left is better.
Whiskers: 95% bootstrap interval of each macro average (queries resampled within each query language).
Hollow diamonds: the paper's numbers (Elmahdy, Lin, Ahmad 2024, pretrained XLM-R / LaBSE encoders), not produced by this run.
Hover a point for its numbers; the table below each chart has the same numbers.</p>
{{range .Tradeoffs}}<figure class="tradeoff" data-dataset="{{.Dataset}}">{{.Chart}}</figure>
<table class="tradeoff-table" data-dataset="{{.Dataset}}"><thead><tr><th class="label">system</th><th>multi mAP</th><th>95% CI</th><th>RD ↓</th><th>95% CI</th></tr></thead>
<tbody>{{range .Rows}}<tr{{if .Ref}} class="ref"{{end}} data-name="{{.Label}}"><td class="label">{{.Label}}</td>
{{with .MAP}}<td data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{if .Ref}} data-ref="paper"{{end}}>{{.Num}}</td>{{end}}<td class="ci"{{if .HasMAPCI}} data-lo="{{index .MAPCI 0}}" data-hi="{{index .MAPCI 1}}">[{{.Num (index .MAPCI 0)}}, {{.Num (index .MAPCI 1)}}]{{else}}>–{{end}}</td>
{{with .RD}}<td data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{if .Ref}} data-ref="paper"{{end}}>{{.Num}}</td>{{end}}<td class="ci"{{if .HasRDCI}} data-lo="{{index .RDCI 0}}" data-hi="{{index .RDCI 1}}">[{{.Num (index .RDCI 0)}}, {{.Num (index .RDCI 1)}}]{{else}}>–{{end}}</td></tr>
{{end}}</tbody></table>
{{end}}{{end}}

<h2 id="summary">Summary</h2>
<table id="summary-table">
<thead><tr><th class="label">system</th><th class="label">dataset</th>{{range .Cols}}<th>{{.Label}}</th>{{end}}</tr></thead>
<tbody>
{{range .Summary}}<tr{{if .Ref}} class="ref"{{end}}><td class="label">{{.Label}}</td><td class="label">{{.Dataset}}</td>{{range .Cells}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{if .Ref}} data-ref="paper"{{end}}{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="note">Reference rows: Elmahdy, Lin, Ahmad (2024), arXiv 2408.10536, with pretrained XLM-R / LaBSE encoders; they are not produced by this run.</p>
{{if .Groups}}<h3 id="groups">Query-language groups</h3>
<p class="note">Macro averages over the listed query languages only (computed from the per-language rows; the table above averages over all query languages). Not tested for significance.</p>
<table id="group-table">
<thead><tr><th class="label">system</th><th class="label">dataset</th><th class="label">query languages</th>{{range .Cols}}<th>{{.Label}}</th>{{end}}</tr></thead>
<tbody>
{{range .Groups}}<tr data-group="{{.Group}}"><td class="label">{{.Run}}</td><td class="label">{{.Dataset}}</td><td class="label"><b>{{.Group}}</b>: {{range $i, $l := .Langs}}{{if $i}} {{end}}{{$l}}{{end}}</td>{{range .Cells}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qgroup="{{.QLang}}" data-group-value="{{.Attr}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{end}}

{{if .LangBars}}<h2 id="bias-measures">Bias measures per query language (multi setting)</h2>
<p class="note">Language preference @10: share of the top 10 in the query's language divided by that language's share of the pool (1 = no preference, above 1 = the query's own language is preferred).
PEER@100 (Yang et al., SIGIR 2024): 1 = relevant documents of every language are ranked alike, near 0 = unequal. Dashed line: 1. "macro": mean over query languages.
Hover a bar for its number; the table below each chart has the same numbers.</p>
{{range .LangBars}}<figure class="langbars" data-dataset="{{.Dataset}}" data-metric="{{.Metric}}">{{.Chart}}</figure>
<table class="langbars-table" data-dataset="{{.Dataset}}" data-metric="{{.Metric}}"><thead><tr><th class="label">system</th>{{range .Langs}}<th>{{if eq . "all"}}macro{{else}}{{.}}{{end}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr><td class="label">{{.Run}}</td>{{range .Cells}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{if .Ref}} data-ref="paper"{{end}}>{{.Num}}{{else}}>–{{end}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}{{end}}

{{if .Heatmaps}}<h2 id="heatmaps">mAP per query language × candidate language</h2>
<p class="note">Rows: query language; columns: candidate language. Diagonal: mono; off-diagonal: cross.</p>
<div class="flex">{{range .Heatmaps}}<figure><figcaption><b>{{.Run}}</b> · {{.Dataset}}</figcaption>{{.SVG}}</figure>{{end}}</div>{{end}}

{{if .Bias}}<h2 id="bias">Language bias (multi setting)</h2>
{{if .RankMaps}}<p class="note">Rank of the best relevant candidate of each candidate language in the pooled ranking (mean over queries; darker = ranked higher).
A model without language bias has an even matrix; a biased one a dark diagonal.</p>
<div class="flex">{{range .RankMaps}}<figure><figcaption><b>{{.Run}}</b> · {{.Dataset}}</figcaption>{{.SVG}}</figure>{{end}}</div>{{end}}
{{range .Bias}}<h3>{{.Run}} · {{.Dataset}}</h3>
<div class="flex">{{.Chart}}
<table><thead><tr><th class="label">query language</th>{{range .Langs}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody><tr><td class="label">rank distance</td>{{range .RD}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{end}}>{{.Text}}</td>{{end}}</tr>
<tr><td class="label">first hit in query language</td>{{range .Same}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{if .HasTop10}}<tr><td class="label">top-10 share in query language</td>{{range .Top10Same}}<td{{if .Present}} data-run="{{.Run}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-qlang="{{.QLang}}" data-clang="{{.CLang}}" data-value="{{.Attr}}"{{end}}>{{.Text}}</td>{{end}}</tr>{{end}}</tbody></table>
</div>{{end}}{{end}}

<h2 id="significance">Comparison with the baseline <code>{{.Baseline}}</code></h2>
{{if .Sig}}<p class="note">Paired randomization test over queries (two-sided) and 95% bootstrap confidence interval of the mean difference (other − baseline);
per language, p-values are Holm-corrected across languages. ▲ significantly better, ▼ significantly worse (α = {{.Alpha}}; for the bias metrics rd, same_lang_first and top10_share (same-language share) lower is better), · not significant. W/T/L: queries where the run wins, ties, loses.</p>
<table id="sig-table"><thead><tr><th class="label">run</th><th class="label">dataset</th><th class="label">setting</th><th class="label">metric</th><th>baseline</th><th>run</th><th>Δ</th><th>95% CI</th><th>p</th><th>W/T/L</th><th class="label">per language</th></tr></thead>
<tbody>{{range .Sig}}<tr data-other="{{.Other}}" data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-p="{{.All.P}}" data-delta="{{.All.Delta}}">
<td class="label">{{.Other}}</td><td class="label">{{.Dataset}}</td><td class="label">{{.Setting}}</td><td class="label">{{.Metric}}</td>
<td>{{printf "%.3f" .All.MeanBase}}</td><td>{{printf "%.3f" .All.MeanOther}}</td><td>{{printf "%+.3f" .All.Delta}} <span class="{{if eq .Mark "▲"}}up{{else if eq .Mark "▼"}}down{{else}}same{{end}}">{{.Mark}}</span></td>
<td>[{{printf "%+.3f" .All.CILo}}, {{printf "%+.3f" .All.CIHi}}]</td><td>{{printf "%.4f" .All.P}}</td><td>{{.All.Wins}}/{{.All.Ties}}/{{.All.Losses}}</td>
<td class="label">{{range .Langs}}<span title="{{.Title}}" class="{{if eq .Mark "▲"}}up{{else if eq .Mark "▼"}}down{{else}}same{{end}}">{{.Lang}}{{.Mark}}</span> {{end}}</td></tr>
{{end}}</tbody></table>
{{else}}<p class="note">Only one run (or no per-query rows): nothing to compare.</p>{{end}}

<h2 id="training">Training</h2>
{{if .Charts}}<div class="flex">{{range .Charts}}{{.}}{{end}}</div>
{{else}}<p class="note">No training logs were given to this report (pass trained models to report/html to draw their loss curves).</p>{{end}}
</body>
</html>
`))
