/** Alert rules (edited by operators and admins, evaluated by the server) and alert history. */
import { useState, type FormEvent } from "react";
import { api, qs } from "../api";
import { Empty, LoadError, TimeRange } from "../components/Bits";
import { useLoad } from "../hooks";
import { canEdit, useAuth } from "../stores/auth";
import { useLive } from "../stores/live";
import { resolve, useRange } from "../stores/range";
import type { Alert, Rule } from "../types";

type Draft = Omit<Rule, "id" | "created_ms">;

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
  enabled: true,
};

/** What the server would reject, checked before sending (the server checks again). */
export function validateRule(d: Draft): string | null {
  if (!d.name.trim()) return "name is required";
  if (!Number.isFinite(d.threshold)) return "threshold must be a number";
  if (d.cooldown_s < 0) return "cooldown cannot be negative";
  if (d.action === "webhook" && !d.webhook_url) return "a webhook action needs a URL";
  return null;
}

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
          <input aria-label="threshold" type="number" step="any" value={d.threshold} onChange={(e) => set("threshold", Number(e.target.value))} />
        </label>
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
        <label>cooldown s <input aria-label="cooldown" type="number" min={0} value={d.cooldown_s} onChange={(e) => set("cooldown_s", Number(e.target.value))} /></label>
        <label className="check"><input type="checkbox" checked={d.enabled} onChange={(e) => set("enabled", e.target.checked)} /> enabled</label>
        <button type="submit">{d.id ? "Save rule" : "Create rule"}</button>
      </fieldset>
      {error ? <div className="error-box" role="alert">{error}</div> : null}
    </form>
  );
}

export default function Alerts() {
  const role = useAuth((s) => s.role);
  const editable = canEdit(role);
  const liveCount = useLive((s) => s.alerts.length);
  const meta = useLoad(() => api<{ metrics: string[]; ops: string[] }>("/api/alert-metrics"), []);
  const rules = useLoad(() => api<Rule[]>("/api/alerts/rules"), []);
  const sel = useRange((st) => st.sel);
  const history = useLoad(async () => {
    const { since, until } = resolve(sel);
    const r = await api<{ items: Alert[] }>(`/api/alerts${qs({ limit: 500, since })}`);
    return until === null ? r : { items: r.items.filter((a) => a.created_ms <= until * 1000) };
  }, [liveCount, sel]);
  const [editing, setEditing] = useState<(Draft & { id?: number }) | null>(null);

  async function remove(id: number) {
    await api(`/api/alerts/rules/${id}`, { method: "DELETE" });
    rules.reload();
  }
  async function ack(id: number) {
    await api(`/api/alerts/${id}/ack`, { method: "POST" });
    history.reload();
  }

  return (
    <div>
      <div className="toolbar">
        <h2>Alerts</h2>
        {editable ? <button onClick={() => setEditing({ ...EMPTY_RULE })}>New rule</button> : <span className="note">Viewers can read rules but not change them.</span>}
      </div>
      <LoadError error={meta.error ?? rules.error ?? history.error} />
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
      <h3>Rules</h3>
      {rules.data?.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="rules-table">
            <thead><tr><th>name</th><th>condition</th><th>node</th><th>severity</th><th>action</th><th>cooldown</th><th>enabled</th><th /></tr></thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td><code>{r.metric} {r.op} {r.threshold}</code></td>
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
        <Empty>No rules yet.</Empty>
      )}
      <div className="toolbar">
        <h3>History</h3>
        <TimeRange />
      </div>
      {history.data?.items.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="alert-history">
            <thead><tr><th>time</th><th>severity</th><th>node</th><th>message</th><th>value</th><th /></tr></thead>
            <tbody>
              {history.data.items.map((a) => (
                <tr key={a.id} className={`sev-${a.severity}`}>
                  <td>{new Date(a.created_ms).toLocaleString()}</td>
                  <td>{a.severity}</td>
                  <td>{a.node_id}</td>
                  <td>{a.message}</td>
                  <td>{a.value.toFixed(2)}</td>
                  <td>{a.acknowledged ? "acknowledged" : editable ? <button onClick={() => void ack(a.id)}>Acknowledge</button> : "open"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>No alert has fired.</Empty>
      )}
    </div>
  );
}
