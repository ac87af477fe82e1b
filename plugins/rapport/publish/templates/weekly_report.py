"""The weekly relationship report: one self-contained HTML page (inline CSS, inline SVG, no script).

Rendered by ``rapport.publish.report`` with autoescape on: every value from the
warehouse is escaped; the view model carries chart geometry as plain numbers.
"""

# HTML and CSS lines are not Python lines.
# ruff: noqa: E501

from typing import Final

WEEKLY_REPORT: Final = """\
{%- macro score_text(value) -%}
{%- if value is none %}<span class="na">n/a</span>{% else %}{{ "%.1f" | format(value) }}{% endif -%}
{%- endmacro -%}

{%- macro score_bar(value) -%}
<span class="cell-score">
  <span class="bar" aria-hidden="true"><span style="width: {{ "%.1f" | format(value or 0) }}%"></span></span>
  {{ score_text(value) }}
</span>
{%- endmacro -%}

{%- macro alert_item(alert, with_organization) -%}
<li class="alert-item">
  <span class="tag tag-{{ alert.kind_class }}">{{ alert.kind_label }}</span>
  {% if with_organization -%}
    {% if alert.anchor %}<a href="#{{ alert.anchor }}">{{ alert.organization_name }}</a>
    {%- else %}{{ alert.organization_name }}{% endif %},
  {% endif -%}
  <span class="account">{{ alert.account_label }}</span>: {{ alert.message }}
</li>
{%- endmacro -%}

{%- macro radar(chart) -%}
<svg class="radar" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img"
     aria-labelledby="{{ chart.chart_id }}-title {{ chart.chart_id }}-desc">
  <title id="{{ chart.chart_id }}-title">{{ chart.title }}</title>
  <desc id="{{ chart.chart_id }}-desc">{{ chart.description }}</desc>
  <g class="grid">
    {% for ring in chart.rings %}<polygon points="{{ ring }}"/>{% endfor %}
    {% for axis in chart.axes %}<line x1="{{ chart.center_x }}" y1="{{ chart.center_y }}" x2="{{ axis.x }}" y2="{{ axis.y }}"/>{% endfor %}
  </g>
  {% for tick in chart.ticks %}<text class="tick" x="{{ tick.x }}" y="{{ tick.y }}">{{ tick.label }}</text>{% endfor %}
  {% if chart.average_points %}<polygon class="average" points="{{ chart.average_points }}"/>{% endif %}
  {% if chart.latest_points %}<polygon class="latest" points="{{ chart.latest_points }}"/>{% endif %}
  {% for dot in chart.average_dots %}<circle class="average-dot" cx="{{ dot.x }}" cy="{{ dot.y }}" r="2.5"/>{% endfor %}
  {% for dot in chart.latest_dots %}<circle class="latest-dot" cx="{{ dot.x }}" cy="{{ dot.y }}" r="3.5"/>{% endfor %}
  {% for axis in chart.axes %}
  <text class="axis-name" x="{{ axis.label_x }}" y="{{ axis.name_y }}" text-anchor="{{ axis.anchor }}">{{ axis.name }}</text>
  <text class="axis-value" x="{{ axis.label_x }}" y="{{ axis.value_y }}" text-anchor="{{ axis.anchor }}">{{ axis.value_text }}</text>
  {% endfor %}
  <g class="legend" transform="translate({{ chart.width // 2 - 170 }} {{ chart.height - 14 }})">
    <rect class="latest" x="40" y="-9" width="18" height="10"/>
    <text x="64" y="0">{{ chart.latest_label }}</text>
    <line class="average" x1="190" y1="-4" x2="208" y2="-4"/>
    <text x="214" y="0">{{ chart.average_label }}</text>
  </g>
</svg>
{%- endmacro -%}

{%- macro trend(chart) -%}
<figure class="trend">
  <figcaption><span class="trend-name">{{ chart.name }}</span> <span class="trend-latest">{{ chart.latest_text }}</span></figcaption>
  <svg viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img"
       aria-labelledby="{{ chart.chart_id }}-title {{ chart.chart_id }}-desc">
    <title id="{{ chart.chart_id }}-title">{{ chart.title }}</title>
    <desc id="{{ chart.chart_id }}-desc">{{ chart.description }}</desc>
    <g class="grid">
      {% for line in chart.gridlines %}
      <line x1="{{ chart.left }}" y1="{{ line.y }}" x2="{{ chart.right }}" y2="{{ line.y }}"/>
      <text class="tick" x="{{ chart.left - 4 }}" y="{{ line.y + 3 }}" text-anchor="end">{{ line.label }}</text>
      {% endfor %}
    </g>
    {% for label in chart.week_labels %}
    <text class="tick" x="{{ label.x }}" y="{{ chart.height - 3 }}" text-anchor="{{ label.anchor }}">{{ label.text }}</text>
    {% endfor %}
    {% if chart.path %}<path class="series" d="{{ chart.path }}"/>{% endif %}
    {% for dot in chart.dots %}<circle class="series-dot" cx="{{ dot.x }}" cy="{{ dot.y }}" r="1.8"/>{% endfor %}
    {% for gap in chart.gaps %}<rect class="gap" x="{{ gap.x }}" y="{{ chart.top }}" width="{{ gap.width }}" height="{{ chart.bottom - chart.top }}"/>{% endfor %}
    {% if chart.last_dot %}<circle class="last-dot" cx="{{ chart.last_dot.x }}" cy="{{ chart.last_dot.y }}" r="3"/>{% endif %}
  </svg>
</figure>
{%- endmacro -%}

<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Rapport">
<title>Rapport relationship report, ISO week {{ report.week_label }}</title>
<style>
:root {
  --ink: #1d2433; --muted: #5b6478; --line: #d9dde6; --paper: #ffffff; --wash: #f5f7fa;
  --latest: #1f5fa8; --average: #c8641b; --good: #1b7a4b; --bad: #b42318;
  --alert-bg: #fdf1f0; --alert-line: #e3a19b; --warn-bg: #fff8e6; --warn-line: #e8c77a;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body {
  margin: 0; color: var(--ink); background: var(--wash); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--latest); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: .4rem .8rem; }
.page-header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 1.5rem; }
.page-header { padding-top: 2rem; padding-bottom: .5rem; }
.eyebrow { margin: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .08em; font-size: .8rem; }
h1 { margin: .2rem 0 .3rem; font-size: 1.9rem; line-height: 1.2; }
h2 { font-size: 1.35rem; margin: 0 0 .6rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; color: var(--ink); text-transform: uppercase; letter-spacing: .04em; }
.meta, .lede { color: var(--muted); margin: .2rem 0; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 1.2rem 1.4rem; margin: 1.2rem 0; }
.alerts { background: var(--alert-bg); border-color: var(--alert-line); }
.alerts.none { background: var(--paper); border-color: var(--line); }
ul.plain { margin: 0; padding-left: 1.2rem; }
ul.plain li { margin: .25rem 0; }
.alert-list { list-style: none; margin: 0; padding: 0; }
.alert-item { margin: .35rem 0; }
.tag { display: inline-block; font-size: .75rem; font-weight: 600; border-radius: 4px; padding: .05rem .45rem; margin-right: .35rem;
  border: 1px solid currentColor; white-space: nowrap; }
.tag-score_drop, .tag-low_response_rate, .tag-silent_account, .tag-other { color: var(--bad); background: var(--paper); }
.account { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
tbody th { font-weight: 600; }
table.scores tbody th { text-transform: capitalize; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
.cell-score { display: inline-flex; align-items: center; gap: .4rem; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; width: 46px; height: 7px; background: #e8ebf1; border-radius: 4px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--latest); }
.na { color: var(--muted); font-style: italic; }
.up { color: var(--good); }
.down { color: var(--bad); }
.flat { color: var(--muted); }
.organization h2 { display: flex; align-items: baseline; gap: .6rem; flex-wrap: wrap; }
.position { color: var(--muted); font-weight: 500; }
.overall-badge { margin-left: auto; font-size: 1rem; font-weight: 600; color: var(--latest); }
.overview { display: grid; grid-template-columns: minmax(300px, 420px) 1fr; gap: 1.5rem; align-items: start; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
svg { display: block; width: 100%; height: auto; font-family: inherit; }
svg .grid polygon, svg .grid line { fill: none; stroke: var(--line); stroke-width: 1; }
svg .tick { fill: var(--muted); font-size: 9px; }
svg .axis-name { fill: var(--ink); font-size: 12px; font-weight: 600; }
svg .axis-value { fill: var(--muted); font-size: 10.5px; }
svg polygon.latest, svg rect.latest { fill: rgba(31, 95, 168, .18); stroke: var(--latest); stroke-width: 2; }
svg polygon.average { fill: none; stroke: var(--average); stroke-width: 2; stroke-dasharray: 5 3; }
svg line.average { stroke: var(--average); stroke-width: 2; stroke-dasharray: 5 3; }
svg .latest-dot { fill: var(--latest); }
svg .average-dot { fill: var(--average); }
svg .legend text { fill: var(--ink); font-size: 11px; }
.trends { display: grid; grid-template-columns: repeat(3, 1fr); gap: .6rem 1.2rem; }
figure.trend { margin: 0; }
figure.trend figcaption { font-size: .85rem; display: flex; justify-content: space-between; }
.trend-name { font-weight: 600; text-transform: capitalize; }
.trend-latest { color: var(--muted); font-variant-numeric: tabular-nums; }
svg .series { fill: none; stroke: var(--latest); stroke-width: 1.8; stroke-linejoin: round; }
svg .series-dot { fill: var(--latest); }
svg .last-dot { fill: var(--paper); stroke: var(--latest); stroke-width: 2; }
svg .gap { fill: #eef0f4; }
.coverage { background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 8px; padding: .6rem 1rem; }
.coverage.none { background: var(--wash); border-color: var(--line); }
.section-alerts { background: var(--alert-bg); border: 1px solid var(--alert-line); border-radius: 8px; padding: .6rem 1rem; margin-top: .8rem; }
.section-alerts h3 { margin-top: 0; color: var(--bad); }
.muted { color: var(--muted); }
footer { padding-bottom: 2.5rem; color: var(--muted); font-size: .9rem; }
footer ul { padding-left: 1.2rem; }
@media (max-width: 800px) {
  .overview, .columns { grid-template-columns: 1fr; }
  .trends { grid-template-columns: repeat(2, 1fr); }
}
@media print {
  html { font-size: 11pt; }
  body { background: #fff; }
  .card { border: none; border-top: 1px solid #999; border-radius: 0; padding: .6rem 0; margin: 0; }
  .organization { break-before: page; }
  figure, .overview, table, .coverage, .section-alerts { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .skip { display: none; }
}
</style>
</head>
<body>
<a class="skip" href="#contents">Skip to the contents</a>
<header class="page-header">
  <p class="eyebrow">Rapport · weekly relationship report</p>
  <h1>Relationship report, ISO week {{ report.week_label }}</h1>
  <p class="meta">Week of {{ report.week_range }} · {{ report.sections | length }} organizations ·
    generated <time datetime="{{ report.generated_at_iso }}">{{ report.generated_at }}</time></p>
  <p class="lede">Each indicator is scored 0–100 from what the organization does on social media;
    <span class="na">n/a</span> means it could not be measured this week (the reason is under
    <em>data coverage</em>). An organization's score is the mean of its accounts' scores.</p>
</header>
<main>
{% if report.alerts is not none %}
<section class="card alerts{% if not report.alerts %} none{% endif %}" aria-labelledby="alerts-heading">
  <h2 id="alerts-heading">Relationship-health alerts ({{ report.alerts | length }})</h2>
  {% if report.alerts %}
  <ul class="alert-list">
    {% for alert in report.alerts %}{{ alert_item(alert, true) }}{% endfor %}
  </ul>
  {% else %}
  <p>No relationship-health alert this week.</p>
  {% endif %}
</section>
{% endif %}

<nav class="card" id="contents" aria-labelledby="contents-heading">
  <h2 id="contents-heading">Contents: organizations by overall score</h2>
  <table class="summary">
    <thead><tr>
      <th scope="col" class="number">#</th><th scope="col">Organization</th><th scope="col">Peer group</th>
      {% for name in report.score_names %}<th scope="col">{{ name }}</th>{% endfor %}
      <th scope="col" class="number">Alerts</th>
    </tr></thead>
    <tbody>
    {% for row in report.sections %}
      <tr>
        <td class="number">{{ row.position }}</td>
        <th scope="row"><a href="#{{ row.anchor }}">{{ row.name }}</a></th>
        <td>{{ row.peer_group_text }}</td>
        {% for score in row.scores %}<td>{{ score_bar(score.value) }}</td>{% endfor %}
        <td class="number">{{ row.alerts | length if row.alerts else "–" }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
</nav>

{% for section in report.sections %}
<section class="card organization" id="{{ section.anchor }}" aria-labelledby="{{ section.anchor }}-heading">
  <h2 id="{{ section.anchor }}-heading"><span class="position">{{ section.position }}.</span> {{ section.name }}
    <span class="overall-badge">overall {{ score_text(section.scores[-1].value) }}</span></h2>
  <p class="meta">Peer group {{ section.peer_group_text }} · size {{ section.size_band or "unknown" }} ·
    language {{ section.language_code or "unknown" }} · {{ section.accounts | length }} account{{ "s" if section.accounts | length != 1 }}</p>

  {% if section.alerts %}
  <div class="section-alerts" role="note" aria-label="Alerts for {{ section.name }}">
    <h3>Alerts</h3>
    <ul class="alert-list">{% for alert in section.alerts %}{{ alert_item(alert, false) }}{% endfor %}</ul>
  </div>
  {% endif %}

  <div class="overview">
    {{ radar(section.radar) }}
    <div>
      <h3>Scores and peer rank</h3>
      <table class="scores">
        <thead><tr>
          <th scope="col">Indicator</th><th scope="col">Week {{ report.week_label }}</th>
          <th scope="col" class="number">12-week avg</th><th scope="col" class="number">vs last week</th>
          <th scope="col">Peer rank</th>
        </tr></thead>
        <tbody>
        {% for score in section.scores %}
          <tr>
            <th scope="row">{{ score.name }}</th>
            <td>{{ score_bar(score.value) }}</td>
            <td class="number">{{ score_text(score.average) }}</td>
            <td class="number {{ score.delta_class }}">{{ score.delta_text }}</td>
            <td>{{ score.rank_text }}</td>
          </tr>
        {% endfor %}
        </tbody>
      </table>
    </div>
  </div>

  <div class="columns">
    <div>
      <h3>What moved since last week</h3>
      <ul class="plain moves">{% for move in section.moves %}<li>{{ move }}</li>{% endfor %}</ul>
    </div>
    <div>
      <h3>Data coverage</h3>
      {% if section.coverage %}
      <div class="coverage" role="note" aria-label="Data coverage warnings for {{ section.name }}">
        <ul class="plain">{% for warning in section.coverage %}<li><strong>Warning:</strong> {{ warning }}</li>{% endfor %}</ul>
      </div>
      {% else %}
      <p class="coverage none">Every indicator was measured from enough data this week.</p>
      {% endif %}
    </div>
  </div>

  <h3>Trends, {{ report.history_text }}</h3>
  <div class="trends">{% for chart in section.trends %}{{ trend(chart) }}{% endfor %}</div>

  <h3>Accounts</h3>
  <table class="accounts">
    <thead><tr>
      <th scope="col">Account</th><th scope="col">Platform</th><th scope="col" class="number">Weeks of history</th>
      <th scope="col">Overall, week {{ report.week_label }}</th>
    </tr></thead>
    <tbody>
    {% for account in section.accounts %}
      <tr>
        <th scope="row"><span class="account">{{ account.handle }}</span>{% if account.display_name %} <span class="muted">{{ account.display_name }}</span>{% endif %}</th>
        <td>{{ account.platform }}</td>
        <td class="number">{{ account.weeks_text }}</td>
        <td>{% if account.state_text %}<span class="account-state">{{ account.state_text }}</span>{% else %}{{ score_bar(account.overall) }}{% endif %}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
</section>
{% endfor %}
</main>
<footer>
  {% if report.links %}
  <h2>More</h2>
  <ul class="links">{% for link in report.links %}<li><a href="{{ link.href }}">{{ link.name }}</a></li>{% endfor %}</ul>
  {% endif %}
  <p>Generated by Rapport from <code>marts.fct_relationship_scores</code> on {{ report.generated_at }}.
    The formulas and what a missing score means are in the methodology (docs/methodology.md).</p>
</footer>
</body>
</html>
"""
