/** Alerts as an operator handles them: what is firing or pending now (acknowledge, silence),
 * the history of every alert's life (pending, firing, resolved; who acknowledged when), the
 * silences, and the rules the server evaluates (edited by operators and admins). */
import { useState, type FormEvent } from "react";
import { api, qs } from "../api";
import { Empty, LoadError, TimeRange } from "../components/Bits";
import { place } from "../format";
import { useLoad } from "../hooks";
import { canEdit, useAuth } from "../stores/auth";
import { useLive } from "../stores/live";
import { resolve, useRange } from "../stores/range";
import type { Alert, Rule, Silence } from "../types";

type Draft = Omit<Rule, "id" | "created_ms" | "threshold"> & { threshold: number | null };

export const EMPTY_RULE: Draft = {
  name: "",
  metric: "queue.vehicles",
  op: ">",
  threshold: 10,
  node_id: null,
  severity: "warning",
  action: "notify",
  webhook_url: null,
  cooldown_s: 300,
  for_s: 0,
  enabled: true,
};

/** What the server would reject, checked before sending (the server checks again). */
export function validateRule(d: Draft): string | null {
  if (!d.name.trim()) return "name is required";
  if (d.threshold === null) return "threshold is required";
  if (!Number.isFinite(d.threshold)) return "threshold must be a number";
  if (d.cooldown_s < 0) return "cooldown cannot be negative";
  if (!(d.for_s >= 0)) return "'for' cannot be negative";
  if (d.action === "webhook" && !d.webhook_url) return "a webhook action needs a URL";
  return null;
}

/** A number input's value as the form holds it: an empty field is no number, not 0. */
export function parseNumber(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

const clock = (ms: number | null) => (ms === null ? "" : new Date(ms).toLocaleString());

function RuleForm({ initial, metrics, ops, onSaved, disabled }: { initial: Draft & { id?: number }; metrics: string[]; ops: string[]; onSaved: () => void; disabled: boolean }) {
  const [d, setD] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD({ ...d, [k]: v });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = validateRule(d);
    if (problem) return setError(problem);
    const { id, ...body } = d;
    try {
      await api(id ? `/api/alerts/rules/${id}` : "/api/alerts/rules", { method: id ? "PUT" : "POST", body: JSON.stringify(body) });
      setError(null);
      onSaved();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <form className="rule-form" onSubmit={submit}>
      <fieldset disabled={disabled}>
        <label>name <input aria-label="rule name" value={d.name} onChange={(e) => set("name", e.target.value)} /></label>
        <label>
          condition{" "}
          <select aria-label="metric" value={d.metric} onChange={(e) => set("metric", e.target.value)}>
            {metrics.map((m) => <option key={m}>{m}</option>)}
          </select>
          <select aria-label="operator" value={d.op} onChange={(e) => set("op", e.target.value)}>
            {ops.map((o) => <option key={o}>{o}</option>)}
          </select>
          <input aria-label="threshold" type="number" step="any" value={d.threshold ?? ""} onChange={(e) => set("threshold", parseNumber(e.target.value))} />
        </label>
        <label>for s <input aria-label="for seconds" type="number" min={0} value={d.for_s} onChange={(e) => set("for_s", parseNumber(e.target.value) ?? 0)} /></label>
        <label>node (blank: all) <input aria-label="rule node" value={d.node_id ?? ""} onChange={(e) => set("node_id", e.target.value || null)} /></label>
        <label>
          severity{" "}
          <select aria-label="severity" value={d.severity} onChange={(e) => set("severity", e.target.value as Draft["severity"])}>
            <option>info</option><option>warning</option><option>critical</option>
          </select>
        </label>
        <label>
          action{" "}
          <select aria-label="action" value={d.action} onChange={(e) => set("action", e.target.value as Draft["action"])}>
            <option>notify</option><option>webhook</option>
          </select>
        </label>
        {d.action === "webhook" ? (
          <label>webhook URL <input aria-label="webhook url" value={d.webhook_url ?? ""} onChange={(e) => set("webhook_url", e.target.value || null)} /></label>
        ) : null}
        <label>cooldown s <input aria-label="cooldown" type="number" min={0} value={d.cooldown_s} onChange={(e) => set("cooldown_s", parseNumber(e.target.value) ?? 0)} /></label>
        <label className="check"><input type="checkbox" checked={d.enabled} onChange={(e) => set("enabled", e.target.checked)} /> enabled</label>
        <button type="submit">{d.id ? "Save rule" : "Create rule"}</button>
      </fieldset>
      {error ? <div className="error-box" role="alert">{error}</div> : null}
    </form>
  );
}

export interface SilenceDraft {
  rule_id: number | null;
  node_id: string | null;
  intersection: string | null;
  minutes: number;
  comment: string;
}

function SilenceForm({ initial, rules, onSaved }: { initial: SilenceDraft; rules: Rule[]; onSaved: () => void }) {
  const [d, setD] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const { minutes, ...matchers } = d;
    try {
      await api("/api/alerts/silences", { method: "POST", body: JSON.stringify({ ...matchers, duration_s: minutes * 60 }) });
      setError(null);
      onSaved();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }
  return (
    <form className="rule-form" onSubmit={submit} data-testid="silence-form">
      <fieldset>
        <legend>New silence: mutes matching alerts' notifications (they are still recorded)</legend>
        <label>
          rule{" "}
          <select aria-label="silence rule" value={d.rule_id ?? ""} onChange={(e) => setD({ ...d, rule_id: e.target.value ? Number(e.target.value) : null })}>
            <option value="">any</option>
            {rules.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select>
        </label>
        <label>node <input aria-label="silence node" value={d.node_id ?? ""} onChange={(e) => setD({ ...d, node_id: e.target.value || null })} /></label>
        <label>intersection <input aria-label="silence intersection" value={d.intersection ?? ""} onChange={(e) => setD({ ...d, intersection: e.target.value || null })} /></label>
        <label>minutes <input aria-label="silence minutes" type="number" min={1} value={d.minutes} onChange={(e) => setD({ ...d, minutes: Number(e.target.value) })} /></label>
        <label>comment <input aria-label="silence comment" value={d.comment} onChange={(e) => setD({ ...d, comment: e.target.value })} /></label>
        <button type="submit">Silence</button>
      </fieldset>
      {error ? <div className="error-box" role="alert">{error}</div> : null}
    </form>
  );
}

/** A silence prefilled from an alert: its rule and its series (a cluster's series, such as
 * a view change, is the intersection's, whichever camera reported it). */
export function silenceFor(a: Alert, metric: string | undefined): SilenceDraft {
  const clusterWide = metric === "consensus.view_change";
  return { rule_id: a.rule_id, node_id: clusterWide ? null : a.node_id, intersection: a.intersection, minutes: 60, comment: "" };
}

function StateBadge({ a }: { a: Alert }) {
  const muted = a.silence_id !== null ? " (silenced)" : "";
  return <span className={`badge state-${a.state}`}>{a.state}{muted}</span>;
}

function AckCell({ a, editable, onAck }: { a: Alert; editable: boolean; onAck: (id: number) => void }) {
  if (a.acknowledged) return <>{a.acknowledged_by ?? "?"}, {clock(a.acknowledged_ms)}</>;
  return editable ? <button onClick={() => onAck(a.id)}>Acknowledge</button> : <>not acknowledged</>;
}

export default function Alerts() {
  const role = useAuth((s) => s.role);
  const editable = canEdit(role);
  const liveCount = useLive((s) => s.alerts.length);
  const meta = useLoad(() => api<{ metrics: string[]; ops: string[] }>("/api/alert-metrics"), []);
  const rules = useLoad(() => api<Rule[]>("/api/alerts/rules"), []);
  const silences = useLoad(() => api<Silence[]>("/api/alerts/silences"), []);
  const open = useLoad(async () => {
    const [firing, pending] = await Promise.all([
      api<{ items: Alert[] }>(`/api/alerts${qs({ state: "firing", limit: 500 })}`),
      api<{ items: Alert[] }>(`/api/alerts${qs({ state: "pending", limit: 500 })}`),
    ]);
    return [...firing.items, ...pending.items];
  }, [liveCount]);
  const sel = useRange((st) => st.sel);
  const history = useLoad(async () => {
    const { since, until } = resolve(sel);
    const r = await api<{ items: Alert[] }>(`/api/alerts${qs({ limit: 500, since })}`);
    return until === null ? r : { items: r.items.filter((a) => a.created_ms <= until * 1000) };
  }, [liveCount, sel]);
  const [editing, setEditing] = useState<(Draft & { id?: number }) | null>(null);
  const [silencing, setSilencing] = useState<SilenceDraft | null>(null);
  const ruleName = new Map((rules.data ?? []).map((r) => [r.id, r.name]));
  const metricOf = new Map((rules.data ?? []).map((r) => [r.id, r.metric]));

  async function remove(id: number) {
    await api(`/api/alerts/rules/${id}`, { method: "DELETE" });
    rules.reload();
  }
  async function ack(id: number) {
    await api(`/api/alerts/${id}/ack`, { method: "POST" });
    open.reload();
    history.reload();
  }
  async function expire(id: number) {
    await api(`/api/alerts/silences/${id}`, { method: "DELETE" });
    silences.reload();
  }

  return (
    <div>
      <div className="toolbar">
        <h2>Alerts</h2>
        {editable ? <button onClick={() => setEditing({ ...EMPTY_RULE })}>New rule</button> : <span className="note">Viewers can read rules but not change them.</span>}
        {editable ? <button onClick={() => setSilencing({ rule_id: null, node_id: null, intersection: null, minutes: 60, comment: "" })}>New silence</button> : null}
      </div>
      <LoadError error={meta.error ?? rules.error ?? history.error ?? open.error ?? silences.error} />
      {editing && meta.data ? (
        <RuleForm
          key={editing.id ?? "new"}
          initial={editing}
          metrics={meta.data.metrics}
          ops={meta.data.ops}
          disabled={!editable}
          onSaved={() => {
            setEditing(null);
            rules.reload();
          }}
        />
      ) : null}
      {silencing ? (
        <SilenceForm
          key={`${silencing.rule_id}-${silencing.node_id}-${silencing.intersection}`}
          initial={silencing}
          rules={rules.data ?? []}
          onSaved={() => {
            setSilencing(null);
            silences.reload();
          }}
        />
      ) : null}
      <h3>Open now</h3>
      {open.data?.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="alerts-open">
            <thead><tr><th>state</th><th>severity</th><th>where</th><th>message</th><th>since</th><th>acknowledged</th><th /></tr></thead>
            <tbody>
              {open.data.map((a) => (
                <tr key={a.id} className={`sev-${a.severity}`}>
                  <td><StateBadge a={a} /></td>
                  <td>{a.severity}</td>
                  <td>{place(a)}</td>
                  <td>{a.message}</td>
                  <td>{clock(a.fired_ms ?? a.created_ms)}</td>
                  <td><AckCell a={a} editable={editable} onAck={(id) => void ack(id)} /></td>
                  <td>
                    {editable ? (
                      <button onClick={() => setSilencing(silenceFor(a, metricOf.get(a.rule_id ?? -1)))}>Silence…</button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{open.data ? "Nothing is firing or pending." : "Loading…"}</Empty>
      )}
      <div className="toolbar">
        <h3>History</h3>
        <TimeRange />
      </div>
      {history.data?.items.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="alert-history">
            <thead><tr><th>state</th><th>severity</th><th>where</th><th>message</th><th>pending from</th><th>fired</th><th>resolved</th><th>acknowledged</th></tr></thead>
            <tbody>
              {history.data.items.map((a) => (
                <tr key={a.id} className={`sev-${a.severity}`}>
                  <td><StateBadge a={a} /></td>
                  <td>{a.severity}</td>
                  <td>{place(a)}</td>
                  <td>{a.message}</td>
                  <td>{clock(a.created_ms)}</td>
                  <td>{a.fired_ms === null ? (a.state === "resolved" ? "never" : "not yet") : clock(a.fired_ms)}</td>
                  <td>{a.resolved_ms === null ? "open" : clock(a.resolved_ms)}</td>
                  <td><AckCell a={a} editable={editable} onAck={(id) => void ack(id)} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{history.data ? "No alert in this range." : "Loading…"}</Empty>
      )}
      <h3>Silences</h3>
      {silences.data?.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="silences">
            <thead><tr><th>matches</th><th>from</th><th>until</th><th>by</th><th>comment</th><th /></tr></thead>
            <tbody>
              {silences.data.map((s) => (
                <tr key={s.id}>
                  <td>{[s.rule_id !== null ? `rule ${ruleName.get(s.rule_id) ?? s.rule_id}` : null, s.node_id ? `node ${s.node_id}` : null, s.intersection ? `intersection ${s.intersection}` : null].filter(Boolean).join(", ")}</td>
                  <td>{clock(s.starts_ms)}</td>
                  <td>{clock(s.ends_ms)}</td>
                  <td>{s.created_by}</td>
                  <td>{s.comment}</td>
                  <td>{s.active ? (editable ? <button onClick={() => void expire(s.id)}>Expire</button> : "active") : "expired"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{silences.data ? "No silences." : "Loading…"}</Empty>
      )}
      <h3>Rules</h3>
      {rules.data?.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="rules-table">
            <thead><tr><th>name</th><th>condition</th><th>for</th><th>node</th><th>severity</th><th>action</th><th>cooldown</th><th>enabled</th><th /></tr></thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td><code>{r.metric} {r.op} {r.threshold}</code></td>
                  <td>{r.for_s}s</td>
                  <td>{r.node_id ?? "all"}</td>
                  <td>{r.severity}</td>
                  <td>{r.action}</td>
                  <td>{r.cooldown_s}s</td>
                  <td>{r.enabled ? "yes" : "no"}</td>
                  <td>
                    {editable ? (
                      <>
                        <button onClick={() => setEditing({ ...r })}>Edit</button>
                        <button onClick={() => void remove(r.id)}>Delete</button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{rules.data ? "No rules yet." : "Loading…"}</Empty>
      )}
    </div>
  );
}
