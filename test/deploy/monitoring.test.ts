// docker/prometheus.yml, docker/alerts.yml and the Grafana provisioning: structure always,
// and promtool (Debian package prometheus) on the real files when it is installed.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { output, read, readYaml, run, tool, ROOT } from './tools.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = readYaml<{ groups: { name: string; rules: Rule[] }[] }>('docker/alerts.yml').groups.flatMap((g) => g.rules);
const rule = (name: string): Rule => {
  const r = rules.find((x) => x.alert === name);
  if (!r) throw new Error(`docker/alerts.yml has no alert ${name}`);
  return r;
};

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  datasource?: { uid: string };
}
const dashboard = JSON.parse(read('docker/grafana/dashboards/wa-sip-edge.json')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
};
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

describe('docker/prometheus.yml', () => {
  const prom = readYaml<{ rule_files: string[]; scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] }>('docker/prometheus.yml');

  it("scrapes the edge's /metrics on the compose service and loads alerts.yml", () => {
    const edge = prom.scrape_configs.find((s) => s.job_name === 'wa-edge');
    expect(edge?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(edge?.static_configs[0]?.targets).toEqual(['edge:8080']);
    expect(prom.rule_files).toEqual(['alerts.yml']);
  });
});

describe('docker/alerts.yml', () => {
  it('alerts on drachtio disconnected for 1m, Redis errors, daily_limit refusals, a restricted number and revocations', () => {
    expect(rule('WaEdgeDrachtioDisconnected')).toMatchObject({ expr: 'wa_edge_drachtio_connected == 0', for: '1m' });
    expect(rule('WaEdgeRedisErrors').expr).toMatch(/^increase\(wa_edge_redis_errors_total\[\w+\]\) > 0$/);
    // Meta's cap is per customer, so is the default: no alert on the per-number count (150 a day is fine).
    expect(rules.find((r) => r.alert === 'WaEdgeNumberNearDailyCap')).toBeUndefined();
    expect(rule('WaEdgeDailyCapReached').expr).toBe('sum(increase(wa_edge_rejections_total{direction="outbound",reason="daily_limit"}[15m])) > 0');
    expect(rule('WaEdgeAccountRestricted')).toMatchObject({ expr: 'max by (number) (wa_edge_account_restricted) == 1', labels: { severity: 'warning' } });
    expect(rule('WaEdgePermissionRevoked').expr).toContain('increase(wa_edge_permission_events_total{event="revoked"}');
    expect(rule('WaEdgeTelnyxUnregistered')).toMatchObject({ expr: 'wa_edge_telnyx_registered == 0', for: '2m', labels: { severity: 'critical' } });
    expect(rule('WaEdgeRtpengineDown')).toMatchObject({ expr: 'wa_edge_rtpengine_up == 0', for: '1m', labels: { severity: 'critical' } });
    for (const r of rules) {
      expect(r.labels?.severity, r.alert).toBeDefined();
      expect(r.annotations?.summary, r.alert).toBeDefined();
    }
  });

  it('says next to the daily-cap alert that Meta caps per customer and perNumber is off by default', () => {
    const text = read('docker/alerts.yml');
    const at = text.indexOf('- alert: WaEdgeDailyCapReached');
    const comment = text.slice(text.lastIndexOf('\n\n', at), at);
    expect(comment).toMatch(/connectedCallsPer24h\.perUser/);
    expect(comment).toMatch(/perNumber is null, off/);
  });
});

describe('Grafana', () => {
  it('the dashboard JSON parses and shows every metric the issue names', () => {
    expect(dashboard.uid).toBe('wa-sip-edge');
    const all = exprs.join('\n');
    for (const metric of [
      'wa_edge_calls_total',
      'wa_edge_rejections_total',
      'wa_edge_active_calls',
      'wa_edge_connected_calls_24h',
      'wa_edge_call_setup_seconds_bucket',
      'wa_edge_permission_events_total',
    ]) {
      expect(all, metric).toContain(metric);
    }
    expect(all).toMatch(/histogram_quantile\(0\.95, sum by \(le, direction\) \(rate\(wa_edge_call_setup_seconds_bucket/);
    expect(all).toContain('sum by (direction, outcome) (increase(wa_edge_calls_total');
    expect(all).toContain('sum by (direction, reason) (increase(wa_edge_rejections_total');
    expect(all).toContain('max by (number) (wa_edge_active_calls');
    expect(all).toContain('max by (number) (wa_edge_connected_calls_24h');
    expect(all).toContain('sum by (event) (increase(wa_edge_permission_events_total');
    expect(all).toContain('wa_edge_telnyx_registered{instance=~"$instance"}');
  });

  it('every metric the dashboard and the alerts use is one src/metrics.ts or src/tenantMetrics.ts registers (or a histogram series of one)', () => {
    const registered = new Set([...(read('src/metrics.ts') + read('src/tenantMetrics.ts')).matchAll(/name: `\$\{p\}(\w+)`/g)].map((m) => `wa_edge_${m[1]}`));
    expect(registered.size).toBeGreaterThan(5);
    const used = new Set([...[...exprs, ...rules.map((r) => r.expr)].join('\n').matchAll(/\bwa_edge_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
    for (const m of used) expect(registered, m).toContain(m);
  });

  it('panels use the provisioned datasource, whose uid the dashboard variable finds', () => {
    const ds = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>('docker/grafana/provisioning/datasources/prometheus.yaml').datasources;
    expect(ds).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) expect(p.datasource?.uid, p.title).toBe('${datasource}');
  });

  it('the dashboard provider reads the directory docker-compose.yml mounts the JSON into', () => {
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>('docker/grafana/provisioning/dashboards/wa-sip-edge.yaml').providers;
    expect(providers[0]?.type).toBe('file');
    expect(read('docker-compose.yml')).toContain(`./docker/grafana/dashboards:${providers[0]?.options.path}:ro`);
  });
});

describe('promtool (Debian package prometheus)', () => {
  const promtool = tool('promtool', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-prom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(promtool.skip)('promtool check config docker/prometheus.yml', () => {
    const r = run(promtool, ['check', 'config', 'docker/prometheus.yml']);
    expect(r.status, output(r)).toBe(0);
  });

  it.skipIf(promtool.skip)('promtool check rules docker/alerts.yml', () => {
    const r = run(promtool, ['check', 'rules', 'docker/alerts.yml']);
    expect(r.status, output(r)).toBe(0);
    expect(output(r)).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it.skipIf(promtool.skip)('promtool test rules docker/alerts.test.yml (each alert fires when it should, and only then)', () => {
    const r = run(promtool, ['test', 'rules', 'docker/alerts.test.yml']);
    expect(r.status, output(r)).toBe(0);
    const tested = new Set([...read('docker/alerts.test.yml').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    for (const a of rules) expect(tested, a.alert).toContain(a.alert);
  });

  it.skipIf(promtool.skip)('the two-edge example config is valid next to alerts.yml', () => {
    copyFileSync(join(ROOT, 'docker/examples/prometheus.scale.yml'), join(dir, 'prometheus.yml'));
    copyFileSync(join(ROOT, 'docker/alerts.yml'), join(dir, 'alerts.yml'));
    const r = run(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.status, output(r)).toBe(0);
  });

  it.skipIf(promtool.skip)('every dashboard query is valid PromQL', () => {
    // Grafana's variables replaced by what they stand for, each query checked as a recording rule.
    const rulesFile = join(dir, 'dashboard-queries.yml');
    const recorded = exprs.map((e, i) => ({
      record: `dashboard:query_${i}`,
      expr: e.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
    }));
    writeFileSync(rulesFile, stringify({ groups: [{ name: 'dashboard', rules: recorded }] }));
    const r = run(promtool, ['check', 'rules', rulesFile]);
    expect(r.status, output(r)).toBe(0);
    expect(output(r)).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
